"""The durable outbox: every event is on disk, with its machine's new state, before it is sent.

One SQLite database per room (WAL, ``synchronous=FULL``, through sqlite-utils):

* ``events`` — the messages still to deliver, keyed by the room's sequence number.
* ``archive`` — events the broker has acknowledged, kept so the cloud can ask for them
  again (``requeue``) after it saw a gap in the sequence.
* ``machine_state`` — each machine's last state, so a restarted agent restores its
  detectors and republishes the retained state messages.
* ``meta`` — the last sequence number handed out (never reused, even after the rows
  are acknowledged and archived), the agent's last status snapshot, and ``boots``, the
  history of agent boot ids.
* ``profiles`` — what each machine's detector learned (``kywash.contract.MachineProfile``
  JSON, keyed by machine id; ``edge.profile_store``), so a restarted agent keeps it.

``append_events`` assigns sequence numbers and writes the event rows and the state rows
in one transaction: a crash leaves either both or neither. The publisher reads
``pending`` in order and calls ``ack`` once the broker confirmed a row (PUBACK); ``ack``
moves the row to the archive in one transaction, so it is always in exactly one place.
One connection, guarded by a lock, is shared by the agent's threads.

Bounds (the policy):

* **Events are never dropped while the disk allows.** ``events`` has no size limit: a
  broker away for a week means a week of rows, which is a few MB. When the disk (or
  ``limit_size``) is full, ``append_events`` raises ``OutboxFull`` and writes nothing;
  the agent keeps the batch in memory, logs, and retries until a write succeeds.
* **The archive is bounded by sequence number**: it keeps the acknowledged events whose
  seq is within ``archive_events`` of the newest acknowledged one (default 100,000,
  about a month of a busy room and ~40 MB); older ones are deleted on ``ack``. A replay
  request for older seqs is answered with what is left and the rest is counted missing.
* **Telemetry is not stored here at all**: it is periodic and superseded by the next
  sample, so the publisher keeps only a small in-memory buffer while disconnected and
  drops the oldest sample first (``telemetry_buffer`` in the room's config).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlite_utils

from edge.errors import OutboxError

BOOT_HISTORY = 100
DEFAULT_ARCHIVE_EVENTS = 100_000
_ROW_COLUMNS = "seq, topic, payload, qos, retain, created"


class OutboxFull(OutboxError):  # noqa: N818 - a condition, like the other edge errors
    """The disk (or the size limit) is full: nothing of the batch was written; retry later."""


@dataclass(frozen=True, slots=True)
class RequeueResult:
    """What a replay request found: rows put back to send, and seqs no longer archived."""

    first: int
    last: int
    requeued: int
    already_pending: int
    missing: int


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event waiting for its sequence number; ``render(seq)`` builds the payload."""

    machine: str
    topic: str
    render: Callable[[int], bytes]
    qos: int = 1
    retain: bool = False


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: float


@dataclass(frozen=True, slots=True)
class MachineStateRow:
    """A machine's stored state; ``seq`` is the event that led to it (0: none yet)."""

    machine: str
    state: str
    since: float
    door: str
    current: float
    cycle_state: str
    cycle_since: float
    cycle_started_at: float | None = None
    fault: str | None = None
    seq: int = 0
    updated: float = 0.0


class Outbox:
    """The room's outbox database at ``path`` (created if missing)."""

    def __init__(self, path: str | Path, *, archive_events: int = DEFAULT_ARCHIVE_EVENTS) -> None:
        self.path = Path(path)
        self.archive_events = archive_events
        self.archive_skipped = 0  # acknowledged rows not archived for want of space
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            conn = sqlite3.connect(str(self.path), check_same_thread=False)
            self._db = sqlite_utils.Database(conn)
            self._db.enable_wal()
            self._db.execute("PRAGMA synchronous=FULL")
            self._create_tables()
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: {exc}") from exc
        self._closed = False

    def _create_tables(self) -> None:
        db = self._db
        db.table("events").create(
            {"seq": int, "topic": str, "payload": bytes, "qos": int, "retain": int, "created": float},
            pk="seq", if_not_exists=True,
        )  # fmt: skip
        db.table("archive").create(
            {"seq": int, "topic": str, "payload": bytes, "qos": int, "retain": int, "created": float},
            pk="seq", if_not_exists=True,
        )  # fmt: skip
        db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
        db.table("boots").create({"n": int, "boot_id": str, "started_at": float}, pk="n", if_not_exists=True)
        columns: dict[str, type] = {
            name: float if name.endswith(("since", "current", "at", "updated")) else str
            for name in MachineStateRow.__dataclass_fields__
        }
        columns["seq"] = int
        db.table("machine_state").create(columns, pk="machine", if_not_exists=True)
        db.table("profiles").create({"machine": str, "payload": bytes, "updated": float}, pk="machine",
                                    if_not_exists=True)  # fmt: skip

    @contextmanager
    def _locked(self) -> Iterator[sqlite_utils.Database]:
        with self._lock:
            if self._closed:
                raise OutboxError(f"outbox {self.path} is closed")
            try:
                yield self._db
            except sqlite3.Error as exc:
                if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(exc):
                    raise OutboxFull(f"outbox {self.path}: {exc}") from exc
                raise OutboxError(f"outbox {self.path}: {exc}") from exc

    # --- writing ------------------------------------------------------------------------

    def append_events(
        self, events: Sequence[EventDraft], states: Sequence[MachineStateRow] = (), *, now: float = 0.0
    ) -> list[int]:
        """Give each event the next sequence number and store it with the new states, atomically.

        A state row whose machine has events in this batch gets the last of their numbers.
        Returns the numbers assigned, in order.
        """
        with self._locked() as db, db.atomic():
            seq = self._last_seq(db)
            assigned: list[int] = []
            last_by_machine: dict[str, int] = {}
            # Plain SQL on the hot path: sqlite-utils' insert/upsert read the table's schema on
            # every call, which tripled the time from a door edge to a durable event.
            for draft in events:
                seq += 1
                db.execute(
                    "INSERT INTO events (seq, topic, payload, qos, retain, created) VALUES (?, ?, ?, ?, ?, ?)",
                    [seq, draft.topic, draft.render(seq), draft.qos, int(draft.retain), now],
                )
                assigned.append(seq)
                last_by_machine[draft.machine] = seq
            if events:
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_seq', ?)", [str(seq)])
            for state in states:
                row = _state_dict(replace(state, seq=last_by_machine.get(state.machine, state.seq), updated=now))
                columns = ", ".join(row)
                db.execute(
                    f"INSERT OR REPLACE INTO machine_state ({columns}) VALUES ({', '.join('?' * len(row))})",
                    list(row.values()),
                )
            return assigned

    def save_states(self, states: Sequence[MachineStateRow], *, now: float = 0.0) -> None:
        """Store machine states without events (the first state of a new machine)."""
        self.append_events((), states, now=now)

    def record_boot(self, boot_id: str, started_at: float) -> None:
        """Remember this boot (the last ``BOOT_HISTORY`` are kept for diagnosis)."""
        with self._locked() as db, db.atomic():
            db.table("boots").insert({"boot_id": boot_id, "started_at": started_at})
            db.execute(
                "DELETE FROM boots WHERE n NOT IN (SELECT n FROM boots ORDER BY n DESC LIMIT ?)",
                [BOOT_HISTORY],
            )

    # --- reading and acknowledging --------------------------------------------------------

    def pending(self, limit: int = 100, *, after: int = 0) -> list[OutboxRow]:
        """Undelivered rows in sequence order, the first ``limit`` with ``seq > after``."""
        with self._locked() as db:
            rows = db.execute(
                "SELECT seq, topic, payload, qos, retain, created FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                [after, limit],
            ).fetchall()
        return [OutboxRow(r[0], r[1], bytes(r[2]), r[3], bool(r[4]), r[5]) for r in rows]

    def ack(self, seq: int) -> None:
        """The broker has the row: move it to the archive and trim the archive, atomically.

        With the disk full, the row is deleted without its archive copy (counted in
        ``archive_skipped``): a delivered event must not stay pending and be sent again
        forever, and deleting frees the space new events need.
        """
        trim = "DELETE FROM archive WHERE seq <= (SELECT max(seq) FROM archive) - ?"
        try:
            with self._locked() as db, db.atomic():
                db.execute(f"INSERT OR REPLACE INTO archive SELECT {_ROW_COLUMNS} FROM events WHERE seq = ?", [seq])
                db.execute("DELETE FROM events WHERE seq = ?", [seq])
                db.execute(trim, [self.archive_events])  # by seq: an indexed range, not a count of 100k rows
        except OutboxFull:
            with self._locked() as db:
                db.execute("DELETE FROM events WHERE seq = ?", [seq])
            self.archive_skipped += 1

    def requeue(self, first: int, last: int | None = None) -> RequeueResult:
        """Put archived events ``first..last`` (None: the newest) back to be sent, unchanged.

        The rows keep their seq, topic and payload (boot id included), so the cloud's
        (room, seq) dedupe applies. Seqs still pending count as ``already_pending``;
        seqs in neither table (trimmed from the archive) as ``missing``.
        """
        with self._locked() as db, db.atomic():
            top = self._last_seq(db)
            last = top if last is None else min(last, top)
            if last < first:
                return RequeueResult(first, last, 0, 0, 0)
            span = [first, last]
            pending = db.execute("SELECT count(*) FROM events WHERE seq BETWEEN ? AND ?", span).fetchone()[0]
            moved = db.execute(
                f"INSERT OR IGNORE INTO events SELECT {_ROW_COLUMNS} FROM archive WHERE seq BETWEEN ? AND ?", span
            ).rowcount
            db.execute("DELETE FROM archive WHERE seq BETWEEN ? AND ?", span)
        missing = (last - first + 1) - moved - int(pending)
        return RequeueResult(first, last, moved, int(pending), missing)

    def depth(self) -> int:
        with self._locked() as db:
            return int(db.execute("SELECT count(*) FROM events").fetchone()[0])

    def archive_size(self) -> int:
        with self._locked() as db:
            return int(db.execute("SELECT count(*) FROM archive").fetchone()[0])

    def last_acked(self) -> int:
        """The newest seq the broker acknowledged (0: none archived)."""
        with self._locked() as db:
            return int(db.execute("SELECT max(seq) FROM archive").fetchone()[0] or 0)

    def limit_size(self, max_bytes: int | None) -> None:
        """Cap the database file (SQLite ``max_page_count``; None: no cap).

        Lets an operator keep the outbox off a shared card's last megabytes, and lets
        tests reach the disk-full path without filling a disk.
        """
        with self._locked() as db:
            page = int(db.execute("PRAGMA page_size").fetchone()[0])
            pages = 4_294_967_294 if max_bytes is None else max(1, max_bytes // page)
            db.execute(f"PRAGMA max_page_count = {int(pages)}")

    def put_meta(self, key: str, value: str) -> None:
        with self._locked() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    def get_meta(self, key: str) -> str | None:
        with self._locked() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def last_seq(self) -> int:
        with self._locked() as db:
            return self._last_seq(db)

    def machine_states(self) -> dict[str, MachineStateRow]:
        with self._locked() as db:
            rows = list(db.table("machine_state").rows)
        return {row["machine"]: MachineStateRow(**row) for row in rows}

    def save_profiles(self, profiles: Mapping[str, bytes], *, now: float = 0.0) -> None:
        """Store machines' learned profiles (``MachineProfile`` JSON by machine id), atomically."""
        with self._locked() as db, db.atomic():
            for machine, payload in profiles.items():
                db.execute(
                    "INSERT OR REPLACE INTO profiles (machine, payload, updated) VALUES (?, ?, ?)",
                    [machine, bytes(payload), now],
                )

    def profiles(self) -> dict[str, bytes]:
        """Every stored profile: machine id -> its ``MachineProfile`` JSON."""
        with self._locked() as db:
            rows = db.execute("SELECT machine, payload FROM profiles ORDER BY machine").fetchall()
        return {str(r[0]): bytes(r[1]) for r in rows}

    def boots(self) -> list[tuple[str, float]]:
        with self._locked() as db:
            return [(r["boot_id"], r["started_at"]) for r in db.table("boots").rows_where(order_by="n")]

    @staticmethod
    def _last_seq(db: sqlite_utils.Database) -> int:
        row = db.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
        stored = int(row[0]) if row else 0
        top = db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
        return max(stored, int(top))

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _state_dict(row: MachineStateRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in MachineStateRow.__dataclass_fields__}
