"""kubelet_samples: the kubelet sampler's latest reading per container and per volume (shared by the replicas)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "kubelet_samples",
        sa.Column("cluster", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("namespace", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("container", sa.String(length=253), nullable=False),
        sa.Column("node", sa.String(length=253), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("periods", sa.Double(), nullable=True),
        sa.Column("throttled", sa.Double(), nullable=True),
        sa.Column("working_set", sa.Double(), nullable=True),
        sa.Column("used", sa.Double(), nullable=True),
        sa.Column("capacity", sa.Double(), nullable=True),
        sa.Column("available", sa.Double(), nullable=True),
        sa.Column("instance", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("cluster", "kind", "namespace", "name", "container", name=op.f("pk_kubelet_samples")),
    )
    op.create_index(op.f("ix_kubelet_samples_node"), "kubelet_samples", ["node"])


def downgrade() -> None:
    op.drop_index(op.f("ix_kubelet_samples_node"), table_name="kubelet_samples")
    op.drop_table("kubelet_samples")
