"""workloads

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workloads",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("contract_id", sa.String(length=100), nullable=False),
        sa.Column("gpu_model", sa.String(length=100), nullable=False),
        sa.Column("gpus_per_task", sa.Integer(), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.Column("duration", sa.BigInteger(), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("submit", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("attained", sa.BigInteger(), nullable=False),
        sa.Column("started", sa.BigInteger(), nullable=True),
        sa.Column("first_start", sa.BigInteger(), nullable=True),
        sa.Column("finished", sa.BigInteger(), nullable=True),
        sa.Column("preemptions", sa.Integer(), nullable=False),
        sa.Column("allocation", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_workloads_contract_id_contracts")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_workloads_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workloads")),
    )
    with op.batch_alter_table("workloads", schema=None) as batch_op:
        batch_op.create_index("ix_workloads_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("workloads", schema=None) as batch_op:
        batch_op.drop_index("ix_workloads_status")

    op.drop_table("workloads")
