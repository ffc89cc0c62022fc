"""The REST API, health, metrics, docs and the WebSocket, on an app whose ingest is fed directly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from kywash.clock import FakeClock, to_datetime
from kywash.contract import EventType, MachineState
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge

Feed = Callable[..., list[Any]]


def registered(feed: Feed, edge: FakeEdge) -> None:
    feed(edge.info(), edge.status(online=True), edge.state("washer-1"), edge.state("dryer-1"))


def test_no_rooms_yet_gives_empty_lists(client: TestClient) -> None:
    response = client.get("/api/v1/machines/")
    assert response.status_code == 200
    assert response.json() == {
        "washers": [],
        "dryers": [],
        "timezone": "UTC",
        "server_time": "2026-01-01T00:00:00Z",
        "rate": 1.0,
    }
    assert client.get("/api/v1/rooms").json() == []


def test_the_only_room_is_the_default(client: TestClient, feed: Feed, edge: FakeEdge) -> None:
    registered(feed, edge)
    body = client.get("/api/v1/machines/").json()
    assert [m["id"] for m in body["washers"]] == ["washer-1", "washer-2"]
    assert [m["id"] for m in body["dryers"]] == ["dryer-1"]
    washer = body["washers"][0]
    assert washer == {
        "site": edge.site,
        "room": "r1",
        "id": "washer-1",
        "kind": "washer",
        "number": 1,
        "label": None,
        "state": "idle",
        "since": "2026-01-01T08:00:00Z",
        "door": "closed",
        "current_a": 0.0,
        "observed_at": "2026-01-01T00:00:00Z",  # the cloud clock when it was stored
        "unknown_since": None,
        "room_online": True,
        "usage": "free",
        "in_use_by": None,
        "mine": False,
        "claim": None,
        "cycle_started_at": None,
        "expected_end": None,
        "expected_end_source": None,
        "hold_until": None,
        "reserved_for_me": False,
        "open_faults": 0,
        "out_of_service": False,
        "service_reason": None,
        "service_since": None,
        "service_eta": None,
        "service_sync": "none",
        "desired_revision": 0,
        "applied_revision": 0,
        "applied_at": None,
    }
    assert body["washers"][1]["state"] == "unknown"  # registered, but no state reported yet


def test_several_rooms_need_a_choice(client: TestClient, feed: Feed, edge: FakeEdge) -> None:
    other = FakeEdge(site=edge.site, room="r2")
    registered(feed, edge)
    registered(feed, other)
    ambiguous = client.get("/api/v1/machines/")
    assert ambiguous.status_code == 422
    assert "choose one with ?site=&room=" in ambiguous.json()["error"]["message"]
    chosen = client.get("/api/v1/machines/", params={"site": edge.site, "room": "r2"}).json()
    assert {m["room"] for m in chosen["washers"] + chosen["dryers"]} == {"r2"}
    missing = client.get("/api/v1/machines/", params={"site": edge.site, "room": "r9"})
    assert missing.status_code == 404 and "no room matches" in missing.json()["error"]["message"]
    rooms = client.get("/api/v1/rooms").json()
    assert [(r["room"], r["status"], r["online"]) for r in rooms] == [("r1", "online", True), ("r2", "online", True)]


def test_one_machine_by_kind_and_number(client: TestClient, feed: Feed, edge: FakeEdge) -> None:
    registered(feed, edge)
    feed(edge.event("washer-2", EventType.CYCLE_STARTED, MachineState.RUNNING))
    washer = client.get("/api/v1/machines/washer/2", params={"site": edge.site})
    assert washer.status_code == 200
    assert (washer.json()["state"], washer.json()["label"]) == ("running", "W2 (by the window)")
    missing = client.get("/api/v1/machines/dryer/4")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "no_such_machine", "message": f"no dryer number 4 in {edge.site}/r1"}}
    assert client.get("/api/v1/machines/boiler/1").status_code == 422
    assert client.get("/api/v1/machines/washer/0").status_code == 422


def test_an_offline_room_shows_unknown_since(
    client: TestClient, feed: Feed, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    registered(feed, edge)
    fake_clock.advance(3600)
    feed(edge.status(online=False))
    dryer = client.get("/api/v1/machines/dryer/1").json()
    assert dryer["state"] == "unknown"
    assert dryer["unknown_since"] == to_datetime(fake_clock.now()).isoformat().replace("+00:00", "Z")
    assert dryer["room_online"] is False


def test_health_metrics_and_docs(client: TestClient, feed: Feed, edge: FakeEdge) -> None:
    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.json() | {"version": "x"} == {
        "status": "ok",
        "database": "ok",
        "mqtt": "disabled",
        "version": "x",
    }
    feed(edge.info(), (f"kywash/v1/{edge.site}/r1/nonsense", b"{}"), (edge.info()[0], b""))
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert 'kywash_ingest_messages_total{kind="info"} 1.0' in metrics.text
    assert 'kywash_ingest_rejected_total{reason="bad_topic"} 1.0' in metrics.text
    assert 'kywash_ingest_messages_total{kind="cleared"} 1.0' in metrics.text
    assert 'kywash_ingest_rejected_total{reason="unknown_machine"} 0.0' in metrics.text
    assert client.get("/api/docs").status_code == 200
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/v1/machines/", "/api/v1/machines/{kind}/{number}", "/api/v1/rooms", "/api/health"} <= set(paths)


def test_websocket_snapshot_then_live_changes(client: TestClient, feed: Feed, edge: FakeEdge) -> None:
    registered(feed, edge)
    student = make_account(client, "100001")
    with client.websocket_connect(f"/api/ws?site={edge.site}&room=r1", headers=student.headers) as ws:
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot"
        assert [r["room"] for r in snapshot["rooms"]] == ["r1"]
        assert {m["id"] for m in snapshot["machines"]} == {"washer-1", "washer-2", "dryer-1"}

        feed(edge.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING, current_a=11.0))
        change = ws.receive_json()
        assert change["type"] == "machine"
        assert (change["machine"]["id"], change["machine"]["state"], change["machine"]["current_a"]) == (
            "washer-1",
            "running",
            11.0,
        )

        feed(edge.status(online=False))
        room = ws.receive_json()
        assert room["type"] == "room" and room["room"]["status"] == "offline"
        machines = [ws.receive_json() for _ in range(3)]
        assert {m["machine"]["state"] for m in machines} == {"unknown"}


def test_websocket_filters_by_room(client: TestClient, feed: Feed, edge: FakeEdge) -> None:
    other = FakeEdge(site=edge.site, room="r2")
    registered(feed, edge)
    registered(feed, other)
    student = make_account(client, "100001")
    with client.websocket_connect(f"/api/ws?site={edge.site}&room=r2", headers=student.headers) as ws:
        assert {m["room"] for m in ws.receive_json()["machines"]} == {"r2"}
        feed(edge.event("washer-1"), other.event("dryer-1", EventType.CYCLE_STARTED, MachineState.RUNNING))
        change = ws.receive_json()
        assert (change["machine"]["room"], change["machine"]["id"]) == ("r2", "dryer-1")


def test_the_web_page_is_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/app.js">' in page.text
    assert 'href="/static/style.css"' in page.text
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert 'from "./live.js"' in script.text  # every module it imports: tests/cloud/test_web_page.py
    assert client.get("/static/style.css").status_code == 200
