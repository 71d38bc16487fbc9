"""fix_verifications: a fix applied, checked again after its settle window (a job any replica may run)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "fix_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_key", sa.Uuid(), nullable=True),
        sa.Column("target", sa.String(length=600), nullable=False),
        sa.Column("finding_id", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("ts", sa.String(length=64), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'resolved', 'failing', 'error')", name=op.f("ck_fix_verifications_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fix_verifications")),
    )
    op.create_index(op.f("ix_fix_verifications_due_at"), "fix_verifications", ["due_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_fix_verifications_due_at"), table_name="fix_verifications")
    op.drop_table("fix_verifications")
