"""SQLAlchemy Core tables: everything the cloud remembers, for SQLite and PostgreSQL alike.

Constraints, not processes, keep replicas honest: ``edge_events`` has ``UNIQUE(room_id,
epoch, seq)``, so an event is applied once; partial unique indexes allow one live claim per
machine, one live waitlist entry per student and type, and one hold per machine. Timers
are deadline columns (``claims.confirm_by``, ``claims.next_reminder_at``,
``waitlist_entries.hold_until``) that any replica may fire with a conditional update.
The migrations in ``migrations/versions`` create the same tables; change both together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
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
    Column("health", Json),
    # The latest retained ``health`` message of the room's edge (issue 6), as it sent it.
    Column("health_at", UtcDateTime()),
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
    Column("current_at", UtcDateTime()),
    # When current_a was last stored (any reading; telemetry at most every few seconds).
    Column("since", UtcDateTime()),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime()),
    Column("out_of_service", Boolean, nullable=False, server_default=text("false")),
    Column("service_reason", String(500)),
    Column("service_since", UtcDateTime()),
    Column("service_by", BigInteger),
    # The user who took it out (None: automatic, from fault reports).
    Column("desired_revision", BigInteger, nullable=False, server_default="0"),
    # Revision of the desired state last published to the edge.
    Column("applied_revision", BigInteger, nullable=False, server_default="0"),
    # The highest revision the edge acknowledged applying (``ack``); below desired: pending.
    Column("applied_at", UtcDateTime()),
    Column("typical_cycle_s", Float),
    # A moving average of its finished cycles' lengths (cloud/domain/machines/cycle_length.py).
    Column("cycle_started_at", UtcDateTime()),
    Column("expected_end", UtcDateTime()),
    # From the edge's machine state: its learned profile's end for the cycle in progress.
    Column("profile", Json),
    Column("profile_learned", BigInteger, nullable=False, server_default="0"),
    Column("profile_at", UtcDateTime()),
    # The last learned profile the edge published (contract ``MachineProfile``), for restoring a replaced Pi.
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
    Column("epoch", Integer, nullable=False, server_default="0"),
    # Which run of the room's sequence the event belongs to: a wiped edge restarts at seq 1 in
    # a new epoch (see cloud/domain/ingest/gaps.py), so (room, epoch, seq) is what is unique.
    UniqueConstraint("room_id", "epoch", "seq", name="uq_edge_events_room_epoch_seq"),
    Index("ix_edge_events_machine_ts", "room_id", "machine_id", "ts"),
    Index("ix_edge_events_room_boot", "room_id", "boot_id"),
)

room_sequences = Table(
    "room_sequences",
    metadata,
    # Per room, how far its event sequence is complete and what is missing (cloud/domain/ingest/gaps.py).
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("epoch", Integer, nullable=False, server_default="0"),
    Column("base_seq", BigInteger, nullable=False, server_default="0"),
    # The seq just before the first event the cloud saw in this epoch.
    Column("contiguous_seq", BigInteger, nullable=False, server_default="0"),
    # Every seq in (base_seq, contiguous_seq] has been applied.
    Column("max_seq", BigInteger, nullable=False, server_default="0"),
    Column("gap_since", UtcDateTime()),
    # When the oldest still-open gap appeared (None: no gap).
    Column("replay_next_at", UtcDateTime()),
    # The stored deadline: ask again at this time (None: not asked yet for this gap).
    Column("last_replay_at", UtcDateTime()),
    Column("replay_requests", Integer, nullable=False, server_default="0"),
    Column("gap_requests", Integer, nullable=False, server_default="0"),
    # Requests sent since the open gaps appeared: each retry waits twice as long as the last.
    Column("seq_resets", Integer, nullable=False, server_default="0"),
    Column("last_reset_at", UtcDateTime()),
    Column("last_reset_boot_id", String(64)),
    Index("ix_room_sequences_gap_since", "gap_since"),
)


def _live(statuses: str) -> dict[str, Any]:
    """Dialect options for a partial index over rows whose ``status`` is one of ``statuses``."""
    where = text(f"status IN ({statuses})")
    return {"sqlite_where": where, "postgresql_where": where}


users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("role", String(16), nullable=False),
    # ``student`` (registers with a student ID and PIN) or ``staff`` (created by the CLI).
    Column("student_id", String(6)),
    Column("username", String(64)),
    Column("display_name", String(100)),
    Column("phone_number", String(20)),
    # E.164, as normalised by ``phonenumbers``.
    Column("secret_hash", String(255), nullable=False),
    # argon2id of the PIN (students) or password (staff).
    Column("created_at", UtcDateTime(), nullable=False),
    Column("alert_before_min", Integer, nullable=False, server_default="0"),
    # Minutes before a claimed cycle's expected end to be told it is nearly over: 0 (off), 5 or 10.
    Column("language", String(8)),
    # The catalog for the web app and this user's notifications (``en``, ``es``); null: not chosen.
    UniqueConstraint("student_id", name="uq_users_student_id"),
    UniqueConstraint("username", name="uq_users_username"),
)

login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", String(160), primary_key=True),
    # ``account:<login>`` or ``address:<client ip>``.
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("lockouts", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    # The refresh-token family: every token rotated from one login shares it.
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Column("revoked_reason", String(32)),
    Index("ix_sessions_user", "user_id"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime()),
    Index("ix_refresh_tokens_session", "session_id"),
)

claims = Table(
    "claims",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("machine_pk", Id, ForeignKey("machines.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("category", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    # pending (waiting for the sensors), active, finished; then ended, cancelled or expired.
    Column("created_at", UtcDateTime(), nullable=False),
    Column("confirm_by", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime()),
    Column("finished_at", UtcDateTime()),
    Column("closed_at", UtcDateTime()),
    Column("close_reason", String(32)),
    Column("reminders_sent", Integer, nullable=False, server_default="0"),
    Column("next_reminder_at", UtcDateTime()),
    Column("alert_at", UtcDateTime()),
    # When the claimant is told the cycle is nearly over (follows the expected end; null: none due).
    Column("alert_sent_at", UtcDateTime()),
    # When they were (at most once per claim).
    Index("uq_claims_live_machine", "machine_pk", unique=True, **_live("'pending', 'active', 'finished'")),
    Index("ix_claims_user", "user_id", "id"),
    Index("ix_claims_confirm_by", "status", "confirm_by"),
    Index("ix_claims_next_reminder_at", "status", "next_reminder_at"),
    Index("ix_claims_alert_at", "status", "alert_at"),
)

waitlist_entries = Table(
    "waitlist_entries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    # waiting, offered (holding a machine); then claimed, left, expired or removed.
    Column("joined_at", UtcDateTime(), nullable=False),
    Column("offered_machine_pk", Id, ForeignKey("machines.id", ondelete="SET NULL")),
    Column("offered_at", UtcDateTime()),
    Column("hold_until", UtcDateTime()),
    Column("closed_at", UtcDateTime()),
    Index("uq_waitlist_live_user", "room_id", "kind", "user_id", unique=True, **_live("'waiting', 'offered'")),
    Index("uq_waitlist_offered_machine", "offered_machine_pk", unique=True, **_live("'offered'")),
    Index("ix_waitlist_queue", "room_id", "kind", "status", "id"),
    Index("ix_waitlist_hold_until", "status", "hold_until"),
)

faults = Table(
    "faults",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("machine_pk", Id, ForeignKey("machines.id", ondelete="CASCADE"), nullable=False),
    Column("reporter_id", Id, ForeignKey("users.id", ondelete="SET NULL")),
    Column("automatic", Boolean, nullable=False, server_default=text("false")),
    # Reported by the edge from its sensors, not by a person.
    Column("reason", String(64)),
    Column("description", Text, nullable=False),
    Column("photo_file", String(80)),
    # A generated name in the photo directory (outside the web root).
    Column("photo_type", String(32)),
    Column("status", String(16), nullable=False),
    # open, acknowledged, scheduled, resolved or wont_fix (cloud.domain.faults.lifecycle).
    Column("created_at", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime()),
    Column("resolved_by", Id, ForeignKey("users.id", ondelete="SET NULL")),
    Column("resolution_note", Text),
    # When, by whom and why it was closed (resolved or wont_fix).
    Column("eta", Date),
    # While scheduled: the expected repair date.
    Column("status_note", Text),
    Column("status_at", UtcDateTime()),
    # The latest step's note and time (its history is in fault_updates).
    Column("edge_seq", BigInteger),
    Column("edge_boot_id", String(64)),
    # For automatic faults: the edge event they came from (one fault per event).
    Index("ix_faults_machine_status", "machine_pk", "status"),
    Index("uq_faults_edge_event", "room_id", "edge_boot_id", "edge_seq", unique=True),
)

fault_updates = Table(
    "fault_updates",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("fault_id", Id, ForeignKey("faults.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("note", Text),
    Column("eta", Date),
    Column("by_id", Id, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_fault_updates_fault", "fault_id", "id"),
)
"""Each step staff took on a fault report (acknowledged, scheduled, resolved, wont_fix)."""

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(40), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("data", Json, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("read_at", UtcDateTime()),
    Index("ix_notifications_user", "user_id", "id"),
)

activities = Table(
    "activities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="SET NULL")),
    Column("user_id", Id, ForeignKey("users.id", ondelete="SET NULL")),
    Column("machine_pk", Id, ForeignKey("machines.id", ondelete="SET NULL")),
    Column("type", String(40), nullable=False),
    Column("message", Text, nullable=False),
    Column("data", Json, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_activities_user", "user_id", "id"),
    Index("ix_activities_room", "room_id", "id"),
)

push_subscriptions = Table(
    "push_subscriptions",
    metadata,
    # A browser's Web Push subscription (cloud/domain/push/): where to send, and the keys to encrypt with.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("endpoint", String(2048), nullable=False),
    # The push service's URL for this browser; one browser subscribes once, so it is unique.
    Column("p256dh", String(100), nullable=False),
    Column("auth", String(40), nullable=False),
    # The browser's public key and auth secret, base64url as the browser sent them.
    Column("user_agent", String(300)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_sent_at", UtcDateTime()),
    Column("failures", Integer, nullable=False, server_default="0"),
    # Failed sends in a row; reset by a success, the subscription dropped after a few.
    UniqueConstraint("endpoint", name="uq_push_subscriptions_endpoint"),
    Index("ix_push_subscriptions_user", "user_id"),
)

webhooks = Table(
    "webhooks",
    metadata,
    # A staff member's outgoing webhook (cloud/domain/webhooks/): where to POST which events.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("url", String(2048), nullable=False),
    Column("events", Json, nullable=False),
    # The event names it wants (a list of cloud.domain.webhooks.events.EVENTS).
    Column("site", String(63)),
    # Only this site's events; NULL: every site's.
    Column("secret", String(100), nullable=False),
    # ``whsec_<base64>`` (Standard Webhooks): the HMAC key, kept to sign every delivery.
    Column("created_by", Id, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime(), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # The durable queue: one row per (event, webhook), inserted in the event's own transaction.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("webhook_id", Id, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", String(40), nullable=False),
    # The ``webhook-id`` header: the same on every retry, so a receiver can drop a repeat.
    Column("event", String(40), nullable=False),
    Column("body", Text, nullable=False),
    # The JSON body exactly as signed and sent, every attempt.
    Column("status", String(16), nullable=False),
    # pending (to be tried), delivered (a 2xx), failed (given up).
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime()),
    Column("leased_until", UtcDateTime()),
    # A sender claimed the row for one attempt until then (a conditional update): one replica per attempt.
    Column("last_status_code", Integer),
    Column("last_error", String(300)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime()),
    UniqueConstraint("message_id", name="uq_webhook_deliveries_message_id"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
)

staff_alarms = Table(
    "staff_alarms",
    metadata,
    # One incident staff must hear about (cloud/domain/alarms/): a silent edge, a sensor fault,
    # a machine taken out of service automatically. Opened once, cleared once.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    # edge_silent, sensor_fault or out_of_service.
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("machine_pk", Id, ForeignKey("machines.id", ondelete="SET NULL")),
    Column("site", String(63), nullable=False),
    Column("room", String(63), nullable=False),
    Column("machine", String(63)),
    # The machine's id in its room (null: the incident is the whole room's).
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("cleared_at", UtcDateTime()),
    Column("details", Json, nullable=False),
    Column("open_key", String(100)),
    # "kind:room or machine" while the incident is open, null once cleared: unique, so however
    # many messages, replicas or timer rounds see the incident, it is opened once.
    UniqueConstraint("open_key", name="uq_staff_alarms_open_key"),
    Index("ix_staff_alarms_site_open", "site", "cleared_at"),
)
