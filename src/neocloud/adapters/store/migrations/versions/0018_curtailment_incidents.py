"""power: the incidents a curtailment recorded, so that lifting it early shortens them (or withdraws them)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("curtailments", sa.Column("incident_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("curtailments", "incident_ids")
