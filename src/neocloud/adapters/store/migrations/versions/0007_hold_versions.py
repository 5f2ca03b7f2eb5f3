"""hold versions: the pool version that last wrote each hold, and deletions kept as marks, so a reader that
keeps a pool's ledger in memory can catch up by reading only what changed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("holds") as batch:
        batch.add_column(sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_holds_pool_version", ["pool", "version"])


def downgrade() -> None:
    with op.batch_alter_table("holds") as batch:
        batch.drop_index("ix_holds_pool_version")
        batch.drop_column("deleted")
        batch.drop_column("version")
