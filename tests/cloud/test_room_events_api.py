"""``GET /api/v1/rooms/{room}/events``: staff audit a room's applied events, gaps and resets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from cloud.api.routers.rooms import router as rooms_router
from cloud.processes.timers import fire_due
from kywash.clock import FakeClock
from kywash.contract import EventType, MachineState
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge

Feed = Callable[..., list[Any]]
EVENTS_PATH = "/api/v1/rooms/{room}/events"


def with_rooms_api(app: Any) -> FastAPI:
    """The rooms router, unless ``create_app`` already includes it."""
    assert isinstance(app, FastAPI)
    if not any(getattr(route, "path", None) == EVENTS_PATH for route in app.routes):
        app.include_router(rooms_router)
    return app


@pytest.fixture
def api(db_client: TestClient) -> TestClient:
    with_rooms_api(db_client.app)
    return db_client


def started(edge: FakeEdge, seq: int, machine: str = "washer-1") -> tuple[str, bytes]:
    return edge.event(machine, EventType.CYCLE_STARTED, MachineState.RUNNING, seq=seq, minutes=seq)


def test_only_staff_may_read_a_rooms_events(api: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    db_feed(edge.info(), started(edge, 1))
    url = f"/api/v1/rooms/{edge.room}/events"
    anonymous = api.get(url)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    student = make_account(api, "123456")
    assert api.get(url, headers=student.headers).status_code == 403
    staff = make_account(api, "tech", role="staff")
    assert api.get(url, headers=staff.headers).status_code == 200


def test_events_in_seq_order_with_the_sequence_and_its_gaps(
    api: TestClient, db_feed: Feed, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    db_feed(
        edge.info(),
        started(edge, 2, "washer-2"),
        started(edge, 1),
        edge.event("washer-1", EventType.CYCLE_FINISHED, MachineState.FINISHED, seq=3, minutes=40, current_a=0.1),
        started(edge, 6, "dryer-1"),
        started(edge, 9, "washer-2"),
    )
    staff = make_account(api, "tech", role="staff")
    url = f"/api/v1/rooms/{edge.room}/events"
    body = api.get(url, headers=staff.headers).json()
    assert (body["site"], body["room"], body["epoch"], body["current_epoch"]) == (edge.site, edge.room, 0, 0)
    assert (body["contiguous_seq"], body["max_seq"], body["gaps"]) == (3, 9, [[4, 5], [7, 8]])
    assert body["last_replay_at"] is None and body["replay_requests"] == 0
    assert body["seq_reset"] == {"count": 0, "last_at": None, "last_boot_id": None}
    assert [e["seq"] for e in body["items"]] == [1, 2, 3, 6, 9]
    finished = body["items"][2]
    assert finished == {
        "seq": 3,
        "epoch": 0,
        "boot_id": "boot-1",
        "machine": "washer-1",
        "type": "cycle_finished",
        "state": "finished",
        "door": "closed",
        "current_a": 0.1,
        "reason": None,
        "ts": "2026-01-01T08:40:00Z",
        "received_at": finished["received_at"],
    }
    assert body["next_after"] is None

    page = api.get(url, params={"after": 1, "limit": 2}, headers=staff.headers).json()
    assert [e["seq"] for e in page["items"]] == [2, 3] and page["next_after"] == 3
    page = api.get(url, params={"after": page["next_after"], "limit": 2}, headers=staff.headers).json()
    assert [e["seq"] for e in page["items"]] == [6, 9] and page["next_after"] is None

    fake_clock.advance(api.app.state.cloud.settings.replay_after_s)  # type: ignore[attr-defined]
    assert fire_due(api.app.state.cloud.transactions, api.app.state.cloud.ingest.metrics).replay_requests == 1  # type: ignore[attr-defined]
    body = api.get(url, headers=staff.headers).json()
    assert body["replay_requests"] == 1 and body["last_replay_at"] is not None


def test_a_wiped_edge_shows_as_a_reset_and_its_old_epoch_stays_readable(
    api: TestClient, db_feed: Feed, edge: FakeEdge
) -> None:
    db_feed(edge.info(), started(edge, 1), started(edge, 2))
    wiped = FakeEdge(site=edge.site, boot_id="boot-2")
    db_feed(started(wiped, 1))
    staff = make_account(api, "tech", role="staff")
    url = f"/api/v1/rooms/{edge.room}/events"
    body = api.get(url, headers=staff.headers).json()
    assert (body["epoch"], body["current_epoch"], body["contiguous_seq"]) == (1, 1, 1)
    assert body["seq_reset"]["count"] == 1 and body["seq_reset"]["last_boot_id"] == "boot-2"
    assert [(e["seq"], e["boot_id"]) for e in body["items"]] == [(1, "boot-2")]
    old = api.get(url, params={"epoch": 0}, headers=staff.headers).json()
    assert [(e["seq"], e["epoch"], e["boot_id"]) for e in old["items"]] == [(1, 0, "boot-1"), (2, 0, "boot-1")]


def test_room_names_that_repeat_across_sites_need_a_site(api: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    other = FakeEdge(site=f"{edge.site}x", boot_id="boot-x")
    db_feed(edge.info(), other.info(), started(edge, 1), started(other, 1), started(other, 2))
    staff = make_account(api, "tech", role="staff")
    url = f"/api/v1/rooms/{edge.room}/events"
    ambiguous = api.get(url, headers=staff.headers)
    assert ambiguous.status_code == 422 and "?site=" in ambiguous.json()["error"]["message"]
    body = api.get(url, params={"site": other.site}, headers=staff.headers).json()
    assert body["site"] == other.site and [e["seq"] for e in body["items"]] == [1, 2]
    missing = api.get("/api/v1/rooms/nowhere/events", headers=staff.headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "room_not_found"
    bad = api.get(url, params={"site": edge.site, "limit": 0}, headers=staff.headers)
    assert bad.status_code == 422


def test_a_room_without_events_answers_empty(api: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    db_feed(edge.info())
    staff = make_account(api, "tech", role="staff")
    body = api.get(f"/api/v1/rooms/{edge.room}/events", headers=staff.headers).json()
    assert (body["items"], body["gaps"], body["contiguous_seq"], body["next_after"]) == ([], [], 0, None)
