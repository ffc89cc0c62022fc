"""Who may call what: every HTTP endpoint, as anonymous, the owner of the things it names,
another student, and staff — on SQLite and PostgreSQL.

Each cell runs on a freshly set-up scenario (the owner has a pending claim on washer 1, a
fault report with a photo, a notification, a place on the dryer waitlist and a browser
subscribed to web push; staff have taken washer 3 out of service), so no cell depends on
another. A test also fails if an endpoint exists that the matrix does not cover.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete, update
from starlette.testclient import TestClient

from cloud.domain.accounts.sessions import start_session
from cloud.domain.laundry import claims, store, waitlist
from cloud.domain.laundry.rules import Category
from cloud.domain.notifications.send import notify
from cloud.domain.push import store as push_store
from cloud.domain.push.schemas import SubscriptionCreate
from cloud.platform.storage import tables
from kywash.clock import FakeClock, to_datetime
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.faults_support import JPEG
from tests.cloud.laundry_support import open_room
from tests.cloud.push_support import Browser
from tests.support.seed import demo_room_edge

ROLES = ("anonymous", "owner", "other", "staff")
_ids = itertools.count(200_000)


@dataclass
class Scenario:
    client: TestClient
    accounts: dict[str, Account]
    fault_id: int = 0
    notification_id: int = 0
    webhook_id: int = 0

    def tokens(self, role: str) -> tuple[dict[str, str], str | None]:
        """Fresh headers and refresh token for ``role`` (a new session per cell)."""
        if role == "anonymous":
            return {}, None
        account = self.accounts[role]
        state: Any = self.client.app.state.cloud  # type: ignore[attr-defined]
        with state.engine.begin() as conn:
            pair = start_session(conn, state.settings, account.id, to_datetime(state.clock.now()))
        return {"Authorization": f"Bearer {pair.access_token}"}, pair.refresh_token


Request = Callable[[Scenario, dict[str, str], str | None], Any]


def call(method: str, path: str, **kwargs: Any) -> Request:
    def request(s: Scenario, headers: dict[str, str], refresh: str | None) -> Any:
        target = path.format(
            fault=s.fault_id, notification=s.notification_id, owner=s.accounts["owner"].id, webhook=s.webhook_id
        )
        return s.client.request(method, f"/api/v1{target}", headers=headers, **kwargs)

    return request


def with_refresh(method: str, path: str) -> Request:
    def request(s: Scenario, headers: dict[str, str], refresh: str | None) -> Any:
        token = refresh or s.tokens("owner")[1]
        return s.client.request(method, f"/api/v1{path}", headers=headers, json={"refresh_token": token})

    return request


def register() -> Request:
    def request(s: Scenario, headers: dict[str, str], refresh: str | None) -> Any:
        body = {"student_id": str(next(_ids)), "pin": "2468", "phone_number": "5551234567"}
        return s.client.post("/api/v1/auth/register", json=body, headers=headers)

    return request


def report() -> Request:
    def request(s: Scenario, headers: dict[str, str], refresh: str | None) -> Any:
        form = {"machine_type": "washer", "machine_id": "2", "description": "drum squeaks"}
        return s.client.post("/api/v1/faults/report", data=form, files={"photo": ("a.jpg", JPEG)}, headers=headers)

    return request


W1 = {"machine_type": "washer", "machine_id": 1}
BROWSER = Browser()
OWNER_PUSH = BROWSER.subscription("http://127.0.0.1:9/push/owner")  # the discard port: nothing listens
NEW_PUSH = BROWSER.subscription("http://127.0.0.1:9/push/new")
MATRIX: dict[tuple[str, str], tuple[Request, tuple[int, int, int, int]]] = {
    ("post", "/api/v1/auth/register"): (register(), (201, 201, 201, 201)),
    ("post", "/api/v1/auth/login"): (
        call("POST", "/auth/login", json={"student_id": "100001", "pin": "1234"}),
        (200, 200, 200, 200),
    ),
    ("post", "/api/v1/auth/staff/login"): (
        call("POST", "/auth/staff/login", json={"username": "warden", "password": "staff-password-123"}),
        (200, 200, 200, 200),
    ),
    ("post", "/api/v1/auth/refresh"): (with_refresh("POST", "/auth/refresh"), (200, 200, 200, 200)),
    ("post", "/api/v1/auth/logout"): (with_refresh("POST", "/auth/logout"), (401, 204, 204, 204)),
    ("get", "/api/v1/profile/me"): (call("GET", "/profile/me"), (401, 200, 200, 200)),
    ("put", "/api/v1/profile/update"): (
        call("PUT", "/profile/update", json={"phone_number": "5557654321"}),
        (401, 200, 200, 200),
    ),
    ("get", "/api/v1/machines/"): (call("GET", "/machines/"), (200, 200, 200, 200)),
    ("get", "/api/v1/machines/{kind}/{number}"): (call("GET", "/machines/washer/1"), (200, 200, 200, 200)),
    ("get", "/api/v1/rooms"): (call("GET", "/rooms"), (200, 200, 200, 200)),
    ("post", "/api/v1/machines/start"): (
        call("POST", "/machines/start", json={"machine_type": "washer", "machine_id": 2}),
        (401, 409, 201, 201),  # the owner already has a washer claim
    ),
    ("post", "/api/v1/machines/cancel"): (call("POST", "/machines/cancel", json=W1), (401, 200, 404, 200)),
    ("post", "/api/v1/machines/end"): (call("POST", "/machines/end", json=W1), (401, 200, 404, 200)),
    ("get", "/api/v1/waitlist/{machine_type}"): (call("GET", "/waitlist/dryer"), (401, 200, 200, 200)),
    ("post", "/api/v1/waitlist/join"): (
        call("POST", "/waitlist/join", json={"machine_type": "dryer"}),
        (401, 409, 201, 201),  # the owner is already waiting
    ),
    ("post", "/api/v1/waitlist/leave"): (
        call("POST", "/waitlist/leave", json={"machine_type": "dryer"}),
        (401, 200, 404, 404),
    ),
    ("post", "/api/v1/faults/report"): (report(), (401, 201, 201, 201)),
    ("get", "/api/v1/faults/"): (call("GET", "/faults/"), (401, 200, 200, 200)),
    ("get", "/api/v1/faults/{fault_id}/photo"): (call("GET", "/faults/{fault}/photo"), (401, 200, 404, 200)),
    ("post", "/api/v1/faults/{fault_id}/resolve"): (
        call("POST", "/faults/{fault}/resolve", json={"note": "fixed"}),
        (401, 403, 403, 200),
    ),
    ("post", "/api/v1/faults/{fault_id}/status"): (
        call("POST", "/faults/{fault}/status", json={"status": "acknowledged", "note": "seen"}),
        (401, 403, 403, 200),
    ),
    ("get", "/api/v1/rooms/{room}/repairs"): (call("GET", "/rooms/r1/repairs"), (401, 200, 200, 200)),
    ("get", "/api/v1/faults/{machine_type}/{machine_id}"): (call("GET", "/faults/washer/1"), (401, 200, 200, 200)),
    ("post", "/api/v1/machines/{machine_type}/{machine_id}/out-of-service"): (
        call("POST", "/machines/washer/2/out-of-service", json={"reason": "leaking"}),
        (401, 403, 403, 200),
    ),
    ("post", "/api/v1/machines/{machine_type}/{machine_id}/back-in-service"): (
        call("POST", "/machines/washer/3/back-in-service", json={}),
        (401, 403, 403, 200),
    ),
    ("get", "/api/v1/notifications/"): (call("GET", "/notifications/"), (401, 200, 200, 200)),
    ("post", "/api/v1/notifications/read-all"): (call("POST", "/notifications/read-all"), (401, 200, 200, 200)),
    ("put", "/api/v1/notifications/{notification_id}/read"): (
        call("PUT", "/notifications/{notification}/read"),
        (401, 200, 404, 404),
    ),
    ("delete", "/api/v1/notifications/{notification_id}"): (
        call("DELETE", "/notifications/{notification}"),
        (401, 204, 404, 404),
    ),
    ("get", "/api/v1/push/key"): (call("GET", "/push/key"), (200, 200, 200, 200)),
    ("post", "/api/v1/push/subscriptions"): (call("POST", "/push/subscriptions", json=NEW_PUSH), (401, 201, 201, 201)),
    ("delete", "/api/v1/push/subscriptions"): (
        call("DELETE", "/push/subscriptions", json={"endpoint": OWNER_PUSH["endpoint"]}),
        (401, 204, 404, 404),
    ),
    ("get", "/api/v1/activities/"): (call("GET", "/activities/"), (401, 200, 200, 200)),
    ("get", "/api/v1/activities/user/{user_id}"): (call("GET", "/activities/user/{owner}"), (401, 200, 404, 200)),
    ("get", "/api/v1/rooms/{room}/events"): (call("GET", "/rooms/r1/events"), (401, 403, 403, 200)),
    ("get", "/api/v1/rooms/status"): (call("GET", "/rooms/status"), (401, 403, 403, 200)),
    ("get", "/api/v1/alarms"): (call("GET", "/alarms"), (401, 403, 403, 200)),
    ("get", "/api/v1/rooms/{room}/busy-hours"): (call("GET", "/rooms/r1/busy-hours"), (200, 200, 200, 200)),
    ("post", "/api/v1/webhooks"): (
        call("POST", "/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["machine.finished"]}),
        (401, 403, 403, 201),
    ),
    ("get", "/api/v1/webhooks"): (call("GET", "/webhooks"), (401, 403, 403, 200)),
    ("delete", "/api/v1/webhooks/{webhook_id}"): (call("DELETE", "/webhooks/{webhook}"), (401, 403, 403, 204)),
    ("get", "/api/v1/webhooks/{webhook_id}/deliveries"): (
        call("GET", "/webhooks/{webhook}/deliveries"),
        (401, 403, 403, 200),
    ),
    ("get", "/api/health"): (
        lambda s, headers, refresh: s.client.get("/api/health", headers=headers),
        (200, 200, 200, 200),
    ),
}

DOMAIN_TABLES = (
    tables.claims,
    tables.waitlist_entries,
    tables.fault_updates,
    tables.faults,
    tables.notifications,
    tables.activities,
    tables.push_subscriptions,
    tables.webhook_deliveries,
    tables.webhooks,
)


def reset(s: Scenario) -> None:
    """Back to the scenario of the module docstring."""
    state: Any = s.client.app.state.cloud  # type: ignore[attr-defined]
    with state.engine.begin() as conn:
        for table in DOMAIN_TABLES:
            conn.execute(delete(table))
        conn.execute(delete(tables.login_throttle))
        conn.execute(update(tables.machines).values(out_of_service=False, service_reason=None, service_since=None))
        conn.execute(
            update(tables.machines).where(tables.machines.c.machine_id == "washer-3").values(out_of_service=True)
        )
    owner = s.accounts["owner"]

    def setup(tx: Any) -> int:
        from cloud.platform.viewer import Viewer

        room = store.machine_refs(tx.conn, kind="washer")
        washer_1 = next(m for m in room if m.number == 1)
        claims.start(tx, washer_1, Viewer(owner.id, "student", owner.login, None, "s"), Category.NORMAL)
        from cloud.platform.storage.repository import get_room

        found = get_room(tx.conn, washer_1.room_id)
        assert found is not None
        waitlist.join(tx, found, "dryer", owner.id)
        return notify(tx, owner.id, "test", "hello", "a notification for the owner")

    s.notification_id = state.transactions.run(setup)
    owner_push = SubscriptionCreate.model_validate(OWNER_PUSH)
    state.transactions.run(lambda tx: push_store.subscribe(tx, owner.id, owner_push, None))
    made = s.client.post(
        "/api/v1/faults/report",
        data={"machine_type": "washer", "machine_id": "1", "description": "door seal leaks"},
        files={"photo": ("leak.jpg", JPEG)},
        headers=owner.headers,
    )
    assert made.status_code == 201, made.text
    s.fault_id = made.json()["id"]
    with state.engine.begin() as conn:
        s.webhook_id = conn.execute(
            tables.webhooks.insert()
            .values(
                url="http://127.0.0.1:9/hook",
                events=["fault.reported"],
                secret="whsec_QUJD",
                created_at=to_datetime(state.clock.now()),
            )
            .returning(tables.webhooks.c.id)
        ).scalar_one()


@pytest.fixture
def scenario(
    db_client: TestClient, db_feed: Callable[..., list[Any]], unique_site: str, fake_clock: FakeClock
) -> Scenario:
    room = open_room(db_client, db_feed, demo_room_edge(unique_site, "r1"), fake_clock)
    for number in range(1, 7):  # every dryer busy, so the owner's place on the dryer waitlist is a real wait
        room.sensors(f"dryer-{number}", "start")
    accounts = {
        "owner": make_account(db_client, "100001"),
        "other": make_account(db_client, "100002"),
        "staff": make_account(db_client, "warden", role="staff"),
    }
    return Scenario(db_client, accounts)


def test_every_endpoint_is_in_the_matrix(db_client: TestClient) -> None:
    operations = {
        (method, path)
        for path, ops in db_client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in ops
    }
    assert operations == set(MATRIX)


def test_access_matrix(scenario: Scenario) -> None:
    wrong = []
    for (method, path), (request, expected) in MATRIX.items():
        for role, status in zip(ROLES, expected, strict=True):
            reset(scenario)
            headers, refresh = scenario.tokens(role)
            response = request(scenario, headers, refresh)
            if response.status_code != status:
                wrong.append(f"{method.upper()} {path} as {role}: {response.status_code} (expected {status})")
            if response.status_code >= 400 and response.status_code != 405:
                assert set(response.json()) == {"error"}, f"{method} {path}: {response.text}"
    assert not wrong, "\n".join(wrong)


def test_the_websocket_refuses_anonymous_and_admits_every_role(scenario: Scenario) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as refused, scenario.client.websocket_connect("/api/ws") as ws:
        ws.send_json({"type": "hello"})
        ws.receive_json()
    assert refused.value.code == 4401
    for role in ("owner", "other", "staff"):
        headers, _ = scenario.tokens(role)
        with scenario.client.websocket_connect("/api/ws", headers=headers) as ws:
            assert ws.receive_json()["type"] == "snapshot"
