"""action_incident: incident_id on actions, so button clicks and views appear in the post-mortem (issue 15)

Revision ID: 0004_action_incident
Revises: 0003
Create Date: 2026-12-04
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004_action_incident"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_actions_incident_id_incidents"), "incidents", ["incident_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index(op.f("ix_actions_incident_id"), ["incident_id"])


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.drop_index(op.f("ix_actions_incident_id"))
        batch.drop_constraint(op.f("fk_actions_incident_id_incidents"), type_="foreignkey")
        batch.drop_column("incident_id")
