"""What the server writes — activity entries, error messages, alarm titles — in the reader's
language: the logged-in user's, else the request's ``Accept-Language``, else English. An
English reader, and an old entry stored without a catalog key, read exactly what they did."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from cloud.domain.activity.record import record_activity
from cloud.domain.notifications.send import notify
from cloud.platform.languages import from_accept_language
from cloud.platform.settings import CloudSettings
from cloud.platform.texts import Clock, Machine, from_data, render, text, to_data
from cloud.processes.timers import fire_due
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from tests.cloud.accounts_support import Account, choose_language, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Room, open_room

ACTIVITIES = "/api/v1/activities/"
SPANISH = {"Accept-Language": "es"}
DRAINED = "test_drained"


@pytest.fixture
def room(client: TestClient, feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(client, feed, edge, fake_clock)


def claim(room: Room, account: Account, headers: dict[str, str] | None = None, number: int = 1) -> Any:
    body = {"machine_type": "washer", "machine_id": number, "category": "normal"}
    return room.post("/machines/start", body, {**account.headers, **(headers or {})})


def messages(room: Room, account: Account) -> list[str]:
    response = room.client.get(ACTIVITIES, headers=account.headers)
    assert response.status_code == 200, response.text
    return [item["message"] for item in response.json()["items"]]


def heard(room: Room, account: Account, socket: WebSocketTestSession, type_: str) -> list[dict[str, Any]]:
    """The ``type_`` messages a socket heard up to a notification sent now (the hub keeps order)."""
    work: Callable[[Any], Any] = lambda tx: notify(tx, account.id, DRAINED, "drained", "")  # noqa: E731
    room.client.app.state.cloud.transactions.run(work)  # type: ignore[attr-defined]
    found = []
    for _ in range(500):
        message: dict[str, Any] = socket.receive_json()
        if message["type"] == "notification" and message["notification"]["type"] == DRAINED:
            return found
        if message["type"] == type_:
            found.append(message)
    raise AssertionError("the socket never heard the end")


# --- the activity feed ---------------------------------------------------------------------

CLAIMED_EN = "claimed washer 1 (normal cycle); waiting for the sensors to see it start"
CLAIMED_ES = "reservaste lavadora 1 (ciclo normal); esperando a que los sensores la vean arrancar"


def test_a_spanish_students_feed_is_in_spanish_an_english_ones_and_old_rows_unchanged(room: Room) -> None:
    ana, bob = make_account(room.client, "200101"), make_account(room.client, "200102")
    choose_language(room.client, ana, "es")
    state = room.client.app.state.cloud  # type: ignore[attr-defined]
    state.transactions.run(lambda tx: record_activity(tx, "old_entry", "an entry from before", user_id=ana.id))
    assert claim(room, ana).status_code == 201
    assert claim(room, bob, number=2).status_code == 201

    assert messages(room, ana) == [CLAIMED_ES, "an entry from before"]
    assert messages(room, bob) == [CLAIMED_EN.replace("washer 1", "washer 2")]
    staff = make_account(room.client, "warden", role="staff")
    assert CLAIMED_EN in messages(room, staff), "staff read English, and the stored column stays English"
    [entry] = room.client.get(ACTIVITIES, headers=ana.headers, params={"type": "claim_created"}).json()["items"]
    assert "text" not in entry["data"], "the catalog key is the server's, not shown"


def test_live_activity_reaches_each_reader_in_their_language(room: Room) -> None:
    ana, bob = make_account(room.client, "200111"), make_account(room.client, "200112")
    staff = make_account(room.client, "warden", role="staff")
    choose_language(room.client, ana, "es")
    choose_language(room.client, staff, "es")
    with (
        room.client.websocket_connect("/api/ws", headers=ana.headers) as ana_ws,
        room.client.websocket_connect("/api/ws", headers=bob.headers) as bob_ws,
        room.client.websocket_connect("/api/ws", headers=staff.headers) as staff_ws,
    ):
        assert claim(room, ana).status_code == 201
        assert claim(room, bob, number=2).status_code == 201
        [ana_heard] = heard(room, ana, ana_ws, "activity")
        [bob_heard] = heard(room, bob, bob_ws, "activity")
        staff_heard = heard(room, staff, staff_ws, "activity")
    assert ana_heard["activity"]["message"] == CLAIMED_ES
    assert bob_heard["activity"]["message"] == CLAIMED_EN.replace("washer 1", "washer 2")
    assert [m["activity"]["message"] for m in staff_heard] == [
        CLAIMED_ES,
        CLAIMED_ES.replace("lavadora 1", "lavadora 2"),
    ]
    assert all("in_language" not in m for m in (ana_heard, bob_heard, *staff_heard))


# --- alarm titles --------------------------------------------------------------------------


def test_a_spanish_staff_reader_sees_spanish_alarm_titles(room: Room) -> None:
    spanish, english = (
        make_account(room.client, "warden", role="staff"),
        make_account(room.client, "tech", role="staff"),
    )
    choose_language(room.client, spanish, "es")
    state = room.client.app.state.cloud  # type: ignore[attr-defined]
    site = room.edge.site
    with room.client.websocket_connect("/api/ws", headers=spanish.headers) as socket:
        room.clock.advance(4 * 60)
        room.feed(room.edge.telemetry("washer-1", 0.0, minutes=4))
        room.clock.advance(6 * 60)
        assert fire_due(state.transactions, state.ingest.metrics).silence_alarms == 1
        [live] = heard(room, spanish, socket, "alarm")
    spanish_title = f"r1 ({site}): sensores sin señal desde las 00:04"
    assert live["alarm"]["title"] == spanish_title
    [listed] = room.client.get("/api/v1/alarms", headers=spanish.headers).json()["items"]
    assert listed["title"] == spanish_title
    [english_listed] = room.client.get("/api/v1/alarms", headers=english.headers).json()["items"]
    assert english_listed["title"] == f"r1 ({site}): sensors silent since 00:04"


# --- error messages ------------------------------------------------------------------------


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    return body


def test_a_wrong_pin_answers_in_the_requests_language(room: Room) -> None:
    make_account(room.client, "200121")
    wrong = {"student_id": "200121", "pin": "9999"}
    spanish = error(room.client.post("/api/v1/auth/login", json=wrong, headers=SPANISH), 401)
    english = error(room.client.post("/api/v1/auth/login", json=wrong), 401)
    assert (spanish["code"], spanish["message"]) == (
        "invalid_credentials",
        "el número de estudiante o el PIN no es correcto",
    )
    assert (english["code"], english["message"]) == ("invalid_credentials", "student ID or PIN is incorrect")
    regional = room.client.post("/api/v1/auth/login", json=wrong, headers={"Accept-Language": "fr, es-MX;q=0.8"})
    assert error(regional, 401)["message"] == spanish["message"]


def test_a_bad_phone_number_at_registration_answers_in_the_requests_language(room: Room) -> None:
    body = {"student_id": "200131", "pin": "1234", "phone_number": "020 7946 0958"}
    spanish = error(room.client.post("/api/v1/auth/register", json=body, headers=SPANISH), 422)
    english = error(room.client.post("/api/v1/auth/register", json=body), 422)
    assert english["message"] == (
        "phone_number: is not a possible phone number: check the digits, and start a number from outside US with +"
    )
    assert english["fields"] == [{"field": "phone_number", "message": english["message"].split(": ", 1)[1]}]
    assert spanish["message"] == (
        "phone_number: no es un número de teléfono posible: "
        "revisa los dígitos, y empieza con + un número de fuera de US"
    )
    assert spanish["fields"] == [{"field": "phone_number", "message": spanish["message"].split(": ", 1)[1]}]


def test_a_claim_on_a_taken_machine_answers_in_the_requests_language(room: Room) -> None:
    ana, bob = make_account(room.client, "200141"), make_account(room.client, "200142")
    assert claim(room, ana).status_code == 201
    spanish = error(claim(room, bob, SPANISH), 409)
    english = error(claim(room, bob), 409)
    assert (spanish["code"], spanish["message"]) == ("machine_taken", "Lavadora 1 ya está reservada")
    assert (english["code"], english["message"]) == ("machine_taken", "Washer 1 is already claimed")


def test_the_logged_in_users_language_wins_over_the_header(room: Room) -> None:
    ana, bob = make_account(room.client, "200151"), make_account(room.client, "200152")
    choose_language(room.client, bob, "en")
    assert claim(room, ana).status_code == 201
    assert error(claim(room, bob, SPANISH), 409)["message"] == "Washer 1 is already claimed"
    choose_language(room.client, bob, "es")
    assert error(claim(room, bob), 409)["message"] == "Lavadora 1 ya está reservada"


# --- the pure parts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("es", "es"),
        ("es-ES,es;q=0.9,en;q=0.8", "es"),
        ("en-GB", "en"),
        ("fr-FR, de;q=0.9", None),
        ("fr, es;q=0.5, en;q=0.7", "en"),
        ("es;q=0, en", "en"),
        ("*", None),
        ("es;q=bad, en;q=0.1", "en"),
    ],
)
def test_accept_language_picks_the_first_supported_by_weight(header: str | None, expected: str | None) -> None:
    assert from_accept_language(header) == expected


def test_a_stored_text_reads_back_the_same_in_every_language() -> None:
    stored = text(
        "alarm.silent_title",
        place=text("error.claim.taken", machine=Machine("washer", 3)),
        time=Clock(datetime(2026, 1, 1, 12, 5, tzinfo=UTC), "Europe/Madrid"),
    )
    back = from_data(to_data(stored))
    assert back is not None
    for language in ("en", "es"):
        assert render(back, language) == render(stored, language)
    assert from_data({"key": "no.such.key", "params": {}}) is None
    assert from_data("an old row") is None


def test_request_validation_answers_in_the_requests_language(room: Room) -> None:
    """pydantic's own checks (a missing field, a body that is not JSON) and Starlette's 404."""
    body = {"student_id": "200161", "pin": "1234"}  # no phone number
    spanish = error(room.client.post("/api/v1/auth/register", json=body, headers=SPANISH), 422)
    english = error(room.client.post("/api/v1/auth/register", json=body), 422)
    assert spanish["fields"] == [{"field": "phone_number", "message": "es obligatorio"}]
    assert (english["message"], english["fields"]) == (
        "phone_number: is required",
        [{"field": "phone_number", "message": "is required"}],
    )
    not_json = {**SPANISH, "content-type": "application/json"}
    garbled = error(room.client.post("/api/v1/auth/register", content=b"{student", headers=not_json), 422)
    assert garbled["message"] == "el cuerpo no es JSON válido"
    assert garbled["fields"] == [{"field": "", "message": "el cuerpo no es JSON válido"}]
    assert error(room.client.get("/api/v1/no-such-thing", headers=SPANISH), 404) == {
        "code": "not_found",
        "message": "no hay nada en esta dirección",
    }
    assert error(room.client.get("/api/v1/no-such-thing"), 404)["message"] == "there is nothing at this address"


def test_a_bug_answers_in_the_requests_language_with_its_incident_id(
    offline_settings: CloudSettings, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(offline_settings, clock=fake_clock)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/test-broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        spanish = error(client.get("/api/v1/test-broken", headers=SPANISH), 500)
        english = error(client.get("/api/v1/test-broken"), 500)
    assert spanish["message"] == "algo ha fallado por nuestra parte; ha quedado registrado"
    assert english["message"] == "something went wrong on our side; it has been logged"
    assert spanish["incident"] in caplog.text and "a bug" not in str(spanish)
