"""power: curtailments applied to a site's budget (the live engine keeps its work within what is left)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "curtailments",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("depth", sa.Numeric(7, 6, asdecimal=True), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(["site"], ["sites.name"], name="fk_curtailments_site_sites"),
        sa.PrimaryKeyConstraint("id", name="pk_curtailments"),
    )
    op.create_index("ix_curtailments_site", "curtailments", ["site"])


def downgrade() -> None:
    op.drop_index("ix_curtailments_site", table_name="curtailments")
    op.drop_table("curtailments")
