"""The staff webhook API: create (secret once), list, delete, deliveries; students 403; bad input 422."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from tests.cloud.accounts_support import make_account
from tests.cloud.faults_support import assert_error
from tests.cloud.webhooks_support import create_webhook, deliveries

PRODUCTION_SECRET = "a-production-secret-that-is-long-enough-0123456789"


@pytest.fixture
def app(tmp_path: Path, fake_clock: FakeClock) -> Iterator[TestClient]:
    settings = CloudSettings(
        database_url=f"sqlite:///{tmp_path / 'cloud.db'}", ingest_enabled=False, timer_loop=False, webhook_sender=False
    )
    with TestClient(create_app(settings, clock=fake_clock)) as client:
        yield client


def production_app(tmp_path: Path, clock: FakeClock, **settings: object) -> TestClient:
    return TestClient(
        create_app(
            CloudSettings(
                environment="production",
                secret_key=PRODUCTION_SECRET,
                database_url=f"sqlite:///{tmp_path / 'prod.db'}",
                ingest_enabled=False,
                timer_loop=False,
                webhook_sender=False,
                web_push=False,
                **settings,  # type: ignore[arg-type]
            ),
            clock=clock,
        )
    )


def test_staff_create_list_and_delete_a_webhook(app: TestClient) -> None:
    staff = make_account(app, "tech", role="staff")
    created = create_webhook(app, staff, "http://127.0.0.1:9/hook", ["machine.finished", "fault.reported"], "hall-a")
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["events"] == ["machine.finished", "fault.reported"] and created["site"] == "hall-a"

    listed = app.get("/api/v1/webhooks", headers=staff.headers).json()
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]  # shown once, at creation

    assert deliveries(app, staff, created["id"]) == {"items": [], "next_before": None}
    assert app.delete(f"/api/v1/webhooks/{created['id']}", headers=staff.headers).status_code == 204
    assert app.get("/api/v1/webhooks", headers=staff.headers).json() == []
    assert_error(app.delete(f"/api/v1/webhooks/{created['id']}", headers=staff.headers), 404, "no_such_webhook")
    assert_error(app.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=staff.headers), 404)


def test_every_secret_is_new(app: TestClient) -> None:
    staff = make_account(app, "tech", role="staff")
    secrets = {create_webhook(app, staff, "http://127.0.0.1:9/a", ["room.offline"])["secret"] for _ in range(3)}
    assert len(secrets) == 3


def test_students_and_strangers_may_not(app: TestClient) -> None:
    student = make_account(app, "1000001")
    body = {"url": "http://127.0.0.1:9/hook", "events": ["machine.finished"]}
    assert_error(app.post("/api/v1/webhooks", json=body, headers=student.headers), 403, "forbidden")
    assert_error(app.get("/api/v1/webhooks", headers=student.headers), 403)
    assert_error(app.delete("/api/v1/webhooks/1", headers=student.headers), 403)
    assert_error(app.get("/api/v1/webhooks/1/deliveries", headers=student.headers), 403)
    assert_error(app.get("/api/v1/webhooks"), 401)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "http://127.0.0.1:9/hook", "events": ["machine.exploded"]}, "invalid_input"),
        ({"url": "http://127.0.0.1:9/hook", "events": []}, "invalid_input"),
        ({"url": "http://127.0.0.1:9/hook"}, "invalid_input"),
        ({"url": "http://127.0.0.1:9/hook", "events": ["room.online"], "site": "Not A Site"}, "invalid_input"),
        ({"url": "ftp://example.com/hook", "events": ["room.online"]}, "invalid_webhook_url"),
        ({"url": "not a url", "events": ["room.online"]}, "invalid_webhook_url"),
        ({"url": "http://user:pw@127.0.0.1/hook", "events": ["room.online"]}, "invalid_webhook_url"),
        ({"url": "http://127.0.0.1:99999/hook", "events": ["room.online"]}, "invalid_webhook_url"),
    ],
)
def test_bad_webhooks_are_refused_with_a_reason(app: TestClient, body: dict[str, object], code: str) -> None:
    staff = make_account(app, "tech", role="staff")
    assert_error(app.post("/api/v1/webhooks", json=body, headers=staff.headers), 422, code)
    assert app.get("/api/v1/webhooks", headers=staff.headers).json() == []


def test_every_event_name_is_accepted(app: TestClient) -> None:
    staff = make_account(app, "tech", role="staff")
    events = [
        "machine.state_changed",
        "machine.finished",
        "machine.free",
        "fault.reported",
        "fault.updated",
        "machine.service_changed",
        "room.offline",
        "room.online",
        "staff.alarm",
    ]
    assert create_webhook(app, staff, "http://127.0.0.1:9/hook", events)["events"] == events


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1/hook", "https://localhost/hook", "https://10.1.2.3/hook", "https://169.254.169.254/latest"],
)
def test_production_refuses_private_targets(tmp_path: Path, fake_clock: FakeClock, url: str) -> None:
    with production_app(tmp_path, fake_clock) as app:
        staff = make_account(app, "tech", role="staff")
        error = assert_error(
            app.post("/api/v1/webhooks", json={"url": url, "events": ["room.offline"]}, headers=staff.headers),
            422,
            "webhook_target_refused",
        )
        assert "not a public address" in error["message"]


def test_production_wants_https(tmp_path: Path, fake_clock: FakeClock) -> None:
    with production_app(tmp_path, fake_clock) as app:
        staff = make_account(app, "tech", role="staff")
        body = {"url": "http://hooks.example.com/x", "events": ["room.offline"]}
        assert_error(app.post("/api/v1/webhooks", json=body, headers=staff.headers), 422, "invalid_webhook_url")


def test_production_allows_private_targets_when_told(tmp_path: Path, fake_clock: FakeClock) -> None:
    with production_app(tmp_path, fake_clock, webhook_allow_private=True) as app:
        staff = make_account(app, "tech", role="staff")
        assert create_webhook(app, staff, "https://127.0.0.1/hook", ["room.offline"])["url"] == "https://127.0.0.1/hook"
