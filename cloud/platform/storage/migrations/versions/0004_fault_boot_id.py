"""Automatic faults are unique per (room, boot id, seq), not (room, seq).

An edge whose SD card was wiped starts its sequence again at 1 under a new boot id; with
the old key, a fault it detected on a sequence number the room had used before was
skipped as a duplicate. A replayed event keeps its original boot id, so a redelivery
still finds the fault it already made.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("faults", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edge_boot_id", sa.String(length=64), nullable=True))
        batch_op.drop_index("uq_faults_edge_event")
        batch_op.create_index("uq_faults_edge_event", ["room_id", "edge_boot_id", "edge_seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("faults", schema=None) as batch_op:
        batch_op.drop_index("uq_faults_edge_event")
        batch_op.create_index("uq_faults_edge_event", ["room_id", "edge_seq"], unique=True)
        batch_op.drop_column("edge_boot_id")
