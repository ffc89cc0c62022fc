"""A room's event sequence: store each edge event once, notice gaps, ask the edge to replay.

Per room (``room_sequences``) the cloud keeps the *contiguous* seq — the highest N such that
every seq in ``(base_seq, N]`` has been applied — and the highest seq seen. Any seq between
them that is not stored is missing; the missing seqs form the open gaps. ``base_seq`` is 0:
an edge's sequence starts at 1, so events it published before the cloud first subscribed
(the cloud subscribes to machine topics only after room info and status) are missing
too, and are asked for like any other gap. A cloud that first meets an edge with a long
history thus asks once for everything the edge still archives; seqs the edge has already
trimmed stay listed as gaps, asked for again at most every ``replay_retry_max_s``.

Replay. Events may simply arrive out of order, so a gap is not acted on at once: when it
has stayed open ``replay_after_s``, one ``ReplayRequest(from=first missing, to=last
missing)`` goes to the room's ``replay`` topic (QoS 1, not retained), published after the
commit through the cloud's MQTT connection. While gaps stay open the request is repeated,
first after ``replay_retry_s``, then after twice as long each time up to
``replay_retry_max_s``: the edge keeps a bounded archive, and a gap it can no longer fill
must not cost a replay of the whole range every minute forever. The deadline is stored (``gap_since``,
``replay_next_at``) and fired by ``cloud/processes/timers.py`` on any replica; a conditional
update moving ``replay_next_at`` decides which replica publishes, so each request goes out
once. Replayed events are idempotent on (room, epoch, seq) and close the gaps as they land.

A wiped edge (policy: a new *epoch*). Every event carries the boot id of the agent run
that created it, and a replay carries the original one. So an event whose (room, seq) is
already stored with a *different* boot id cannot be a redelivery: the edge's sequence was
reset (its SD card was replaced, its outbox lost) and it counts from 1 again. Such an event
starts a new epoch of the room: it is logged as a WARNING, counted
(``kywash_ingest_seq_resets_total``), shown by the events API, and stored under the new
epoch — ``edge_events`` is unique on (room, epoch, seq) — with the room's contiguous seq
starting again from 0 and its machines' ``last_seq`` set back to 0, so the new run moves
machines again instead of being dropped as duplicates forever. A late event from a boot
that belongs to an older epoch is stored in that epoch (kind ``old_epoch``) and changes
nothing. Limitation: a reset is noticed at the first seq that collides with a stored one;
new-run events on seqs the cloud never stored are taken as the old run's until then.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, func, or_, select, update

from cloud.platform.storage.repository import insert_ignoring_duplicates
from cloud.platform.storage.tables import edge_events, machines, room_sequences, rooms
from cloud.platform.unit_of_work import Tx
from kywash.contract import MachineEvent, ReplayRequest, room_topic

log = logging.getLogger(__name__)

Range = tuple[int, int]
MAX_GAPS_SHOWN = 100
"""Open gaps listed by ``sequence_view`` (a room that lost everything still answers quickly)."""


# --- pure bookkeeping ---------------------------------------------------------------------


def advance(contiguous: int, seqs: Iterable[int]) -> int:
    """The contiguous seq after ``seqs`` (stored seqs above ``contiguous``, ascending)."""
    for seq in seqs:
        if seq == contiguous + 1:
            contiguous = seq
        elif seq > contiguous + 1:
            break
    return contiguous


def missing_ranges(contiguous: int, seqs: Iterable[int], limit: int | None = None) -> list[Range]:
    """The gaps ``[(from, to), ...]`` (inclusive) between ``contiguous`` and the highest of
    ``seqs`` (stored seqs above ``contiguous``, ascending); at most ``limit`` of them."""
    gaps: list[Range] = []
    expected = contiguous + 1
    for seq in seqs:
        if seq > expected:
            gaps.append((expected, seq - 1))
            if limit is not None and len(gaps) >= limit:
                break
        expected = max(expected, seq + 1)
    return gaps


def replay_range(gaps: list[Range]) -> Range | None:
    """What one replay request asks for: from the first missing seq to the last."""
    return (gaps[0][0], gaps[-1][1]) if gaps else None


# --- storage ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoomSequence:
    room_id: int
    epoch: int
    base_seq: int
    contiguous_seq: int
    max_seq: int
    gap_since: datetime | None
    replay_next_at: datetime | None
    last_replay_at: datetime | None
    replay_requests: int
    gap_requests: int
    seq_resets: int
    last_reset_at: datetime | None
    last_reset_boot_id: str | None


SEQUENCE_COLUMNS = [room_sequences.c[field.name] for field in fields(RoomSequence)]

PlacementKind = Literal["new", "duplicate", "old_epoch"]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an event went: ``new`` (stored now: apply it), ``duplicate`` (already stored),
    ``old_epoch`` (a late event of an earlier run of the sequence: stored there, not applied)."""

    kind: PlacementKind
    epoch: int
    seq_reset: bool = False
    """This event started a new epoch (the edge's sequence was reset)."""


_SEQUENCE = select(*SEQUENCE_COLUMNS).where(room_sequences.c.room_id == bindparam("sequence_room"))
_LOCKED_SEQUENCE = _SEQUENCE.with_for_update()
_MOVE_SEQUENCE = update(room_sequences).where(room_sequences.c.room_id == bindparam("sequence_room"))
"""Built once (the columns set come with each execution): ingest runs them for every event."""


def get_sequence(conn: Connection, room_id: int, *, lock: bool = False) -> RoomSequence | None:
    row = conn.execute(_LOCKED_SEQUENCE if lock else _SEQUENCE, {"sequence_room": room_id}).first()
    return RoomSequence(**{column.name: row._mapping[column] for column in SEQUENCE_COLUMNS}) if row else None


def _locked_sequence(conn: Connection, room_id: int) -> RoomSequence:
    """The room's sequence row, locked until commit (replicas take turns per room); created
    on a room's first event, counting from 0 whatever that event's seq: events an edge sent
    before the cloud subscribed (or while it was being installed) are a gap like any other,
    and are replayed."""
    sequence = get_sequence(conn, room_id, lock=True)
    if sequence is not None:
        return sequence
    insert_ignoring_duplicates(
        conn,
        room_sequences,
        {"room_id": room_id, "base_seq": 0, "contiguous_seq": 0, "max_seq": 0},
        ("room_id",),
    )
    sequence = get_sequence(conn, room_id, lock=True)
    assert sequence is not None
    return sequence


def store_event(conn: Connection, room_id: int, event: MachineEvent, now: datetime) -> Placement:
    """Store ``event`` once in the right epoch and move the room's sequence (see the module doc)."""
    sequence = _locked_sequence(conn, room_id)
    epoch = sequence.epoch
    if epoch > 0:  # after a reset: an event of a boot from an older run belongs to that run
        boot_epoch = conn.scalar(
            select(func.max(edge_events.c.epoch)).where(
                edge_events.c.room_id == room_id, edge_events.c.boot_id == event.boot_id
            )
        )
        if boot_epoch is not None and boot_epoch < epoch:
            inserted = _insert(conn, room_id, boot_epoch, event, now)
            return Placement("old_epoch" if inserted else "duplicate", boot_epoch)
    if _insert(conn, room_id, epoch, event, now):
        _track(conn, sequence, event.seq, now)
        return Placement("new", epoch)
    stored_boot = conn.scalar(
        select(edge_events.c.boot_id).where(
            edge_events.c.room_id == room_id, edge_events.c.epoch == epoch, edge_events.c.seq == event.seq
        )
    )
    if stored_boot is None or stored_boot == event.boot_id:
        return Placement("duplicate", epoch)  # a redelivery (or another replica's, a moment ago)
    sequence = _start_epoch(conn, sequence, event, stored_boot, now)
    if not _insert(conn, sequence.room_id, sequence.epoch, event, now):
        return Placement("duplicate", sequence.epoch)
    _track(conn, sequence, event.seq, now)
    return Placement("new", sequence.epoch, seq_reset=True)


def _insert(conn: Connection, room_id: int, epoch: int, event: MachineEvent, now: datetime) -> bool:
    return insert_ignoring_duplicates(
        conn,
        edge_events,
        {
            "room_id": room_id,
            "epoch": epoch,
            "seq": event.seq,
            "boot_id": event.boot_id,
            "machine_id": event.machine,
            "type": event.type.value,
            "ts": event.ts,
            "payload": event.model_dump(mode="json", by_alias=True),
            "received_at": now,
        },
        ("room_id", "epoch", "seq"),
    )


def _start_epoch(
    conn: Connection, sequence: RoomSequence, event: MachineEvent, stored_boot: str | None, now: datetime
) -> RoomSequence:
    """The edge's sequence was reset: count from 0 again in a new epoch, and let the new run
    move the room's machines (their ``last_seq`` came from the old run)."""
    epoch = sequence.epoch + 1
    log.warning(
        "room %d: event seq %d from boot %s, but seq %d is stored from boot %s: the edge's sequence "
        "was reset (wiped edge?); starting epoch %d",
        sequence.room_id,
        event.seq,
        event.boot_id,
        event.seq,
        stored_boot,
        epoch,
    )
    values: dict[str, Any] = {
        "epoch": epoch,
        "base_seq": 0,
        "contiguous_seq": 0,
        "max_seq": 0,
        "gap_since": None,
        "replay_next_at": None,
        "gap_requests": 0,
        "seq_resets": sequence.seq_resets + 1,
        "last_reset_at": now,
        "last_reset_boot_id": event.boot_id,
    }
    conn.execute(_MOVE_SEQUENCE, {"sequence_room": sequence.room_id, **values})
    conn.execute(update(machines).where(machines.c.room_id == sequence.room_id).values(last_seq=0))
    fresh = get_sequence(conn, sequence.room_id)
    assert fresh is not None
    return fresh


def _seqs_above(conn: Connection, room_id: int, epoch: int, seq: int) -> list[int]:
    rows = conn.execute(
        select(edge_events.c.seq)
        .where(edge_events.c.room_id == room_id, edge_events.c.epoch == epoch, edge_events.c.seq > seq)
        .order_by(edge_events.c.seq)
    )
    return [int(row.seq) for row in rows]


def _track(conn: Connection, sequence: RoomSequence, seq: int, now: datetime) -> None:
    """Move the contiguous seq past ``seq`` (just stored); open or close the gap deadline."""
    contiguous, max_seq = sequence.contiguous_seq, max(sequence.max_seq, seq)
    if seq == contiguous + 1:
        if max_seq == seq:
            contiguous = seq  # the usual case: the next event, nothing missing
        else:
            contiguous = advance(contiguous, _seqs_above(conn, sequence.room_id, sequence.epoch, contiguous))
    gap_open = max_seq > contiguous
    values: dict[str, Any] = {
        "contiguous_seq": contiguous,
        "max_seq": max_seq,
        "gap_since": (sequence.gap_since or now) if gap_open else None,
        "replay_next_at": sequence.replay_next_at if gap_open else None,
        "gap_requests": sequence.gap_requests if gap_open else 0,
    }
    if gap_open and sequence.gap_since is None:
        log.info("room %d: events %d..%d missing; waiting for them", sequence.room_id, contiguous + 1, seq - 1)
    conn.execute(_MOVE_SEQUENCE, {"sequence_room": sequence.room_id, **values})


def open_gaps(conn: Connection, sequence: RoomSequence, limit: int | None = MAX_GAPS_SHOWN) -> list[Range]:
    if sequence.max_seq <= sequence.contiguous_seq:
        return []
    seqs = _seqs_above(conn, sequence.room_id, sequence.epoch, sequence.contiguous_seq)
    return missing_ranges(sequence.contiguous_seq, seqs, limit)


# --- the replay deadline ------------------------------------------------------------------


def _due(now: datetime, after_s: float) -> Any:
    return (
        room_sequences.c.gap_since.is_not(None),
        room_sequences.c.gap_since <= now - timedelta(seconds=after_s),
        or_(room_sequences.c.replay_next_at.is_(None), room_sequences.c.replay_next_at <= now),
    )


def due_replays(conn: Connection, now: datetime, after_s: float) -> list[int]:
    """Rooms whose gap has been open ``after_s`` and whose next request is due."""
    rows = conn.execute(select(room_sequences.c.room_id).where(*_due(now, after_s)).order_by(room_sequences.c.room_id))
    return [int(row.room_id) for row in rows]


def retry_delay_s(requests_sent: int, retry_s: float, retry_max_s: float) -> float:
    """How long to wait after the ``requests_sent``-th request for the same open gaps."""
    return float(min(retry_s * 2.0 ** max(requests_sent - 1, 0), max(retry_max_s, retry_s)))


def request_replay(tx: Tx, room_id: int) -> bool:
    """Ask the room's edge to replay its gaps, unless another replica just did (or they
    closed); True if a request was published. The next one is due after ``retry_delay_s``."""
    settings, now, conn = tx.settings, tx.now, tx.conn
    sequence = get_sequence(conn, room_id, lock=True)
    if sequence is None:
        return False
    delay = retry_delay_s(sequence.gap_requests + 1, settings.replay_retry_s, settings.replay_retry_max_s)
    claimed = conn.execute(
        update(room_sequences)
        .where(room_sequences.c.room_id == room_id, *_due(now, settings.replay_after_s))
        .values(
            replay_next_at=now + timedelta(seconds=delay),
            last_replay_at=now,
            replay_requests=room_sequences.c.replay_requests + 1,
            gap_requests=room_sequences.c.gap_requests + 1,
        )
    ).rowcount
    if claimed != 1:  # another replica fired it first (the conditional update decides)
        return False
    asked = replay_range(open_gaps(conn, sequence, limit=None))
    room = conn.execute(select(rooms.c.site, rooms.c.room).where(rooms.c.id == room_id)).first()
    if asked is None or room is None:  # the gaps closed meanwhile: nothing to ask
        conn.execute(
            update(room_sequences)
            .where(room_sequences.c.room_id == room_id)
            .values(
                gap_since=None,
                replay_next_at=None,
                replay_requests=sequence.replay_requests,
                gap_requests=0,
                last_replay_at=sequence.last_replay_at,
            )
        )
        return False
    request = ReplayRequest(from_seq=asked[0], to_seq=asked[1], reason="gap", ts=now)
    tx.changes.publish(room_topic(room.site, room.room, "replay"), request.to_bytes(), retain=False)
    log.info(
        "asked %s/%s to replay events %d..%d (request %d for these gaps; next in %.0f s if still open)",
        room.site,
        room.room,
        asked[0],
        asked[1],
        sequence.gap_requests + 1,
        delay,
    )
    return True
