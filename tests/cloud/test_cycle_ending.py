"""The edge's ``ending`` state, ``cycle_continued`` and its ``expected_end``, through ingest to
the API, the WebSocket, notifications and the room summary; SQLite and PostgreSQL.

``ending`` (quiet, maybe done) is in use: never free, never finished, nobody told "done".
``cycle_continued`` (current came back with the door shut after ``cycle_finished``) makes
the finished claim active again, cancels its reminders and tells the claimant; the next
``finished`` says "done" again. A replayed or duplicated message changes nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from cloud.domain.dashboards.summary import summaries_for
from cloud.domain.machines.cycle_length import USUAL_CYCLE_S
from cloud.platform.storage import repository as repo
from cloud.platform.storage.tables import claims, machines
from kywash.clock import FakeClock, to_datetime
from kywash.contract import Door, EventType, MachineState
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import T0, FakeEdge
from tests.cloud.laundry_support import Room, open_room

WASHER_1 = {"machine_type": "washer", "machine_id": 1}
RUNNING, ENDING, FINISHED = MachineState.RUNNING, MachineState.ENDING, MachineState.FINISHED


@pytest.fixture
def room(db_client: TestClient, db_feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(db_client, db_feed, edge, fake_clock)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def claimed_and_running(room: Room, category: str = "normal") -> Account:
    """Alice claims washer 1 and the edge starts it (event 1, at minute 1)."""
    alice = make_account(room.client, "100001")
    assert room.post("/machines/start", {**WASHER_1, "category": category}, alice.headers).status_code == 201
    room.sensors("washer-1", "start")
    return alice


def event(room: Room, type_: EventType, state: MachineState, minutes: float, **kw: Any) -> tuple[str, bytes]:
    current = 0.0 if state in (ENDING, FINISHED) else 9.5
    return room.edge.event("washer-1", type_, state, minutes=minutes, door=Door.CLOSED, current_a=current, **kw)


def free_washers(room: Room) -> int:
    state: Any = room.client.app.state.cloud  # type: ignore[attr-defined]
    with state.engine.connect() as conn:
        found = repo.find_room(conn, room.edge.site, room.edge.room)
        assert found is not None
        (summary,) = summaries_for(conn, [found.id], to_datetime(state.clock.now()))
    return int(json.loads(summary.payload)["washers"]["free"])


def claim_row(room: Room) -> Any:
    engine = room.client.app.state.cloud.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return conn.execute(select(claims).order_by(claims.c.id.desc()).limit(1)).one()


# --- expected_end ---------------------------------------------------------------------------


def test_the_edges_expected_end_is_shown_to_everyone_not_only_the_claimant(room: Room) -> None:
    alice = claimed_and_running(room, "extra_5")
    bob = make_account(room.client, "100002")
    started, end = at(0.5), at(48)  # the edge's profile, the claim's 5 minutes included
    room.feed(
        room.edge.state("washer-1", RUNNING, minutes=1, current_a=9.5, cycle_started_at=started, expected_end=end)
    )

    for headers in (bob.headers, {}):
        seen = room.machine("washer", 1, headers)
        assert (seen["usage"], seen["claim"], seen["expected_end_source"]) == ("in_use", None, "edge")
        assert (when(seen["expected_end"]), when(seen["cycle_started_at"])) == (end, started)
    mine = room.machine("washer", 1, alice.headers)
    assert when(mine["claim"]["expected_end"]) == when(mine["expected_end"]) == end  # the edge's word wins

    with room.client.websocket_connect("/api/ws", headers=bob.headers) as ws:
        snapshot = ws.receive_json()
        washer = next(m for m in snapshot["machines"] if m["id"] == "washer-1")
        assert (when(washer["expected_end"]), washer["claim"]) == (end, None)
        later = at(50)
        room.feed(
            room.edge.state("washer-1", RUNNING, minutes=2, current_a=9.5, cycle_started_at=started, expected_end=later)
        )
        message = ws.receive_json()
        while message.get("type") != "machine" or message["machine"]["id"] != "washer-1":
            message = ws.receive_json()
        assert when(message["machine"]["expected_end"]) == later


def test_without_the_edges_end_the_estimate_stands_in_and_a_finished_machine_has_none(room: Room) -> None:
    bob = make_account(room.client, "100002")
    started = at(3)
    room.feed(room.edge.event("washer-2", EventType.CYCLE_STARTED, RUNNING, minutes=3))
    assert room.machine("washer", 2, bob.headers)["expected_end"] is None  # honest: no start known, no guess
    room.feed(room.edge.state("washer-2", RUNNING, minutes=3, current_a=9.5, cycle_started_at=started))
    seen = room.machine("washer", 2, bob.headers)
    assert seen["expected_end_source"] == "estimate"
    assert when(seen["expected_end"]) == started + timedelta(seconds=USUAL_CYCLE_S["washer"])

    room.feed(room.edge.event("washer-2", EventType.CYCLE_FINISHED, FINISHED, minutes=40, current_a=0.0))
    seen = room.machine("washer", 2, bob.headers)
    assert (seen["usage"], seen["expected_end"], seen["cycle_started_at"]) == ("finished", None, None)
    engine = room.client.app.state.cloud.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        stored = conn.execute(
            select(machines.c.cycle_started_at, machines.c.expected_end).where(machines.c.machine_id == "washer-2")
        ).all()
    assert [tuple(row) for row in stored] == [(None, None)]  # cleared once no cycle is in progress


# --- ending -----------------------------------------------------------------------------------


def test_ending_is_in_use_not_free_and_tells_nobody_it_is_done(room: Room) -> None:
    alice = claimed_and_running(room)
    bob = make_account(room.client, "100002")
    free_before = free_washers(room)
    room.feed(event(room, EventType.CYCLE_ENDING, ENDING, minutes=40))

    seen = room.machine("washer", 1, bob.headers)
    assert (seen["state"], seen["usage"], seen["in_use_by"]) == ("ending", "in_use", "someone")
    mine = room.machine("washer", 1, alice.headers)
    assert (mine["usage"], mine["claim"]["status"]) == ("in_use", "active")
    assert free_washers(room) == free_before  # still not free
    assert room.notifications(alice.id) == []  # "done" only once it is surely done
    refused = room.post("/machines/start", WASHER_1, bob.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "machine_in_use")
    assert "is finishing" in refused.text
    ended = room.post("/machines/end", WASHER_1, alice.headers)
    assert ended.status_code == 409  # the sensors do not agree yet that nothing runs
    assert room.fire(minutes=12).reminders == 0

    room.feed(event(room, EventType.CYCLE_RESUMED, RUNNING, minutes=41))  # not done: it runs on
    assert room.machine("washer", 1, alice.headers)["claim"]["status"] == "active"
    room.feed(event(room, EventType.CYCLE_FINISHED, FINISHED, minutes=45))
    assert room.notifications(alice.id) == [("cycle_finished", "Your wash is done")]


# --- cycle_continued --------------------------------------------------------------------------


def test_a_finished_cycle_that_continues_resumes_the_claim_and_says_done_again_later(room: Room) -> None:
    alice = claimed_and_running(room)
    room.feed(event(room, EventType.CYCLE_FINISHED, FINISHED, minutes=30, cycle_seconds=29 * 60))
    assert room.notifications(alice.id) == [("cycle_finished", "Your wash is done")]
    assert claim_row(room).next_reminder_at is not None

    continued = event(room, EventType.CYCLE_CONTINUED, RUNNING, minutes=33, cycle_seconds=32.5 * 60)
    room.feed(continued)
    mine = room.machine("washer", 1, alice.headers)
    assert (mine["usage"], mine["claim"]["status"], mine["claim"]["finished_at"]) == ("in_use", "active", None)
    assert when(mine["cycle_started_at"]) == at(0.5)  # from the event: how long it had run
    row = claim_row(room)
    assert (row.status, row.close_reason, row.next_reminder_at, row.reminders_sent) == ("active", None, None, 0)
    expected = [("cycle_finished", "Your wash is done"), ("cycle_continued", "Washer 1 started again")]
    assert room.notifications(alice.id) == expected
    assert room.fire(minutes=12).reminders == 0  # the collect reminders were cancelled

    room.feed(continued)  # the same event again (a QoS 1 redelivery, a replay): nothing twice
    room.feed(
        room.edge.state("washer-1", RUNNING, seq=room.edge.seq, minutes=33, current_a=9.5, cycle_started_at=at(0.5))
    )
    assert room.notifications(alice.id) == expected

    room.feed(event(room, EventType.CYCLE_FINISHED, FINISHED, minutes=50, cycle_seconds=49.5 * 60))
    done = [n for n in room.notifications(alice.id) if n[0] == "cycle_finished"]
    assert len(done) == 2  # told "done" again, now that it is
    assert room.machine("washer", 1, alice.headers)["claim"]["status"] == "finished"
    body = room.client.get("/api/v1/notifications/?limit=5", headers=alice.headers).json()["items"]
    note = next(n for n in body if n["type"] == "cycle_continued")
    assert "not done after all" in note["body"] and note["data"]["machine"] == "washer-1"


def test_a_retained_state_of_the_continued_cycle_resumes_the_claim_when_the_event_was_missed(room: Room) -> None:
    """The event was lost (the cloud reconnected): the retained state's cycle started before the
    finish, so it is the same cycle. The event replayed afterwards changes nothing."""
    alice = claimed_and_running(room)
    room.feed(event(room, EventType.CYCLE_FINISHED, FINISHED, minutes=30))
    missed = room.edge.seq + 1
    room.feed(room.edge.state("washer-1", RUNNING, seq=missed, minutes=33, current_a=9.5, cycle_started_at=at(0.5)))
    assert room.machine("washer", 1, alice.headers)["claim"]["status"] == "active"
    assert [t for t, _ in room.notifications(alice.id)] == ["cycle_finished", "cycle_continued"]

    room.feed(event(room, EventType.CYCLE_CONTINUED, RUNNING, minutes=33, cycle_seconds=32.5 * 60))  # replayed
    room.feed(room.edge.state("washer-1", RUNNING, seq=missed, minutes=33, current_a=9.5, cycle_started_at=at(0.5)))
    assert [t for t, _ in room.notifications(alice.id)] == ["cycle_finished", "cycle_continued"]


def test_a_new_cycle_after_finished_still_ends_the_claim_as_restarted(room: Room) -> None:
    alice = claimed_and_running(room)
    room.feed(event(room, EventType.CYCLE_FINISHED, FINISHED, minutes=30))
    room.feed(
        room.edge.state(
            "washer-1", RUNNING, seq=room.edge.seq + 1, minutes=40, current_a=9.5, cycle_started_at=at(39.5)
        )
    )
    row = claim_row(room)
    assert (row.status, row.close_reason) == ("ended", "restarted")
    assert room.machine("washer", 1, alice.headers)["in_use_by"] == "unknown"
    assert [t for t, _ in room.notifications(alice.id)] == ["cycle_finished"]
