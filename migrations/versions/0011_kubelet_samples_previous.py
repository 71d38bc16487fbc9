"""kubelet_samples: the reading before the latest (CFS counters), so a diagnosis gets a rate with no request

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = ("prev_at", "prev_periods", "prev_throttled")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("kubelet_samples", sa.Column(name, sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kubelet_samples") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
