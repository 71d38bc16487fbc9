"""initial: diagnoses, alerts, fix proposals and their events

Revision ID: 0001
Revises:
Create Date: 2026-11-23

"""

from typing import Any, Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def _keyed(table: str) -> list[Any]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("key", name=op.f(f"uq_{table}_key")),
    ]


def upgrade() -> None:
    op.create_table(
        "diagnoses",
        sa.Column("created_at", TS, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=True),
        sa.Column("target_kind", sa.String(length=64), nullable=False),
        sa.Column("target_namespace", sa.String(length=253), nullable=True),
        sa.Column("target_name", sa.String(length=253), nullable=False),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("finding_ids", JSON, nullable=False),
        sa.Column("findings", JSON, nullable=False),
        sa.Column("duration_ms", sa.Double(), nullable=False),
        sa.Column("api_requests", sa.Integer(), nullable=False),
        *_keyed("diagnoses"),
    )
    op.create_index(op.f("ix_diagnoses_created_at"), "diagnoses", ["created_at"])
    op.create_index("ix_diagnoses_target", "diagnoses", ["target_kind", "target_name"])

    op.create_table(
        "alerts",
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("target_kind", sa.String(length=64), nullable=True),
        sa.Column("target_namespace", sa.String(length=253), nullable=True),
        sa.Column("target_name", sa.String(length=253), nullable=True),
        sa.Column("channel", sa.String(length=200), nullable=True),
        sa.Column("message_ts", sa.String(length=64), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("resolve_key", sa.Uuid(), nullable=True),
        sa.CheckConstraint("state IN ('firing', 'resolved')", name=op.f("ck_alerts_state")),
        *_keyed("alerts"),
    )
    op.create_index(op.f("ix_alerts_created_at"), "alerts", ["created_at"])
    op.create_index(op.f("ix_alerts_fingerprint"), "alerts", ["fingerprint"])

    op.create_table(
        "fix_proposals",
        sa.Column("playbook_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("risk", sa.String(length=16), nullable=False),
        sa.Column("patch", JSON, nullable=True),
        sa.Column("target_kind", sa.String(length=64), nullable=True),
        sa.Column("target_namespace", sa.String(length=253), nullable=True),
        sa.Column("target_name", sa.String(length=253), nullable=True),
        sa.Column("diagnosis_key", sa.Uuid(), nullable=True),
        sa.Column("proposed_by", sa.String(length=200), nullable=False),
        sa.Column("proposed_at", TS, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("declined_by", sa.String(length=200), nullable=True),
        sa.Column("declined_at", TS, nullable=True),
        sa.Column("dry_run_result", JSON, nullable=True),
        sa.Column("applied_result", JSON, nullable=True),
        sa.Column("applied_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "state IN ('proposed', 'approved', 'declined', 'applied', 'failed')", name=op.f("ck_fix_proposals_state")
        ),
        *_keyed("fix_proposals"),
    )
    op.create_index(op.f("ix_fix_proposals_proposed_at"), "fix_proposals", ["proposed_at"])

    op.create_table(
        "fix_events",
        sa.Column("proposal_key", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "event IN ('approved', 'declined', 'dry_run', 'applied', 'failed')", name=op.f("ck_fix_events_event")
        ),
        *_keyed("fix_events"),
    )
    op.create_index(op.f("ix_fix_events_created_at"), "fix_events", ["created_at"])
    op.create_index(op.f("ix_fix_events_proposal_key"), "fix_events", ["proposal_key"])


def downgrade() -> None:
    op.drop_table("fix_events")
    op.drop_table("fix_proposals")
    op.drop_table("alerts")
    op.drop_table("diagnoses")
