"""the watchers' incident ledger, mutes and watch cursors; incident_id on actions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "watch_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("cluster", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=600), nullable=False),
        sa.Column("fingerprint", sa.String(length=1000), nullable=False),
        sa.Column("open_fingerprint", sa.String(length=1000), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=True),
        sa.Column("message_ts", sa.String(length=64), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("absorbed", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("details", JSON, nullable=True),
        sa.CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name=op.f("ck_watch_incidents_state")),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["watch_incidents.id"],
            name=op.f("fk_watch_incidents_parent_id_watch_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_incidents")),
        sa.UniqueConstraint("open_fingerprint", name=op.f("uq_watch_incidents_open_fingerprint")),
        sa.UniqueConstraint("ref", name=op.f("uq_watch_incidents_ref")),
    )
    op.create_index(op.f("ix_watch_incidents_fingerprint"), "watch_incidents", ["fingerprint"])
    op.create_index(op.f("ix_watch_incidents_resolved_at"), "watch_incidents", ["resolved_at"])
    op.create_table(
        "watch_mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=600), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_mutes")),
    )
    op.create_index(op.f("ix_watch_mutes_target"), "watch_mutes", ["target"])
    op.create_table(
        "watch_cursors",
        sa.Column("cluster", sa.String(length=200), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("resource_version", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cluster", "stream", name=op.f("pk_watch_cursors")),
    )
    with op.batch_alter_table("actions") as batch:
        batch.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_actions_incident_id_incidents"), "incidents", ["incident_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(op.f("ix_actions_incident_id"), ["incident_id"])


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.drop_index(op.f("ix_actions_incident_id"))
        batch.drop_constraint(op.f("fk_actions_incident_id_incidents"), type_="foreignkey")
        batch.drop_column("incident_id")
    op.drop_table("watch_cursors")
    op.drop_index(op.f("ix_watch_mutes_target"), table_name="watch_mutes")
    op.drop_table("watch_mutes")
    op.drop_index(op.f("ix_watch_incidents_resolved_at"), table_name="watch_incidents")
    op.drop_index(op.f("ix_watch_incidents_fingerprint"), table_name="watch_incidents")
    op.drop_table("watch_incidents")
