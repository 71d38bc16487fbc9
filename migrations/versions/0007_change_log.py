"""change_log: what the watchers saw change (rollouts, config keys, nodes, scaling), never a value

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "change_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(length=600), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("areas", JSON, nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("digests", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_log")),
    )
    op.create_index(op.f("ix_change_log_at"), "change_log", ["at"])
    op.create_index(op.f("ix_change_log_subject"), "change_log", ["subject"])


def downgrade() -> None:
    op.drop_index(op.f("ix_change_log_subject"), table_name="change_log")
    op.drop_index(op.f("ix_change_log_at"), table_name="change_log")
    op.drop_table("change_log")
