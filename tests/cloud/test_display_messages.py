"""Which hub messages reach a wall display, and as what: a table of every message the room hears."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cloud.domain.machines.schemas import ClaimPublic, MachinePublic
from cloud.domain.machines.usage import Usage
from cloud.domain.machines.views import MachineView
from cloud.processes.display_messages import DisplayTexts, display_message
from cloud.processes.live_messages import machine_message
from kywash.contract import MachineKind

T = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
CLAIM = ClaimPublic(
    id=7, status="active", category="normal", created_at=T, confirm_by=T, started_at=T, finished_at=None
)
PUBLIC = MachinePublic(
    site="north", room="laundry-1", id="washer-1", kind=MachineKind.WASHER, number=1, label=None, state="running",
    since=T, door="closed", current_a=9.5, unknown_since=None, room_online=True, usage=Usage.IN_USE,
    in_use_by="someone", expected_end=T, hold_until=T, mine=False,
)  # fmt: skip
VIEW = MachineView(pk=1, public=PUBLIC, claim_user_id=42, hold_user_id=43, claim=CLAIM)
ROOM = {"site": "north", "room": "laundry-1", "status": "offline", "status_since": "2026-01-01T08:00:00Z",
        "last_seen": "2026-01-01T07:59:00Z", "agent_version": "0.1.0", "online": False}  # fmt: skip
NAMED = {"site": "north", "room": "laundry-1", "machine": "washer-1", "kind": "washer", "number": 1}


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (machine_message(VIEW), {"type": "machine", "machine": {
            "id": "washer-1", "kind": "washer", "number": 1, "label": None, "state": "running", "usage": "in_use",
            "since": "2026-01-01T08:00:00Z", "expected_end": "2026-01-01T08:00:00Z", "unknown_since": None,
            "room_online": True, "open_faults": 0, "out_of_service": False, "service_reason": None}}),
        ({"type": "room", "room": ROOM}, {"type": "room", "room": {"site": "north", "room": "laundry-1",
            "status": "offline", "status_since": "2026-01-01T08:00:00Z", "online": False}}),
        ({"type": "waitlist", "site": "north", "room": "laundry-1", "kind": "dryer", "length": 2},
         {"type": "waitlist", "kind": "dryer", "length": 2}),
        ({"type": "waitlist", "site": "north", "room": "laundry-1", "kind": "dryer", "length": 2, "position": 1,
          "status": "waiting"}, None),  # a student's own copy
        ({"type": "fault_reported", **NAMED, "open_faults": 1, "automatic": False}, None),
        ({"type": "machine_service", **NAMED, "out_of_service": True, "reason": "belt", "since": "x"}, None),
        ({"type": "reservation_offered", **NAMED, "hold_until": "2026-01-01T08:05:00Z"}, None),
        ({"type": "cycle_finished", **NAMED, "finished_at": "2026-01-01T08:05:00Z"}, None),
        ({"type": "notification", "notification": {"id": 1}}, None),
        ({"type": "activity", "activity": {"id": 1}}, None),
        ({"type": "room", "room": {"site": "north"}}, None),  # malformed: dropped, not raised
        ({"type": "waitlist", "kind": "boiler", "length": 1}, None),
    ],
)  # fmt: skip
def test_what_a_display_sees_of_each_message(message: dict[str, Any], shown: dict[str, Any] | None) -> None:
    found = display_message(message)
    assert (found.model_dump(mode="json") if found is not None else None) == shown


def test_a_service_reason_shows_only_while_out_of_service() -> None:
    back = PUBLIC.model_copy(update={"service_reason": "old note", "out_of_service": False})
    found = display_message(machine_message(MachineView(pk=1, public=back)))
    assert found is not None and found.model_dump()["machine"]["service_reason"] is None


def test_a_message_is_turned_into_text_once() -> None:
    texts = DisplayTexts(size=2)
    message = machine_message(VIEW)
    first = texts.text(message)
    assert first is not None and texts.text(message) is first
    assert texts.serialised == 1
    assert "42" not in first and "someone" not in first
