"""``GET /api/v1/rooms/status``: staff see every room's edge, its machines and its sequence gaps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from cloud.processes.timers import fire_due
from kywash.clock import FakeClock
from kywash.contract import EventType, MachineState
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge

Feed = Callable[..., list[Any]]
URL = "/api/v1/rooms/status"


def started(edge: FakeEdge, seq: int, machine: str = "washer-1") -> tuple[str, bytes]:
    return edge.event(machine, EventType.CYCLE_STARTED, MachineState.RUNNING, seq=seq, minutes=seq)


def test_only_staff_may_see_the_rooms_edges(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    db_feed(edge.info())
    anonymous = db_client.get(URL)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    student = make_account(db_client, "123456")
    forbidden = db_client.get(URL, headers=student.headers)
    assert forbidden.status_code == 403 and set(forbidden.json()) == {"error"}
    staff = make_account(db_client, "tech", role="staff")
    assert db_client.get(URL, headers=staff.headers).status_code == 200


def test_staff_see_each_rooms_edge_machines_and_gaps(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    quiet = FakeEdge(site=edge.site, room="r2", boot_id="boot-q")
    db_feed(edge.info(), quiet.info(), quiet.status(online=False))
    db_feed(started(edge, 1), started(edge, 2, "washer-2"), started(edge, 5, "dryer-1"), started(edge, 8))
    staff = make_account(db_client, "tech", role="staff")
    student = make_account(db_client, "123456")
    taken_out = db_client.post(
        "/api/v1/machines/washer/2/out-of-service",
        params={"site": edge.site, "room": edge.room},
        json={"reason": "leaking"},
        headers=staff.headers,
    )
    assert taken_out.status_code == 200, taken_out.text
    reported = db_client.post(
        "/api/v1/faults/report",
        params={"site": edge.site, "room": edge.room},
        data={"machine_type": "dryer", "machine_id": "1", "description": "no heat"},
        headers=student.headers,
    )
    assert reported.status_code == 201, reported.text

    body = db_client.get(URL, headers=staff.headers).json()
    assert [(r["site"], r["room"]) for r in body] == [(edge.site, "r1"), (edge.site, "r2")]
    room, silent = body
    shown = ("status", "boot_id", "agent_version", "machines", "out_of_service", "open_faults")
    assert {k: room[k] for k in shown} == {
        "status": "online",
        "boot_id": "boot-1",
        "agent_version": "0.1.0",
        "machines": 3,
        "out_of_service": 1,
        "open_faults": 1,
    }
    assert room["status_since"] is not None and room["last_seen"] is not None
    sequence = room["sequence"]
    assert {k: sequence[k] for k in ("epoch", "contiguous_seq", "max_seq", "gaps", "replay_requests")} == {
        "epoch": 0,
        "contiguous_seq": 2,
        "max_seq": 8,
        "gaps": [[3, 4], [6, 7]],
        "replay_requests": 0,
    }
    assert sequence["gap_since"] == "2026-01-01T00:00:00Z" and sequence["last_replay_at"] is None
    assert {k: silent[k] for k in shown[3:]} == {"machines": 3, "out_of_service": 0, "open_faults": 0}
    assert silent["status"] == "offline" and silent["boot_id"] == "boot-q"
    assert silent["sequence"] == {
        "epoch": 0,
        "contiguous_seq": 0,
        "max_seq": 0,
        "gaps": [],
        "gap_since": None,
        "last_replay_at": None,
        "replay_requests": 0,
    }

    fake_clock.advance(db_client.app.state.cloud.settings.replay_after_s)  # type: ignore[attr-defined]
    assert (
        fire_due(db_client.app.state.cloud.transactions, db_client.app.state.cloud.ingest.metrics).replay_requests == 1
    )  # type: ignore[attr-defined]
    staff = make_account(db_client, "tech2", role="staff")
    sequence = db_client.get(URL, headers=staff.headers).json()[0]["sequence"]
    assert sequence["replay_requests"] == 1 and sequence["last_replay_at"] is not None
    db_feed(started(edge, 3), started(edge, 4), started(edge, 6), started(edge, 7))
    sequence = db_client.get(URL, headers=staff.headers).json()[0]["sequence"]
    assert (sequence["contiguous_seq"], sequence["gaps"], sequence["gap_since"]) == (8, [], None)


def test_a_site_filter_and_the_public_room_list_stay_apart(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge
) -> None:
    other = FakeEdge(site=f"{edge.site}x", boot_id="boot-x")
    db_feed(edge.info(), other.info())
    staff = make_account(db_client, "tech", role="staff")
    only = db_client.get(URL, params={"site": other.site}, headers=staff.headers).json()
    assert [(r["site"], r["room"]) for r in only] == [(other.site, "r1")]
    assert db_client.get(URL, params={"site": "nowhere"}, headers=staff.headers).json() == []
    public = db_client.get("/api/v1/rooms")  # the students' list is untouched, and public
    assert public.status_code == 200 and {r["site"] for r in public.json()} >= {edge.site, other.site}
