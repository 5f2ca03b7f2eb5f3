"""capacity core: sites, pools, tenants, contracts, holds

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sites")),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
    )
    op.create_table(
        "pools",
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("gpu_model", sa.String(length=100), nullable=False),
        sa.Column("block", sa.String(length=200), nullable=True),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site"], ["sites.name"], name=op.f("fk_pools_site_sites")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pools")),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("pool", sa.String(length=400), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("price_per_gpu_hour", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("take_or_pay", sa.Boolean(), nullable=False),
        sa.Column("termination_notice_days", sa.Integer(), nullable=False),
        sa.Column("sla_uptime", sa.Numeric(precision=8, scale=6), nullable=True),
        sa.Column("overage_per_gpu_hour", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("preemption_notice_s", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cancelled_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["pool"], ["pools.name"], name=op.f("fk_contracts_pool_pools")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_contracts_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
    )
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index("ix_contracts_tenant", ["tenant_id"], unique=False)

    op.create_table(
        "holds",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("pool", sa.String(length=400), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("contract_id", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_holds_contract_id_contracts")),
        sa.ForeignKeyConstraint(["pool"], ["pools.name"], name=op.f("fk_holds_pool_pools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index("ix_holds_pool", ["pool"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("ix_holds_pool")

    op.drop_table("holds")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_contracts_tenant")

    op.drop_table("contracts")
    op.drop_table("pools")
    op.drop_table("tenants")
    op.drop_table("sites")
