"""Find a room; read its applied edge events and the state of its sequence (staff audit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from cloud.domain.ingest import gaps
from cloud.domain.rooms.schemas import EdgeEventPublic, RoomEventsPublic, RoomSequencePublic, SeqResetPublic
from cloud.platform.errors import InvalidInput, NotFound
from cloud.platform.storage import repository as repo
from cloud.platform.storage.repository import RoomRecord
from cloud.platform.storage.tables import edge_events
from cloud.platform.texts import text


def find_room(conn: Connection, room: str, site: str | None) -> RoomRecord:
    """The room called ``room`` (in ``site``, when given); 404 if none, 422 if the name repeats."""
    candidates = repo.list_rooms(conn, site, room)
    if not candidates:
        if site:
            raise NotFound(
                text("error.room.not_found_in_site", room=repr(room), site=repr(site)), code="room_not_found"
            )
        raise NotFound(text("error.room.not_found", room=repr(room)), code="room_not_found")
    if len(candidates) > 1:
        sites = ", ".join(candidate.site for candidate in candidates[:10])
        raise InvalidInput(text("error.room.several_sites", room=repr(room), sites=sites))
    return candidates[0]


def sequence_public(conn: Connection, sequence: gaps.RoomSequence | None) -> RoomSequencePublic:
    """A room's sequence as staff see it, with its open gaps (an empty one before any event)."""
    if sequence is None:
        return RoomSequencePublic(
            epoch=0, contiguous_seq=0, max_seq=0, gaps=[], gap_since=None, last_replay_at=None, replay_requests=0
        )
    return RoomSequencePublic(
        epoch=sequence.epoch,
        contiguous_seq=sequence.contiguous_seq,
        max_seq=sequence.max_seq,
        gaps=gaps.open_gaps(conn, sequence),
        gap_since=sequence.gap_since,
        last_replay_at=sequence.last_replay_at,
        replay_requests=sequence.replay_requests,
    )


def room_events(
    conn: Connection, room: RoomRecord, *, after: int, limit: int, epoch: int | None = None
) -> RoomEventsPublic:
    sequence = gaps.get_sequence(conn, room.id)
    current = sequence.epoch if sequence else 0
    shown = current if epoch is None else epoch
    rows = conn.execute(
        select(edge_events)
        .where(edge_events.c.room_id == room.id, edge_events.c.epoch == shown, edge_events.c.seq > after)
        .order_by(edge_events.c.seq)
        .limit(limit + 1)
    ).all()
    items = [_event(row._mapping) for row in rows[:limit]]
    state = sequence_public(conn, sequence)
    return RoomEventsPublic(
        site=room.site,
        room=room.room,
        epoch=shown,
        current_epoch=current,
        contiguous_seq=state.contiguous_seq,
        max_seq=state.max_seq,
        gaps=state.gaps,
        last_replay_at=state.last_replay_at,
        replay_requests=state.replay_requests,
        seq_reset=SeqResetPublic(
            count=sequence.seq_resets if sequence else 0,
            last_at=sequence.last_reset_at if sequence else None,
            last_boot_id=sequence.last_reset_boot_id if sequence else None,
        ),
        items=items,
        next_after=items[-1].seq if len(rows) > limit else None,
    )


def _event(row: Any) -> EdgeEventPublic:
    payload: dict[str, Any] = row["payload"] if isinstance(row["payload"], dict) else {}
    return EdgeEventPublic(
        seq=row["seq"],
        epoch=row["epoch"],
        boot_id=row["boot_id"],
        machine=row["machine_id"],
        type=row["type"],
        state=payload.get("state"),
        door=payload.get("door"),
        current_a=payload.get("current_a"),
        reason=payload.get("reason"),
        ts=row["ts"],
        received_at=row["received_at"],
    )
