"""The wall display's anonymous stream: a snapshot of one room, then that room's changes, nothing personal."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.testclient import WebSocketTestSession as Socket
from starlette.websockets import WebSocketDisconnect

from cloud.api.routers.display_stream import display_texts
from cloud.domain.rooms.claim_links import qr_svg
from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Room, open_room

PERSONAL_KEYS = {"mine", "claim", "reserved_for_me", "in_use_by", "hold_until", "user_id", "student_id",
                 "phone_number", "position", "status_for_me", "reporter", "claim_user_id", "hold_user_id"}  # fmt: skip
MACHINE_KEYS = {"id", "kind", "number", "label", "state", "usage", "since", "expected_end", "unknown_since",
                "room_online", "open_faults", "out_of_service", "service_reason"}  # fmt: skip


@pytest.fixture
def room(client: TestClient, feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(client, feed, edge, fake_clock)


def path(edge: FakeEdge, room: str | None = None) -> str:
    return f"/api/ws/display/{edge.site}/{room or edge.room}"


def keys_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for inner in value.values() for key in keys_in(inner)}
    if isinstance(value, list):
        return {key for inner in value for key in keys_in(inner)}
    return set()


def next_of(socket: Socket, type_: str, heard: list[str], limit: int = 20) -> dict[str, Any]:
    for _ in range(limit):
        text = socket.receive_text()
        heard.append(text)
        message: dict[str, Any] = json.loads(text)
        if message["type"] == type_:
            return message
    raise AssertionError(f"no {type_} message in {limit}")


def claim(room: Room, account: Account, number: int) -> None:
    response = room.post("/machines/start", {"machine_type": "washer", "machine_id": number}, account.headers)
    assert response.status_code == 201, response.text


def test_the_snapshot_shows_the_room_without_anyone_in_it(room: Room) -> None:
    alice = make_account(room.client, "100001")
    claim(room, alice, 1)
    with room.client.websocket_connect(path(room.edge)) as socket:
        snapshot = socket.receive_json()
    assert snapshot["type"] == "snapshot"
    assert snapshot["room"] == {"site": room.edge.site, "room": "r1", "status": "online",
                                "status_since": snapshot["room"]["status_since"], "online": True}  # fmt: skip
    assert [(m["id"], m["usage"]) for m in snapshot["machines"]] == [
        ("washer-1", "claimed"),
        ("washer-2", "free"),
        ("dryer-1", "free"),
    ]
    assert all(set(m) == MACHINE_KEYS for m in snapshot["machines"])
    assert snapshot["waitlists"] == {"washer": 0, "dryer": 0}
    assert not keys_in(snapshot) & PERSONAL_KEYS
    assert "100001" not in json.dumps(snapshot) and "5551234567" not in json.dumps(snapshot)


def test_changes_of_the_room_arrive_and_say_nothing_personal(room: Room) -> None:
    alice, bob = make_account(room.client, "100001"), make_account(room.client, "100002")
    heard: list[str] = []
    with room.client.websocket_connect(path(room.edge)) as socket:
        socket.receive_json()
        claim(room, alice, 1)
        claimed = next_of(socket, "machine", heard)["machine"]
        assert (claimed["id"], claimed["usage"]) == ("washer-1", "claimed")
        room.sensors("washer-1", "start")
        running = next_of(socket, "machine", heard)["machine"]
        assert (running["id"], running["state"], running["usage"]) == ("washer-1", "running", "in_use")
        room.sensors("washer-2", "start")  # both washers busy: bob has to wait
        next_of(socket, "machine", heard)
        joined = room.post("/waitlist/join", {"machine_type": "washer"}, bob.headers)
        assert joined.status_code == 201, joined.text
        assert next_of(socket, "waitlist", heard) == {"type": "waitlist", "kind": "washer", "length": 1}
        report = room.client.post(
            "/api/v1/faults/report",
            data={"machine_type": "dryer", "machine_id": "1", "description": "The drum squeaks loudly."},
            headers=bob.headers,
        )
        assert report.status_code in (200, 201), report.text
        faulty = next_of(socket, "machine", heard)["machine"]
        assert (faulty["id"], faulty["open_faults"]) == ("dryer-1", 1)
    messages = [json.loads(text) for text in heard]
    assert {m["type"] for m in messages} <= {"machine", "waitlist", "room"}
    assert not keys_in(messages) & PERSONAL_KEYS
    assert all(word not in text for text in heard for word in ("100001", "100002", "5551234567"))


def test_other_rooms_are_not_heard(room: Room) -> None:
    other = FakeEdge(site=room.edge.site, room="r2")
    open_room(room.client, room.feed, other, room.clock)
    heard: list[str] = []
    with room.client.websocket_connect(path(room.edge)) as socket:
        socket.receive_json()
        room.feed(other.event("washer-1"))  # a cycle starts in r2
        room.sensors("dryer-1", "start")
        changed = next_of(socket, "machine", heard)["machine"]
    assert changed["id"] == "dryer-1"  # r2's washer-1 started first, and never came


def test_a_silent_room_shows_unknown_since(room: Room) -> None:
    with room.client.websocket_connect(path(room.edge)) as socket:
        socket.receive_json()
        room.feed(room.edge.status(online=False))
        heard: list[str] = []
        gone = next_of(socket, "room", heard)["room"]
        assert (gone["status"], gone["online"]) == ("offline", False)
        machine = next_of(socket, "machine", heard)["machine"]
        assert (machine["state"], machine["room_online"]) == ("unknown", False)
        assert machine["unknown_since"] is not None


def test_an_unknown_room_is_refused_with_4404(room: Room) -> None:
    nowhere = path(room.edge, "nowhere")
    with room.client.websocket_connect(nowhere) as socket, pytest.raises(WebSocketDisconnect) as refused:
        socket.receive_json()
    assert refused.value.code == 4404
    assert "nowhere" in refused.value.reason


def test_each_change_is_serialised_once_for_every_display(room: Room) -> None:
    with (
        room.client.websocket_connect(path(room.edge)) as first,
        room.client.websocket_connect(path(room.edge)) as second,
    ):
        first.receive_json()
        second.receive_json()
        before = display_texts.serialised
        room.sensors("dryer-1", "start")
        assert first.receive_text() == second.receive_text()
        assert display_texts.serialised == before + 1


def test_a_machines_qr_code_links_to_its_claim_page(room: Room) -> None:
    response = room.client.get(f"/display/{room.edge.site}/r1/qr/washer-2.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "Scan to claim Washer 2" in response.text
    assert room.client.get(f"/display/{room.edge.site}/r1/qr/washer-9.svg").status_code == 404
    page = room.client.get(f"/claim/{room.edge.site}/r1/washer-2")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert room.client.get(f"/display/{room.edge.site}/r1").status_code == 200


def test_qr_codes_hold_the_public_url_when_one_is_set(
    offline_settings: CloudSettings, fake_clock: FakeClock, edge: FakeEdge
) -> None:
    settings = offline_settings.model_copy(update={"public_url": "https://wash.example.edu"})
    with TestClient(create_app(settings, clock=fake_clock)) as client:
        ingest = client.app.state.cloud.ingest  # type: ignore[attr-defined]
        assert client.portal is not None
        for topic, payload in (edge.info(), edge.status(online=True)):
            client.portal.call(ingest.handle, topic, payload)
        served = client.get(f"/display/{edge.site}/r1/qr/dryer-1.svg").text
    link = f"https://wash.example.edu/claim/{edge.site}/r1/dryer-1"
    assert served == qr_svg(link, "Scan to claim Dryer 1")


def test_without_a_public_url_qr_codes_hold_the_address_the_display_used(room: Room) -> None:
    served = room.client.get(f"/display/{room.edge.site}/r1/qr/washer-1.svg").text
    assert served == qr_svg(f"http://testserver/claim/{room.edge.site}/r1/washer-1", "Scan to claim Washer 1")
