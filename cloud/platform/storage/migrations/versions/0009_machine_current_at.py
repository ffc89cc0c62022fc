"""When each machine's current was last stored, so telemetry is stored at most every few seconds.

``machines.current_at`` is set by every stored reading (state, event, telemetry); a
telemetry message is stored only when the last one is at least
``cloud.domain.ingest.apply.TELEMETRY_STORE_EVERY_S`` old.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.drop_column("current_at")
