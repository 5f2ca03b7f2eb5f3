"""power: the cap a contract's GPUs run under and the hold that books their power at it; a contract's energy
term (bundled in its price, or passed through at the site's $/MWh)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contracts", sa.Column("cap_w", sa.Integer(), nullable=True))
    op.add_column("holds", sa.Column("cap_w", sa.Integer(), nullable=True))
    op.add_column("contracts", sa.Column("energy", sa.String(20), nullable=False, server_default="bundled"))


def downgrade() -> None:
    op.drop_column("contracts", "energy")
    op.drop_column("holds", "cap_w")
    op.drop_column("contracts", "cap_w")
