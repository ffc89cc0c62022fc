"""SQLAlchemy Core tables: what the cloud remembers about rooms, machines and edge events.

``edge_events`` has ``UNIQUE(room_id, seq)``: that constraint, not any process, is what
makes applying an event exactly-once, even with several replicas receiving it.
The migration in ``migrations/versions`` creates the same tables; change both together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

Id = BigInteger().with_variant(Integer(), "sqlite")
"""SQLite only auto-increments an ``INTEGER PRIMARY KEY``, not a ``BIGINT`` one."""
Json = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps that always come back timezone-aware in UTC (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


rooms = Table(
    "rooms",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site", String(63), nullable=False),
    Column("room", String(63), nullable=False),
    Column("status", String(16), nullable=False, server_default="unknown"),
    Column("status_since", UtcDateTime()),
    Column("last_seen", UtcDateTime()),
    Column("boot_id", String(64)),
    Column("agent_version", String(64)),
    Column("registered_at", UtcDateTime(), nullable=False),
    UniqueConstraint("site", "room", name="uq_rooms_site_room"),
)

machines = Table(
    "machines",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("machine_id", String(63), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("number", Integer, nullable=False),
    Column("label", String(100)),
    Column("state", String(32)),
    Column("door", String(16)),
    Column("current_a", Float),
    Column("since", UtcDateTime()),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime()),
    UniqueConstraint("room_id", "machine_id", name="uq_machines_room_machine"),
)

edge_events = Table(
    "edge_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("boot_id", String(64), nullable=False),
    Column("machine_id", String(63), nullable=False),
    Column("type", String(32), nullable=False),
    Column("ts", UtcDateTime(), nullable=False),
    Column("payload", Json, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    UniqueConstraint("room_id", "seq", name="uq_edge_events_room_seq"),
    Index("ix_edge_events_machine_ts", "room_id", "machine_id", "ts"),
)
