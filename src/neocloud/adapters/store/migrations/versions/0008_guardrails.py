"""guardrails: price agreements per tenant, pool and kind; credit limits and quotas per tenant; API keys that
expire and remember when they were last used; contracts found by pool and end (what holds capacity now)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_agreements",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("pool", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("price_per_gpu_hour", sa.Numeric(18, 6, asdecimal=True), nullable=True),
        sa.Column("overage_per_gpu_hour", sa.Numeric(18, 6, asdecimal=True), nullable=True),
        sa.Column("take_or_pay", sa.Boolean(), nullable=False),
        sa.Column("termination_notice_days", sa.Integer(), nullable=False),
        sa.Column("sla_uptime", sa.Numeric(8, 6, asdecimal=True), nullable=True),
        sa.Column("preemption_notice_s", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_price_agreements_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["pool"], ["pools.name"], name=op.f("fk_price_agreements_pool_pools")),
        sa.PrimaryKeyConstraint("tenant_id", "pool", "kind", name=op.f("pk_price_agreements")),
    )
    op.create_table(
        "tenant_limits",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("credit_limit", sa.Numeric(20, 2, asdecimal=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_limits_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_limits")),
    )
    op.create_table(
        "quotas",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("pool", sa.String(length=400), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_quotas_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["pool"], ["pools.name"], name=op.f("fk_quotas_pool_pools")),
        sa.PrimaryKeyConstraint("tenant_id", "pool", name=op.f("pk_quotas")),
    )
    op.create_index("ix_contracts_pool_end", "contracts", ["pool", "end"])
    with op.batch_alter_table("contracts") as batch:  # a tenant's contracts and workloads, a page at a time
        batch.drop_index("ix_contracts_tenant")
        batch.create_index("ix_contracts_tenant", ["tenant_id", "start", "id"])
    op.create_index("ix_workloads_tenant", "workloads", ["tenant_id", "submit", "id"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("expires_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.BigInteger(), nullable=True))
        batch.create_index("ix_api_keys_created", ["created_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_created")
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
    op.drop_index("ix_workloads_tenant", "workloads")
    with op.batch_alter_table("contracts") as batch:
        batch.drop_index("ix_contracts_tenant")
        batch.create_index("ix_contracts_tenant", ["tenant_id"])
    op.drop_index("ix_contracts_pool_end", "contracts")
    op.drop_table("quotas")
    op.drop_table("tenant_limits")
    op.drop_table("price_agreements")
