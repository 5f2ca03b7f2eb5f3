"""power: metered runs by when they ended, for the live engine's fall limit (the runs whose draw the GPUs'
power floors may still hold)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_usage_end", "usage_records", ["end"])


def downgrade() -> None:
    op.drop_index("ix_usage_end", table_name="usage_records")
