"""Rooms, machines and edge events: the first schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rooms",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("site", sa.String(63), nullable=False),
        sa.Column("room", sa.String(63), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="unknown"),
        sa.Column("status_since", Stamp),
        sa.Column("last_seen", Stamp),
        sa.Column("boot_id", sa.String(64)),
        sa.Column("agent_version", sa.String(64)),
        sa.Column("registered_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rooms"),
        sa.UniqueConstraint("site", "room", name="uq_rooms_site_room"),
    )
    op.create_table(
        "machines",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("room_id", Id, nullable=False),
        sa.Column("machine_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("label", sa.String(100)),
        sa.Column("state", sa.String(32)),
        sa.Column("door", sa.String(16)),
        sa.Column("current_a", sa.Float),
        sa.Column("since", Stamp),
        sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", Stamp),
        sa.PrimaryKeyConstraint("id", name="pk_machines"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name="fk_machines_room_id_rooms", ondelete="CASCADE"),
        sa.UniqueConstraint("room_id", "machine_id", name="uq_machines_room_machine"),
    )
    op.create_table(
        "edge_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("room_id", Id, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("boot_id", sa.String(64), nullable=False),
        sa.Column("machine_id", sa.String(63), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("ts", Stamp, nullable=False),
        sa.Column("payload", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("received_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_edge_events"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name="fk_edge_events_room_id_rooms", ondelete="CASCADE"),
        sa.UniqueConstraint("room_id", "seq", name="uq_edge_events_room_seq"),
    )
    op.create_index("ix_edge_events_machine_ts", "edge_events", ["room_id", "machine_id", "ts"])


def downgrade() -> None:
    op.drop_index("ix_edge_events_machine_ts", table_name="edge_events")
    op.drop_table("edge_events")
    op.drop_table("machines")
    op.drop_table("rooms")
