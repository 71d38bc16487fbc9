"""incidents, and incident_id on diagnoses, alerts and fix proposals

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

SQLite cannot add a foreign key to an existing table: the batch operations (``render_as_batch``) copy each table
into a new one, rows included.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LINKED = ("diagnoses", "alerts", "fix_proposals")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("key", name=op.f("uq_incidents_key")),
        sa.UniqueConstraint("ref", name=op.f("uq_incidents_ref")),
    )
    op.create_index(op.f("ix_incidents_opened_at"), "incidents", ["opened_at"])
    for table in LINKED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(
                op.f(f"fk_{table}_incident_id_incidents"), "incidents", ["incident_id"], ["id"], ondelete="SET NULL"
            )
            batch.create_index(op.f(f"ix_{table}_incident_id"), ["incident_id"])


def downgrade() -> None:
    for table in LINKED:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f"ix_{table}_incident_id"))
            batch.drop_constraint(op.f(f"fk_{table}_incident_id_incidents"), type_="foreignkey")
            batch.drop_column("incident_id")
    op.drop_index(op.f("ix_incidents_opened_at"), table_name="incidents")
    op.drop_table("incidents")
