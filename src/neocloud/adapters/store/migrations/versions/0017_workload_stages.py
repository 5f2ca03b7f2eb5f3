"""interleaving: a workload's stage times (what an interleaving ordering pairs by) and the workloads it shares
its GPUs with while it runs

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("workloads", sa.Column("iteration", sa.Float(), nullable=False, server_default="0"))
    op.add_column("workloads", sa.Column("stages", sa.JSON(), nullable=True))
    op.add_column("workloads", sa.Column("group_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("workloads", "group_ids")
    op.drop_column("workloads", "stages")
    op.drop_column("workloads", "iteration")
