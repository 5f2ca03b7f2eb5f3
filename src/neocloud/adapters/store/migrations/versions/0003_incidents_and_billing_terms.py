"""incidents and billing terms

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_terms",
        sa.Column("contract_id", sa.String(length=100), nullable=False),
        sa.Column("minimum_per_period", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("prepaid_balance", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_billing_terms_contract_id_contracts")),
        sa.PrimaryKeyConstraint("contract_id", name=op.f("pk_billing_terms")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("pool", sa.String(length=400), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=True),
        sa.Column("contract_id", sa.String(length=100), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_incidents_contract_id_contracts")),
        sa.ForeignKeyConstraint(["pool"], ["pools.name"], name=op.f("fk_incidents_pool_pools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )


def downgrade() -> None:
    op.drop_table("incidents")
    op.drop_table("billing_terms")
