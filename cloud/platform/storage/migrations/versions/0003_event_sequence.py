"""Event sequence bookkeeping: epochs for edge events, and per-room gaps and replay requests.

``edge_events`` gains ``epoch`` and its unique key becomes (room_id, epoch, seq), so a wiped
edge that restarts at seq 1 is stored in a new epoch instead of being dropped as duplicates;
``room_sequences`` holds each room's contiguous seq, open gap and replay deadline.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("edge_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("epoch", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_constraint("uq_edge_events_room_seq", type_="unique")
        batch_op.create_unique_constraint("uq_edge_events_room_epoch_seq", ["room_id", "epoch", "seq"])
        batch_op.create_index("ix_edge_events_room_boot", ["room_id", "boot_id"], unique=False)

    op.create_table(
        "room_sequences",
        sa.Column("room_id", Id, nullable=False),
        sa.Column("epoch", sa.Integer(), server_default="0", nullable=False),
        sa.Column("base_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("contiguous_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("max_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("gap_since", Stamp, nullable=True),
        sa.Column("replay_next_at", Stamp, nullable=True),
        sa.Column("last_replay_at", Stamp, nullable=True),
        sa.Column("replay_requests", sa.Integer(), server_default="0", nullable=False),
        sa.Column("gap_requests", sa.Integer(), server_default="0", nullable=False),
        sa.Column("seq_resets", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_reset_at", Stamp, nullable=True),
        sa.Column("last_reset_boot_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_room_sequences_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_room_sequences")),
    )
    with op.batch_alter_table("room_sequences", schema=None) as batch_op:
        batch_op.create_index("ix_room_sequences_gap_since", ["gap_since"], unique=False)

    # Rooms that already have events start from what is stored: contiguous up to the newest
    # event when nothing is missing since the first, else from the first (the next event
    # arriving walks it forward and opens the gaps it finds).
    op.execute(
        "INSERT INTO room_sequences (room_id, epoch, base_seq, contiguous_seq, max_seq, replay_requests, seq_resets) "
        "SELECT room_id, 0, MIN(seq) - 1, "
        "CASE WHEN COUNT(*) = MAX(seq) - MIN(seq) + 1 THEN MAX(seq) ELSE MIN(seq) - 1 END, "
        "MAX(seq), 0, 0 FROM edge_events GROUP BY room_id"
    )


def downgrade() -> None:
    with op.batch_alter_table("room_sequences", schema=None) as batch_op:
        batch_op.drop_index("ix_room_sequences_gap_since")
    op.drop_table("room_sequences")
    op.execute("DELETE FROM edge_events WHERE epoch > 0")
    with op.batch_alter_table("edge_events", schema=None) as batch_op:
        batch_op.drop_index("ix_edge_events_room_boot")
        batch_op.drop_constraint("uq_edge_events_room_epoch_seq", type_="unique")
        batch_op.create_unique_constraint("uq_edge_events_room_seq", ["room_id", "seq"])
        batch_op.drop_column("epoch")
