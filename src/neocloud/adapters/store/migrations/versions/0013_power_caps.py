"""power caps: the cap a contract's GPUs run under, and the hold that books their power at it

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


def downgrade() -> None:
    op.drop_column("holds", "cap_w")
    op.drop_column("contracts", "cap_w")
