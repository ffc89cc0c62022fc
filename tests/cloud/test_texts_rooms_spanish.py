"""Errors about rooms, machines and webhooks in the reader's language: the logged-in user's,
else the request's ``Accept-Language``, else English, word for word what it always said. The
operator's ``kywash labels`` and a webhook's stored delivery error stay English."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import SecretStr
from starlette.testclient import TestClient

from cloud.domain.webhooks.targets import TargetRefused, public_address
from cloud.platform.settings import CloudSettings
from cloud.platform.texts import render
from cloud.runtime.app import create_app
from cloud.runtime.cli import cloud_command
from kywash.clock import FakeClock
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Room, open_room

SPANISH = {"Accept-Language": "es"}


@pytest.fixture
def room(client: TestClient, feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(client, feed, edge, fake_clock)


def error(response: Any, status: int) -> tuple[str, str]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    return body["code"], body["message"]


def choose(client: TestClient, account: Account, language: str) -> None:
    response = client.put("/api/v1/profile/update", headers=account.headers, json={"language": language})
    assert response.status_code == 200, response.text


# --- machines and rooms ---------------------------------------------------------------------


def test_claiming_a_machine_that_is_not_there_answers_in_the_readers_language(room: Room) -> None:
    ana, bob = make_account(room.client, "200201"), make_account(room.client, "200202")
    choose(room.client, ana, "es")
    body = {"machine_type": "washer", "machine_id": 9, "category": "normal"}
    place = f"{room.edge.site}/{room.edge.room}"
    assert error(room.post("/machines/start", body, ana.headers), 404) == (
        "no_such_machine",
        f"no hay ninguna lavadora número 9 en {place}",
    )
    assert error(room.post("/machines/start", body, bob.headers), 404) == (
        "no_such_machine",
        f"no washer number 9 in {place}",
    )


def test_looking_up_a_missing_machine_or_room_answers_in_the_requests_language(room: Room) -> None:
    place = f"{room.edge.site}/{room.edge.room}"
    spanish = room.client.get("/api/v1/machines/dryer/4", headers=SPANISH)
    assert error(spanish, 404) == ("no_such_machine", f"no hay ninguna secadora número 4 en {place}")
    english = room.client.get("/api/v1/machines/dryer/4")
    assert error(english, 404) == ("no_such_machine", f"no dryer number 4 in {place}")

    where = {"site": room.edge.site, "room": "r9"}
    spanish = room.client.get("/api/v1/machines/", params=where, headers=SPANISH)
    assert error(spanish, 404)[1] == f"ninguna sala coincide con site={room.edge.site} room=r9"
    assert error(room.client.get("/api/v1/machines/", params=where), 404)[1] == (
        f"no room matches site={room.edge.site} room=r9"
    )


def test_a_missing_machines_qr_code_answers_in_the_requests_language(room: Room) -> None:
    site, name = room.edge.site, room.edge.room
    url = f"/display/{site}/{name}/qr/boiler-1.svg"
    assert error(room.client.get(url, headers=SPANISH), 404) == (
        "no_such_machine",
        f"no hay ninguna máquina boiler-1 en {site}/{name}",
    )
    assert error(room.client.get(url), 404) == ("no_such_machine", f"no machine boiler-1 in {site}/{name}")


def test_a_spanish_staff_reader_asking_for_a_missing_rooms_events_reads_spanish(room: Room) -> None:
    spanish, english = (
        make_account(room.client, "warden", role="staff"),
        make_account(room.client, "tech", role="staff"),
    )
    choose(room.client, spanish, "es")
    url = "/api/v1/rooms/nowhere/events"
    assert error(room.client.get(url, headers=spanish.headers), 404) == (
        "room_not_found",
        "no hay ninguna sala 'nowhere'",
    )
    assert error(room.client.get(url, headers=english.headers), 404) == ("room_not_found", "no room 'nowhere'")
    in_site = room.client.get(url, params={"site": room.edge.site}, headers=spanish.headers)
    assert error(in_site, 404)[1] == f"no hay ninguna sala 'nowhere' en el sitio '{room.edge.site}'"


def test_the_labels_command_stays_english(sqlite_url: str, room: Room, tmp_path: Path) -> None:
    args = ["--site", room.edge.site, "--room", "nowhere", "--base-url", "https://wash.example.edu"]
    result = CliRunner().invoke(
        cloud_command, ["--database-url", sqlite_url, "labels", *args, "--out", str(tmp_path / "labels.pdf")]
    )
    assert result.exit_code == 2
    assert f"error: no room {room.edge.site}/nowhere" in result.stderr


# --- webhooks --------------------------------------------------------------------------------


@pytest.fixture
def hooks(tmp_path: Path, fake_clock: FakeClock) -> Iterator[TestClient]:
    """Production (https only, private targets refused), so every webhook refusal can be met."""
    settings = CloudSettings(
        environment="production",
        secret_key=SecretStr("a-production-secret-that-is-long-enough-0123456789"),
        database_url=f"sqlite:///{tmp_path / 'prod.db'}",
        ingest_enabled=False,
        timer_loop=False,
        webhook_sender=False,
        web_push=False,
    )
    with TestClient(create_app(settings, clock=fake_clock)) as client:
        yield client


def test_a_spanish_staff_reader_reads_why_a_webhook_is_refused_in_spanish(hooks: TestClient) -> None:
    spanish, english = make_account(hooks, "warden", role="staff"), make_account(hooks, "tech", role="staff")
    choose(hooks, spanish, "es")

    def made(url: str, staff: Account) -> tuple[str, str]:
        body = {"url": url, "events": ["room.offline"]}
        return error(hooks.post("/api/v1/webhooks", json=body, headers=staff.headers), 422)

    assert made("http://hooks.example.com/x", spanish) == (
        "invalid_webhook_url",
        "en producción, la URL de un webhook debe ser https://",
    )
    assert made("http://hooks.example.com/x", english) == (
        "invalid_webhook_url",
        "a webhook URL must be https:// in production",
    )
    assert made("https://user:pw@hooks.example.com/x", spanish)[1] == (
        "la URL de un webhook no puede llevar usuario ni contraseña"
    )
    assert made("https://127.0.0.1/hook", spanish) == (
        "webhook_target_refused",
        "el host del webhook '127.0.0.1' se resuelve a 127.0.0.1, que no es una dirección pública; "
        "se rechazan los destinos privados, de loopback y link-local (KYWASH_WEBHOOK_ALLOW_PRIVATE los permite)",
    )
    assert made("https://127.0.0.1/hook", english) == (
        "webhook_target_refused",
        "the webhook host '127.0.0.1' resolves to 127.0.0.1, which is not a public address; "
        "private, loopback and link-local targets are refused (KYWASH_WEBHOOK_ALLOW_PRIVATE allows them)",
    )


def test_a_missing_webhook_answers_in_the_requests_language(hooks: TestClient) -> None:
    staff = make_account(hooks, "tech", role="staff")
    spanish = hooks.delete("/api/v1/webhooks/99", headers={**staff.headers, **SPANISH})
    assert error(spanish, 404) == ("no_such_webhook", "no hay ningún webhook 99")
    english = hooks.get("/api/v1/webhooks/99/deliveries", headers=staff.headers)
    assert error(english, 404) == ("no_such_webhook", "no webhook 99")


def test_a_refusal_at_send_time_is_stored_in_english() -> None:
    """The sender stores ``str(exc)`` on the delivery row: the English rendering, whoever reads it."""
    with pytest.raises(TargetRefused) as refused:
        public_address("https://10.1.2.3/hook")
    assert str(refused.value).startswith("the webhook host '10.1.2.3' resolves to 10.1.2.3, which is not")
    assert refused.value.text is not None
    assert render(refused.value.text, "es").startswith("el host del webhook '10.1.2.3' se resuelve a 10.1.2.3")
