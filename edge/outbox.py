"""The durable outbox: every event is on disk, with its machine's new state, before it is sent.

One SQLite database per room (WAL, ``synchronous=FULL``, through sqlite-utils):

* ``events`` — the messages still to deliver, keyed by the room's sequence number.
* ``machine_state`` — each machine's last state, so a restarted agent restores its
  detectors and republishes the retained state messages.
* ``meta`` — the last sequence number handed out (never reused, even after the rows
  are acknowledged and deleted) and ``boots``, the history of agent boot ids.

``append_events`` assigns sequence numbers and writes the event rows and the state rows
in one transaction: a crash leaves either both or neither. The publisher reads
``pending`` in order and calls ``ack`` once the broker confirmed a row (PUBACK).
One connection, guarded by a lock, is shared by the agent's threads.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlite_utils

from edge.errors import OutboxError

BOOT_HISTORY = 100


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

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
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
        db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
        db.table("boots").create({"n": int, "boot_id": str, "started_at": float}, pk="n", if_not_exists=True)
        columns: dict[str, type] = {
            name: float if name.endswith(("since", "current", "at", "updated")) else str
            for name in MachineStateRow.__dataclass_fields__
        }
        columns["seq"] = int
        db.table("machine_state").create(columns, pk="machine", if_not_exists=True)

    @contextmanager
    def _locked(self) -> Iterator[sqlite_utils.Database]:
        with self._lock:
            if self._closed:
                raise OutboxError(f"outbox {self.path} is closed")
            try:
                yield self._db
            except sqlite3.Error as exc:
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
        """The broker has the row: delete it (its number stays used)."""
        with self._locked() as db:
            db.execute("DELETE FROM events WHERE seq = ?", [seq])

    def depth(self) -> int:
        with self._locked() as db:
            return int(db.execute("SELECT count(*) FROM events").fetchone()[0])

    def last_seq(self) -> int:
        with self._locked() as db:
            return self._last_seq(db)

    def machine_states(self) -> dict[str, MachineStateRow]:
        with self._locked() as db:
            rows = list(db.table("machine_state").rows)
        return {row["machine"]: MachineStateRow(**row) for row in rows}

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
