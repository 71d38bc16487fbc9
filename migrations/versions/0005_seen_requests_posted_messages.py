"""seen_requests (the replay cache, with expiry) and posted_messages (what a click is bound to)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "seen_requests",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_seen_requests")),
    )
    op.create_index(op.f("ix_seen_requests_expires_at"), "seen_requests", ["expires_at"])
    op.create_table(
        "posted_messages",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("target", sa.String(length=600), nullable=True),
        sa.Column("incident", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "ts", name=op.f("pk_posted_messages")),
    )
    op.create_index(op.f("ix_posted_messages_created_at"), "posted_messages", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_posted_messages_created_at"), table_name="posted_messages")
    op.drop_table("posted_messages")
    op.drop_index(op.f("ix_seen_requests_expires_at"), table_name="seen_requests")
    op.drop_table("seen_requests")
