"""The room's retained ``summary`` for dashboards, republished only when it actually changed.

After every transaction that touched a room (a machine's view, or a message to the room:
claims, waitlists, faults, service state, sensor state, the room going on- or offline)
``render_summaries`` builds that room's summary inside the transaction. ``SummaryBook``
remembers, per room, a digest of the last summary this process published (without its
timestamp), so an event that changes nothing a dashboard shows publishes nothing. The
book lives in memory: a restarted cloud publishes every room's summary once
(``all_summaries``), which also restores them on a broker that lost its retained messages.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from cloud.domain.machines.schemas import MachinePublic
from cloud.domain.machines.usage import Usage
from cloud.domain.machines.views import MachineView, views_of
from cloud.platform.hub import Audience, Message
from cloud.platform.storage import repository as repo
from cloud.platform.storage.repository import RoomRecord
from cloud.platform.storage.tables import machines, rooms, waitlist_entries
from kywash.contract import KindSummary, MachineKind, RoomSummary, room_topic

LIVE_ENTRY = ("waiting", "offered")


@dataclass(frozen=True, slots=True)
class SummaryOut:
    """One room's summary, ready to publish if its digest differs from the last one published."""

    key: tuple[str, str]
    topic: str
    payload: bytes
    digest: str


class SummaryBook:
    """Per room, the digest of the summary last published by this process, and when it was built.

    With ``every_s`` a room's summary is built at most that often: the first change in a
    quiet room is built at once (as in a transaction's delivery), later ones within
    ``every_s`` leave the room *pending*, and ``take_pending`` hands it back once the wait is
    over (``Ingest`` flushes it) — so a burst of events builds a busy room's summary about
    once per ``every_s`` instead of once per batch, and the last change is never lost.
    ``monotonic`` is the clock of that wait (a fake in tests).
    """

    def __init__(self, every_s: float = 0.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self._monotonic = monotonic
        self._digests: dict[tuple[str, str], str] = {}
        self._built_at: dict[int, float] = {}
        self._pending: set[int] = set()
        self._lock = threading.Lock()

    def due(self, room_ids: Iterable[int]) -> list[int]:
        """Which of ``room_ids`` to build now; the others become pending."""
        rooms = sorted(set(room_ids))
        if self.every_s <= 0:
            return rooms
        now, built = self._monotonic(), []
        with self._lock:
            for room_id in rooms:
                if now - self._built_at.get(room_id, -math.inf) >= self.every_s:
                    self._built_at[room_id] = now
                    self._pending.discard(room_id)
                    built.append(room_id)
                else:
                    self._pending.add(room_id)
        return built

    @property
    def has_pending(self) -> bool:
        with self._lock:
            return bool(self._pending)

    def take_pending(self) -> list[int]:
        """The pending rooms whose wait is over (no longer pending: the caller builds them now)."""
        now = self._monotonic()
        with self._lock:
            ready = sorted(r for r in self._pending if now - self._built_at.get(r, -math.inf) >= self.every_s)
            for room_id in ready:
                self._pending.discard(room_id)
                self._built_at[room_id] = now
        return ready

    def claim(self, summary: SummaryOut) -> bool:
        """True (and remembered) if ``summary`` differs from the last one published for its room."""
        with self._lock:
            if self._digests.get(summary.key) == summary.digest:
                return False
            self._digests[summary.key] = summary.digest
            return True

    def forget(self) -> None:
        """Publish every room's next summary (after a reconnect, say)."""
        with self._lock:
            self._digests.clear()


def room_summary(
    room: RoomRecord, views: Sequence[MachinePublic], waitlists: dict[str, int], now: datetime
) -> RoomSummary:
    def kind(k: MachineKind) -> KindSummary:
        mine = [v for v in views if v.kind is k]
        free = tuple(v.id for v in mine if v.usage is Usage.FREE)
        return KindSummary(total=len(mine), free=len(free), free_machines=free, waitlist=waitlists.get(k.value, 0))

    return RoomSummary(
        site=room.site,
        room=room.room,
        online=room.status == "online",
        washers=kind(MachineKind.WASHER),
        dryers=kind(MachineKind.DRYER),
        open_faults=sum(v.open_faults for v in views),
        out_of_service=tuple(v.id for v in views if v.out_of_service),
        ts=now,
    )


def summary_out(summary: RoomSummary) -> SummaryOut:
    body = summary.model_dump_json(by_alias=True, exclude={"ts"})
    return SummaryOut(
        (summary.site, summary.room),
        room_topic(summary.site, summary.room, "summary"),
        summary.to_bytes(),
        hashlib.sha256(body.encode()).hexdigest(),
    )


def summaries_for(
    conn: Connection, room_ids: Iterable[int], now: datetime, views: Sequence[MachineView] | None = None
) -> list[SummaryOut]:
    """The summaries of ``room_ids`` as the database has them now: one query for the rooms, one
    for the waitlists, and the rooms' machine views (``views``, when the caller has rendered
    every machine of those rooms already, as a batch's delivery has)."""
    ids = sorted(set(room_ids))
    if not ids:
        return []
    waits: dict[int, dict[str, int]] = {}
    rows = conn.execute(
        select(waitlist_entries.c.room_id, waitlist_entries.c.kind, func.count())
        .where(waitlist_entries.c.room_id.in_(ids), waitlist_entries.c.status.in_(LIVE_ENTRY))
        .group_by(waitlist_entries.c.room_id, waitlist_entries.c.kind)
    )
    for room_id, kind, count in rows:
        waits.setdefault(int(room_id), {})[str(kind)] = int(count)
    by_room: dict[tuple[str, str], list[MachinePublic]] = {}
    for view in views_of(conn, room_ids=ids) if views is None else views:
        by_room.setdefault((view.public.site, view.public.room), []).append(view.public)
    return [
        summary_out(room_summary(room, by_room.get((room.site, room.room), []), waits.get(room.id, {}), now))
        for room in repo.rooms_by_id(conn, ids)
    ]


def touched_rooms(
    conn: Connection, messages: Iterable[tuple[Message, Audience]], machine_pks: Sequence[int] = ()
) -> list[int]:
    """Rooms a transaction changed: every room it has a message for (claims', waitlists', faults'
    and status changes' messages are addressed to their room) and the rooms of ``machine_pks``."""
    names = {(a.site, a.room) for _, a in messages if a.site is not None and a.room is not None}
    found: set[int] = set()
    if machine_pks:
        found.update(
            int(r) for r in conn.execute(select(machines.c.room_id).where(machines.c.id.in_(machine_pks))).scalars()
        )
    if names:
        for room_id, site, room in conn.execute(select(rooms.c.id, rooms.c.site, rooms.c.room)):
            if (site, room) in names:
                found.add(int(room_id))
    return sorted(found)


def all_summaries(conn: Connection, now: datetime) -> list[SummaryOut]:
    return summaries_for(conn, [int(r) for r in conn.execute(select(rooms.c.id)).scalars()], now)
