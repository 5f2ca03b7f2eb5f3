"""billing: usage records and invoices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_invoices_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("tenant_id", "period", name="uq_invoices_tenant_period"),
    )
    op.create_table(
        "usage_records",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("contract_id", sa.String(length=100), nullable=False),
        sa.Column("pool", sa.String(length=400), nullable=False),
        sa.Column("gpu_model", sa.String(length=100), nullable=False),
        sa.Column("milli_gpus", sa.BigInteger(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("job_id", sa.String(length=200), nullable=False),
        sa.Column("preempted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_usage_records_contract_id_contracts")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_usage_records_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_usage_records")),
    )
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.create_index("ix_usage_contract_start", ["contract_id", "start"], unique=False)
        batch_op.create_index("ix_usage_tenant_start", ["tenant_id", "start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_tenant_start")
        batch_op.drop_index("ix_usage_contract_start")

    op.drop_table("usage_records")
    op.drop_table("invoices")
