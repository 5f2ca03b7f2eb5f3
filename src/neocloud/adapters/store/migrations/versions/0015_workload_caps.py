"""power: a running workload capped below its contract's power for a site's budget (its cap, pace and since when),
and the notice it was given of a curtailment

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("workloads", sa.Column("cap_w", sa.Integer(), nullable=True))
    op.add_column("workloads", sa.Column("pace", sa.Float(), nullable=False, server_default="1"))
    op.add_column("workloads", sa.Column("paced_at", sa.BigInteger(), nullable=True))
    op.add_column("workloads", sa.Column("stops_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("workloads", "stops_at")
    op.drop_column("workloads", "paced_at")
    op.drop_column("workloads", "pace")
    op.drop_column("workloads", "cap_w")
