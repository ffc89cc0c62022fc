"""Turn stored rooms and machines into what students see, and choose which room is meant.

A machine in a room whose edge is offline is shown as ``unknown`` since the room went
silent — never as free — because the sensors can no longer vouch for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection

from cloud.domain.machines import extras
from cloud.domain.machines.extras import MachineExtras
from cloud.domain.machines.schemas import UNKNOWN, ClaimPublic, MachinePublic, MachinesPublic, RoomPublic
from cloud.domain.machines.usage import Usage, usage_of
from cloud.platform.errors import InvalidInput, NotFound
from cloud.platform.storage import repository as repo
from cloud.platform.storage.repository import MachineRecord, RoomRecord
from cloud.platform.texts import text
from kywash.contract import MachineKind


@dataclass(frozen=True, slots=True)
class RoomChoice:
    """The ``?site=&room=`` of a request, and the configured default room."""

    site: str | None = None
    room: str | None = None
    default_site: str | None = None
    default_room: str | None = None


def room_public(room: RoomRecord) -> RoomPublic:
    return RoomPublic(
        site=room.site,
        room=room.room,
        status=room.status,
        status_since=room.status_since,
        last_seen=room.last_seen,
        agent_version=room.agent_version,
        online=room.status == "online",
    )


@dataclass(frozen=True, slots=True)
class MachineView:
    """A machine as anyone sees it, plus who holds its claim and hold (never shown to others)."""

    pk: int
    public: MachinePublic
    claim_user_id: int | None = None
    hold_user_id: int | None = None
    claim: ClaimPublic | None = None
    _json: dict[str, Any] = field(default_factory=dict, compare=False)

    def for_viewer(self, user_id: int | None) -> MachinePublic:
        """The view of ``user_id``: "you" on their own claim, "reserved for you" on their hold."""
        mine = user_id is not None and user_id == self.claim_user_id
        held = user_id is not None and user_id == self.hold_user_id
        if not (mine or held):
            return self.public
        update: dict[str, Any] = {"reserved_for_me": held}
        if mine:
            update.update(mine=True, claim=self.claim, in_use_by="you")
        return self.public.model_copy(update=update)

    def json_for(self, user_id: int | None) -> dict[str, Any]:
        """``for_viewer`` as JSON, computed once for everyone who is neither claimant nor holder."""
        if user_id is not None and user_id in (self.claim_user_id, self.hold_user_id):
            return self.for_viewer(user_id).model_dump(mode="json")
        if not self._json:
            self._json.update(self.public.model_dump(mode="json"))
        return self._json


def machine_view(room: RoomRecord, machine: MachineRecord, extra: MachineExtras | None = None) -> MachineView:
    extra = extra or MachineExtras()
    offline = room.status == "offline"
    known = not offline and machine.state is not None
    usage = usage_of(
        machine.state if known else None,
        room_online=not offline,
        out_of_service=extra.out_of_service,
        claim_status=extra.claim.status if extra.claim else None,
        held=extra.hold_user_id is not None,
    )
    in_use_by: Any = None
    if usage in (Usage.IN_USE, Usage.FINISHED, Usage.CLAIMED):
        in_use_by = "someone" if extra.claim_user_id is not None else ("unknown" if usage is Usage.IN_USE else None)
    public = MachinePublic(
        site=room.site,
        room=room.room,
        id=machine.machine_id,
        kind=MachineKind(machine.kind),
        number=machine.number,
        label=machine.label,
        state=machine.state if known and machine.state else UNKNOWN,
        since=machine.since if known else (room.status_since if offline else None),
        door=machine.door if known else None,
        current_a=machine.current_a if known else None,
        observed_at=extra.observed_at,
        unknown_since=room.status_since if offline else None,
        room_online=room.status == "online",
        usage=usage,
        in_use_by=in_use_by,
        hold_until=extra.hold_until if usage is Usage.RESERVED else None,
        cycle_started_at=extra.cycle_started_at if usage is Usage.IN_USE else None,
        expected_end=extra.expected_end if usage is Usage.IN_USE else None,
        expected_end_source=extra.expected_end_source if usage is Usage.IN_USE else None,
        open_faults=extra.open_faults,
        out_of_service=extra.out_of_service,
        service_reason=extra.service_reason,
        service_since=extra.service_since,
        service_eta=extra.service_eta if extra.out_of_service else None,
        service_sync=_sync(extra.desired_revision, extra.applied_revision),
        desired_revision=extra.desired_revision,
        applied_revision=extra.applied_revision,
        applied_at=extra.applied_at,
    )
    return MachineView(machine.id, public, extra.claim_user_id, extra.hold_user_id, extra.claim)


def _sync(desired: int, applied: int) -> Literal["none", "pending", "applied"]:
    if desired == 0:
        return "none"
    return "applied" if applied >= desired else "pending"


def choose_room(conn: Connection, choice: RoomChoice) -> RoomRecord | None:
    """The room a request means; None when nothing is registered yet and none was named."""
    named = choice.site is not None or choice.room is not None
    if not named and choice.default_site and choice.default_room:
        return repo.find_room(conn, choice.default_site, choice.default_room)
    candidates = repo.list_rooms(conn, choice.site, choice.room)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        if named:
            raise NotFound(text("error.room.no_match", site=choice.site or "*", room=choice.room or "*"))
        return None
    names = ", ".join(f"{r.site}/{r.room}" for r in candidates[:10])
    raise InvalidInput(text("error.room.several_match", count=len(candidates), names=names))


def machines_in(conn: Connection, room: RoomRecord | None, viewer_id: int | None = None) -> MachinesPublic:
    return listing([] if room is None else views_of(conn, room_ids=[room.id]), viewer_id)


def listing(views: Sequence[MachineView], viewer_id: int | None, timezone: str | None = None) -> MachinesPublic:
    """A room's machines as ``viewer_id`` sees them, split into washers and dryers."""
    shown = [view.for_viewer(viewer_id) for view in views]
    return MachinesPublic(
        washers=[m for m in shown if m.kind is MachineKind.WASHER],
        dryers=[m for m in shown if m.kind is MachineKind.DRYER],
        timezone=timezone,
    )


def views_of(
    conn: Connection,
    *,
    room_ids: Sequence[int] | None = None,
    machine_ids: Sequence[str] | None = None,
    machine_pks: Sequence[int] | None = None,
) -> list[MachineView]:
    rows = extras.machines_with_extras(conn, room_ids=room_ids, machine_ids=machine_ids, machine_pks=machine_pks)
    return [machine_view(room, machine, extra) for room, machine, extra in rows]


def machine_views(conn: Connection, room_id: int, machine_ids: list[str] | None = None) -> list[MachinePublic]:
    return [view.public for view in views_of(conn, room_ids=[room_id], machine_ids=machine_ids)]


def find_view(conn: Connection, room: RoomRecord | None, kind: MachineKind, number: int) -> MachineView:
    found = [] if room is None else views_of(conn, room_ids=[room.id])
    for view in found:
        if view.public.kind is kind and view.public.number == number:
            return view
    said = text(f"kind.{kind.value}")
    if room is None:
        raise NotFound(text("error.machine.no_such_number", kind=said, number=number), code="no_such_machine")
    missing = text("error.machine.no_such_number_in", kind=said, number=number, site=room.site, room=room.room)
    raise NotFound(missing, code="no_such_machine")


def find_machine(
    conn: Connection, room: RoomRecord | None, kind: MachineKind, number: int, viewer_id: int | None = None
) -> MachinePublic:
    return find_view(conn, room, kind, number).for_viewer(viewer_id)


def list_rooms(conn: Connection, site: str | None = None, room: str | None = None) -> list[RoomPublic]:
    return [room_public(r) for r in repo.list_rooms(conn, site, room)]


def room_view(conn: Connection, room_id: int) -> RoomPublic | None:
    room = repo.get_room(conn, room_id)
    return room_public(room) if room else None


def snapshot(
    conn: Connection, site: str | None = None, room: str | None = None
) -> tuple[list[RoomPublic], list[MachineView]]:
    """Every room (and its machines) matching the filter, for a WebSocket client's first message."""
    records = repo.list_rooms(conn, site, room)
    views = views_of(conn, room_ids=[r.id for r in records]) if records else []
    return [room_public(r) for r in records], views
