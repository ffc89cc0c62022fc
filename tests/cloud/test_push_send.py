"""Web push end to end: a finished wash reaches a (fake) push service encrypted and signed,
and what the push service answers decides the subscription's fate; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from starlette.testclient import TestClient

from cloud.domain.notifications.send import notify
from cloud.platform.storage.tables import push_subscriptions
from cloud.processes.push_sender import MAX_FAILURES, TTL_S
from kywash.clock import FakeClock
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Room, open_room
from tests.cloud.push_support import Browser, FakePushService, unb64url, wait_for_pushes

SUBSCRIPTIONS = "/api/v1/push/subscriptions"


@pytest.fixture
def push_service() -> Iterator[FakePushService]:
    with FakePushService() as service:
        yield service


def subscribe(client: TestClient, user: Account, browser: Browser, endpoint: str) -> int:
    made = client.post(SUBSCRIPTIONS, json=browser.subscription(endpoint), headers=user.headers)
    assert made.status_code == 201, made.text
    subscription_id: int = made.json()["id"]
    return subscription_id


def send(client: TestClient, user: Account, type: str = "claim_expired") -> int:
    state = client.app.state.cloud  # type: ignore[attr-defined]
    sent = state.transactions.run(
        lambda tx: notify(tx, user.id, type, "Your claim expired", "The machine never started.")
    )
    wait_for_pushes(client)
    return sent


def failures(client: TestClient, subscription_id: int) -> int | None:
    """The subscription's failure count; None once it is gone."""
    with client.app.state.cloud.engine.connect() as conn:  # type: ignore[attr-defined]
        query = select(push_subscriptions.c.failures).where(push_subscriptions.c.id == subscription_id)
        value: int | None = conn.execute(query).scalar_one_or_none()
    return value


def metric(client: TestClient, name: str, **labels: str) -> float:
    registry = client.app.state.cloud.registry  # type: ignore[attr-defined]
    return registry.get_sample_value(f"kywash_push_{name}_total", labels or None) or 0.0


def test_a_finished_wash_reaches_the_browser_encrypted_and_signed(
    db_client: TestClient,
    db_feed: Callable[..., list[Any]],
    edge: FakeEdge,
    fake_clock: FakeClock,
    push_service: FakePushService,
) -> None:
    room: Room = open_room(db_client, db_feed, edge, fake_clock)
    alice, browser = make_account(db_client, "100001"), Browser()
    subscribe(db_client, alice, browser, push_service.url("/push/abc"))
    server_key = db_client.get("/api/v1/push/key").json()["public_key"]

    started = room.post("/machines/start", {"machine_type": "washer", "machine_id": 1}, alice.headers)
    assert started.status_code == 201, started.text
    room.sensors("washer-1", "start")
    room.sensors("washer-1", "finish")
    wait_for_pushes(db_client)

    [push] = push_service.received
    assert (push.method, push.path) == ("POST", "/push/abc")
    assert push.headers["content-encoding"] == "aes128gcm"
    assert push.headers["ttl"] == str(TTL_S) and push.headers["urgency"] == "high"
    match = re.fullmatch(r"vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)", push.headers["authorization"])
    assert match, push.headers["authorization"]
    token, signer_key = match.groups()
    assert signer_key == server_key
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(server_key))
    claims = jwt.decode(token, public, algorithms=["ES256"], audience=push_service.origin)
    assert claims["sub"] == "mailto:admin@kywash.invalid"
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600

    payload = browser.decrypt(push.body)
    notification = db_client.get("/api/v1/notifications/", headers=alice.headers).json()["items"][0]
    assert payload == {
        "id": notification["id"],
        "type": "cycle_finished",
        "title": "Your wash is done",
        "body": notification["body"],
        "data": notification["data"],
        "url": "/",
    }
    assert metric(db_client, "sent") == 1


def test_each_of_a_users_browsers_gets_it_and_nobody_elses(
    db_client: TestClient, push_service: FakePushService
) -> None:
    alice, bob = make_account(db_client, "100001"), make_account(db_client, "100002")
    phone, laptop, bobs = Browser(), Browser(), Browser()
    subscribe(db_client, alice, phone, push_service.url("/push/phone"))
    subscribe(db_client, alice, laptop, push_service.url("/push/laptop"))
    subscribe(db_client, bob, bobs, push_service.url("/push/bob"))

    send(db_client, alice)

    assert sorted(push.path for push in push_service.received) == ["/push/laptop", "/push/phone"]
    for push in push_service.received:
        browser = phone if push.path == "/push/phone" else laptop
        assert browser.decrypt(push.body)["title"] == "Your claim expired"
        assert push.headers["urgency"] == "normal"


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_calls_gone_is_deleted(
    db_client: TestClient, push_service: FakePushService, status: int
) -> None:
    alice = make_account(db_client, "100001")
    subscription_id = subscribe(db_client, alice, Browser(), push_service.url("/push/gone"))
    push_service.status = status

    send(db_client, alice)
    assert failures(db_client, subscription_id) is None
    assert metric(db_client, "failed", reason="gone") == 1
    assert metric(db_client, "subscriptions_removed", reason="gone") == 1

    send(db_client, alice)
    assert len(push_service.received) == 1, "nothing more is sent to a browser that is gone"


def test_a_server_error_counts_a_failure_and_keeps_the_subscription_until_too_many(
    db_client: TestClient, push_service: FakePushService
) -> None:
    alice = make_account(db_client, "100001")
    subscription_id = subscribe(db_client, alice, Browser(), push_service.url("/push/flaky"))
    push_service.status = 500

    send(db_client, alice)
    assert failures(db_client, subscription_id) == 1
    assert metric(db_client, "failed", reason="unavailable") == 1

    push_service.status = 201
    send(db_client, alice)
    assert failures(db_client, subscription_id) == 0, "a success resets the count"
    assert metric(db_client, "sent") == 1

    push_service.status = 503
    for _ in range(MAX_FAILURES - 1):
        send(db_client, alice)
    assert failures(db_client, subscription_id) == MAX_FAILURES - 1
    send(db_client, alice)
    assert failures(db_client, subscription_id) is None
    assert metric(db_client, "subscriptions_removed", reason="failing") == 1


def test_an_unreachable_push_service_is_a_network_failure(db_client: TestClient) -> None:
    alice = make_account(db_client, "100001")
    with FakePushService() as closed:
        endpoint = closed.url("/push/nobody")
    subscription_id = subscribe(db_client, alice, Browser(), endpoint)

    send(db_client, alice)

    assert failures(db_client, subscription_id) == 1
    assert metric(db_client, "failed", reason="network") == 1


def test_a_user_without_subscriptions_costs_nothing_visible(db_client: TestClient) -> None:
    alice = make_account(db_client, "100001")
    send(db_client, alice)
    assert metric(db_client, "sent") == 0
    assert sum(metric(db_client, "failed", reason=reason) for reason in ("gone", "network", "error")) == 0


def test_the_payload_is_json_the_service_worker_can_show(db_client: TestClient, push_service: FakePushService) -> None:
    alice, browser = make_account(db_client, "100001"), Browser()
    subscribe(db_client, alice, browser, push_service.url("/push/sw"))
    state = db_client.app.state.cloud  # type: ignore[attr-defined]
    long_body = "x" * 5000
    state.transactions.run(lambda tx: notify(tx, alice.id, "fault_resolved", "Fixed", long_body, {"fault_id": 7}))
    wait_for_pushes(db_client)

    payload = browser.decrypt(push_service.received[0].body)
    assert payload["data"] == {"fault_id": 7} and payload["url"] == "/"
    assert len(json.dumps(payload)) < 3000, "push services take about 4 KB"
