"""assignments: the nodes each reservation holds, span by span (a replaced node's span ends, its
replacement's begins)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("contract_id", sa.String(length=100), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("pool", sa.String(length=200), nullable=False),
        sa.Column("until", sa.BigInteger(), nullable=True),
        sa.Column("down_since", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("contract_id", "node", "since", name=op.f("pk_assignments")),
    )
    op.create_index(op.f("ix_assignments_pool"), "assignments", ["pool"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_assignments_pool"), table_name="assignments")
    op.drop_table("assignments")
