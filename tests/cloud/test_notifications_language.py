"""Notifications in the recipient's language: a Spanish student's are written in Spanish (stored
and sent alike), an English one's exactly as before; the profile keeps the language, and only
supported codes are taken. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from cloud.domain.alarms import rules as alarm_rules
from cloud.domain.alarms.rules import AlarmKind, Change
from cloud.domain.notifications.texts import Clock, Day, Machine, render, text
from cloud.platform.storage.tables import notifications
from kywash.clock import FakeClock
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Room, open_room


@pytest.fixture
def room(db_client: TestClient, db_feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(db_client, db_feed, edge, fake_clock)


def choose(room: Room, account: Account, language: Any) -> Any:
    return room.client.put("/api/v1/profile/update", headers=account.headers, json={"language": language})


def bodies(room: Room, user_id: int) -> list[tuple[str, str, str]]:
    """(type, title, body) of a user's notifications, oldest first."""
    with room.client.app.state.cloud.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            select(notifications.c.type, notifications.c.title, notifications.c.body)
            .where(notifications.c.user_id == user_id)
            .order_by(notifications.c.id)
        )
        return [(row.type, row.title, row.body) for row in rows]


def wash_to_the_end(room: Room, account: Account, machine: str = "washer-1") -> None:
    kind, number = machine.split("-")
    body = {"machine_type": kind, "machine_id": int(number), "category": "normal"}
    assert room.post("/machines/start", body, account.headers).status_code == 201
    room.sensors(machine, "start")
    room.sensors(machine, "finish")


# --- the profile ---------------------------------------------------------------------------


def test_the_language_is_unset_at_first_then_kept(room: Room) -> None:
    ana = make_account(room.client, "100101")
    assert room.client.get("/api/v1/profile/me", headers=ana.headers).json()["language"] is None
    response = choose(room, ana, "es")
    assert response.status_code == 200, response.text
    assert response.json()["language"] == "es"
    assert room.client.get("/api/v1/profile/me", headers=ana.headers).json()["language"] == "es"
    assert choose(room, ana, "en").json()["language"] == "en"


@pytest.mark.parametrize("bad", ["fr", "ES", "es-ES", "", 1, True, "english"])
def test_only_supported_languages_are_taken(room: Room, bad: Any) -> None:
    ana = make_account(room.client, "100102")
    response = choose(room, ana, bad)
    assert response.status_code == 422, response.text
    assert "language" in response.text
    assert room.client.get("/api/v1/profile/me", headers=ana.headers).json()["language"] is None


# --- what is sent --------------------------------------------------------------------------


def test_a_spanish_student_is_told_in_spanish_and_an_english_one_as_before(room: Room) -> None:
    ana, bob = make_account(room.client, "100103"), make_account(room.client, "100104")
    assert choose(room, ana, "es").status_code == 200
    wash_to_the_end(room, ana, "washer-1")
    wash_to_the_end(room, bob, "washer-2")

    [(_, title, body)] = [n for n in bodies(room, ana.id) if n[0] == "cycle_finished"]
    assert (title, body) == (
        "Tu lavado ha terminado",
        "La lavadora 1 ha terminado. Recoge tu ropa para que la pueda usar el siguiente estudiante.",
    )
    [(_, title, body)] = [n for n in bodies(room, bob.id) if n[0] == "cycle_finished"]
    assert (title, body) == (
        "Your wash is done",
        "Washer 2 has finished. Please collect your laundry so the next student can use it.",
    )


def test_a_student_who_switches_back_to_english_is_told_in_english(room: Room) -> None:
    ana = make_account(room.client, "100105")
    choose(room, ana, "es")
    choose(room, ana, "en")
    wash_to_the_end(room, ana, "dryer-1")
    assert [t for kind, t, _ in bodies(room, ana.id) if kind == "cycle_finished"] == ["Your drying is done"]


# --- the catalog's values ------------------------------------------------------------------


SUMMER_NOON = datetime(2026, 7, 1, 12, 5, tzinfo=UTC)
WASHER_1 = Machine("washer", 1)


@pytest.mark.parametrize(
    ("value", "english", "spanish"),
    [
        (text("cycle_finished.dryer_title"), "Your drying is done", "Tu secado ha terminado"),
        (
            text("cycle_interrupted.title", machine=Machine("dryer", 2)),
            "Dryer 2 stopped early",
            "La secadora 2 se paró antes de tiempo",
        ),
        (
            text("fault_step.scheduled_for", day=Day(date(2026, 12, 8))),
            "repair scheduled for Tue 8 Dec",
            "reparación prevista para el mar 8 dic",
        ),
        (
            text(
                "reservation_offered.body",
                machine=Machine("washer", 3),
                until=Clock(datetime(2026, 7, 1, 12, 5, tzinfo=UTC), "Europe/Madrid"),
            ),
            "Washer 3 is free and held for you until 14:05 CEST. Claim it before then.",
            "La lavadora 3 está libre y guardada para ti hasta las 14:05 CEST. Resérvala antes.",
        ),
        (
            text(
                "reservation_withdrawn.washer_body",
                why=text("hold_withdrawn.out_of_service", machine=Machine("washer", 1)),
            ),
            "Washer 1 was taken out of service. You keep your place at the head of the washer waitlist.",
            "La lavadora 1 se puso fuera de servicio. Sigues el primero en la lista de espera de lavadoras.",
        ),
        (
            alarm_rules.body_text(AlarmKind.SENSOR_FAULT, Change.OPEN, {"reason": "current sensor"}),
            "The edge reports a sensor fault (current sensor). Check the machine's sensors.",
            "El edge informa de un fallo de sensor (current sensor). Revisa los sensores de la máquina.",
        ),
        ("already words", "already words", "already words"),
    ],
)
def test_texts_render_in_each_language(value: Any, english: str, spanish: str) -> None:
    assert render(value, "en") == english
    assert render(value, "es") == spanish


def test_the_hold_offer_names_the_time_in_the_rooms_zone_as_utc_by_default() -> None:
    until = Clock(datetime(2026, 12, 4, 9, 30, tzinfo=UTC), "UTC")
    assert render(text("reservation_offered.body", machine=Machine("dryer", 1), until=until)) == (
        "Dryer 1 is free and held for you until 09:30 UTC. Claim it before then."
    )
