"""Each machine's typical cycle length, so a student's claim shows about when it ends.

``machines.typical_cycle_s`` is a moving average of the lengths of the machine's finished
cycles (cloud/domain/machines/cycle_length.py); null until it has finished one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("typical_cycle_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.drop_column("typical_cycle_s")
