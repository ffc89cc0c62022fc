"""Webhook deliveries end to end: events queued with their change, sent signed to a real
receiver, retried with the same id until delivered, never sent for another site's events,
for a rolled-back change, or (in production) to a private address."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook
from starlette.testclient import TestClient

from cloud.domain.webhooks.queue import enqueue_webhooks
from cloud.platform.settings import CloudSettings
from cloud.platform.storage.tables import webhook_deliveries
from cloud.processes.webhook_sender import WebhookSender
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.faults_support import report
from tests.cloud.laundry_support import Room, open_room
from tests.cloud.webhooks_support import Receiver, create_webhook, deliveries, receiver, sender

Feed = Callable[..., list[Any]]


def settings_for(tmp_path: Path, site: str, **overrides: Any) -> CloudSettings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'cloud.db'}",
        "ingest_enabled": False,
        "ingest_site": site,
        "timer_loop": False,
        "webhook_sender": False,  # the tests send what is due themselves, on the fake clock
        "web_push": False,
        "photo_dir": str(tmp_path / "photos"),
    }
    return CloudSettings(**(values | overrides))


def running(settings: CloudSettings, clock: FakeClock) -> TestClient:
    return TestClient(create_app(settings, clock=clock))


def feeder(client: TestClient) -> Feed:
    def feed(*messages: tuple[str, bytes]) -> list[Any]:
        ingest = client.app.state.cloud.ingest  # type: ignore[attr-defined]
        assert client.portal is not None
        return [client.portal.call(ingest.handle, topic, payload) for topic, payload in messages]

    return feed


@pytest.fixture
def app(tmp_path: Path, unique_site: str, fake_clock: FakeClock) -> Iterator[TestClient]:
    with running(settings_for(tmp_path, unique_site), fake_clock) as client:
        yield client


@pytest.fixture
def staff(app: TestClient) -> Account:
    return make_account(app, "tech", role="staff")


@pytest.fixture
def room(app: TestClient, edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(app, feeder(app), edge, fake_clock)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as listening:
        yield listening


def bodies(received: Receiver) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in received.received]


def test_a_finished_wash_reaches_the_receiver_signed(
    app: TestClient, staff: Account, room: Room, hook: Receiver, edge: FakeEdge
) -> None:
    created = create_webhook(app, staff, hook.url, ["machine.finished"])
    room.sensors("washer-1", "start")
    room.sensors("washer-1", "finish")

    assert sender(app).send_due() == 1
    (request,) = hook.received
    assert request.signature_valid(created["secret"])
    assert not request.signature_valid("whsec_" + "QUJD" * 8)  # another secret does not verify it
    assert request.message_id.startswith("msg_")
    body = json.loads(request.body)
    assert body["type"] == "machine.finished"
    assert body["text"] == f"Washer 1 in {edge.site}/r1 finished"
    assert body["data"] | {"site": edge.site, "room": "r1", "machine": "washer-1", "state": "finished"} == body["data"]
    assert body["timestamp"].endswith("Z")

    (shown,) = deliveries(app, staff, created["id"])["items"]
    assert shown["status"] == "delivered" and shown["attempts"] == 1 and shown["last_status_code"] == 204
    assert shown["message_id"] == request.message_id and shown["delivered_at"] is not None
    assert sender(app).send_due() == 0  # delivered once, not again


def test_the_standard_webhooks_verifier_accepts_it(tmp_path: Path, unique_site: str) -> None:
    """With a clock at the real time, the package's own ``verify`` (which checks the age) passes."""
    clock = FakeClock(start=time.time())
    with running(settings_for(tmp_path, unique_site), clock) as client, receiver() as hook:
        staff = make_account(client, "tech", role="staff")
        created = create_webhook(client, staff, hook.url, ["room.offline"])
        with client.app.state.cloud.transactions.begin() as tx:  # type: ignore[attr-defined]
            enqueue_webhooks(tx, "room.offline", site=unique_site, data={"room": "r1"}, text="r1 went offline")
        assert sender(client).send_due() == 1
        (request,) = hook.received
        payload = Webhook(created["secret"]).verify(request.body, request.headers)
        assert payload["type"] == "room.offline" and payload["data"] == {"site": unique_site, "room": "r1"}


def test_a_failing_receiver_is_retried_with_the_same_id_until_it_recovers(
    app: TestClient, staff: Account, room: Room, fake_clock: FakeClock
) -> None:
    with receiver(500, 503) as hook:
        created = create_webhook(app, staff, hook.url, ["machine.finished"])
        room.sensors("washer-1", "start")
        room.sensors("washer-1", "finish")
        send = sender(app)

        assert send.send_due() == 1
        (shown,) = deliveries(app, staff, created["id"])["items"]
        assert shown["status"] == "pending" and shown["attempts"] == 1 and shown["last_status_code"] == 500
        assert shown["last_error"] == "HTTP 500" and shown["next_attempt_at"] is not None
        assert send.send_due() == 0  # not due yet: the backoff holds it

        fake_clock.advance(app.app.state.cloud.settings.webhook_retry_base_s)  # type: ignore[attr-defined]
        assert send.send_due() == 1
        fake_clock.advance(3600)
        assert send.send_due() == 1
        fake_clock.advance(86_400)
        assert send.send_due() == 0  # delivered: never again

    assert [r.message_id for r in hook.received] == [hook.received[0].message_id] * 3
    assert len({r.body for r in hook.received}) == 1  # the same bytes every time
    later = make_account(app, "tech-later", role="staff")  # the first one's token ran out meanwhile
    (shown,) = deliveries(app, later, created["id"])["items"]
    assert shown["status"] == "delivered" and shown["attempts"] == 3 and shown["last_status_code"] == 204
    metrics = sender(app).metrics
    assert (metrics.count("retrying"), metrics.count("delivered")) == (2, 1)


def test_a_receiver_failing_all_day_is_given_up(tmp_path: Path, unique_site: str, fake_clock: FakeClock) -> None:
    settings = settings_for(tmp_path, unique_site, webhook_retry_for_s=600, webhook_retry_max_s=120)
    with running(settings, fake_clock) as client, receiver(*[500] * 100) as hook:
        staff = make_account(client, "tech", role="staff")
        created = create_webhook(client, staff, hook.url, ["staff.alarm"])
        with client.app.state.cloud.transactions.begin() as tx:  # type: ignore[attr-defined]
            enqueue_webhooks(tx, "staff.alarm", site=unique_site, data={"alarm": "flood"}, text="Flood in r1")
        for _ in range(50):
            sender(client).send_due()
            fake_clock.advance(120)
        later = make_account(client, "tech-later", role="staff")
        (shown,) = deliveries(client, later, created["id"])["items"]
    assert shown["status"] == "failed" and shown["next_attempt_at"] is None
    assert 3 <= shown["attempts"] == len(hook.received) < 50
    assert len({r.message_id for r in hook.received}) == 1


def test_an_unreachable_receiver_is_recorded_and_retried(
    app: TestClient, staff: Account, unique_site: str, fake_clock: FakeClock
) -> None:
    with receiver() as gone:
        url = gone.url  # a port nobody listens on once this closes
    created = create_webhook(app, staff, url, ["room.online"])
    with app.app.state.cloud.transactions.begin() as tx:  # type: ignore[attr-defined]
        enqueue_webhooks(tx, "room.online", site=unique_site, data={"room": "r1"}, text="r1 is back online")
    assert sender(app).send_due() == 1
    (shown,) = deliveries(app, staff, created["id"])["items"]
    assert shown["status"] == "pending" and shown["last_status_code"] is None
    assert shown["last_error"].startswith("ConnectError")


def test_only_the_webhooks_of_the_events_site_get_it(
    app: TestClient, staff: Account, room: Room, hook: Receiver, edge: FakeEdge
) -> None:
    mine = create_webhook(app, staff, hook.url + "/mine", ["machine.finished"], edge.site)
    every = create_webhook(app, staff, hook.url + "/every", ["machine.finished"])
    other = create_webhook(app, staff, hook.url + "/other", ["machine.finished"], "another-site")
    room.sensors("washer-1", "start")
    room.sensors("washer-1", "finish")
    assert sender(app).send_due() == 2
    assert sorted(r.path for r in hook.received) == ["/hook/every", "/hook/mine"]
    assert deliveries(app, staff, other["id"])["items"] == []
    assert len(deliveries(app, staff, mine["id"])["items"]) == len(deliveries(app, staff, every["id"])["items"]) == 1


def test_a_machine_cycle_makes_its_events(
    app: TestClient, staff: Account, room: Room, hook: Receiver, edge: FakeEdge
) -> None:
    create_webhook(app, staff, hook.url, ["machine.state_changed", "machine.finished", "machine.free"])
    for what in ("start", "finish", "open"):
        room.sensors("washer-1", what)
    sender(app).send_due()
    name = f"Washer 1 in {edge.site}/r1"
    assert sorted((b["type"], b["text"]) for b in bodies(hook)) == sorted(
        [
            ("machine.state_changed", f"{name} is now running"),
            ("machine.state_changed", f"{name} is now finished"),
            ("machine.finished", f"{name} finished"),
            ("machine.state_changed", f"{name} is now door open"),
            ("machine.free", f"{name} is free"),
        ]
    )


def test_events_a_webhook_did_not_ask_for_are_not_queued(app: TestClient, staff: Account, room: Room) -> None:
    created = create_webhook(app, staff, "http://127.0.0.1:9/hook", ["fault.reported"])
    room.sensors("washer-1", "start")
    room.sensors("washer-1", "finish")
    assert deliveries(app, staff, created["id"])["items"] == []


def test_faults_and_service_changes_make_their_events(
    app: TestClient, staff: Account, room: Room, hook: Receiver, edge: FakeEdge
) -> None:
    create_webhook(app, staff, hook.url, ["fault.reported", "fault.updated", "machine.service_changed"])
    student = make_account(app, "1000001")
    params = {"site": edge.site, "room": "r1"}
    reported = report(app, student, params=params, description="It leaks")
    assert reported.status_code == 201, reported.text
    fault_id = reported.json()["id"]
    resolve = app.post(f"/api/v1/faults/{fault_id}/resolve", json={"note": "hose tightened"}, headers=staff.headers)
    assert resolve.status_code == 200, resolve.text
    out = app.post(
        "/api/v1/machines/dryer/1/out-of-service", params=params, json={"reason": "drum noise"}, headers=staff.headers
    )
    assert out.status_code == 200, out.text
    back = app.post("/api/v1/machines/dryer/1/back-in-service", params=params, headers=staff.headers)
    assert back.status_code == 200, back.text

    sender(app).send_due()
    sent = {(b["type"], b["text"]): b["data"] for b in bodies(hook)}
    washer, dryer = f"Washer 1 in {edge.site}/r1", f"Dryer 1 in {edge.site}/r1"
    assert set(sent) == {
        ("fault.reported", f"Fault reported on {washer}"),
        ("fault.updated", f"A fault report on {washer} was resolved: hose tightened"),
        ("machine.service_changed", f"{dryer} was taken out of service: drum noise"),
        ("machine.service_changed", f"{dryer} is back in service"),
    }
    reported_data = sent[("fault.reported", f"Fault reported on {washer}")]
    assert reported_data["fault_id"] == fault_id and reported_data["description"] == "It leaks"
    assert "reporter" not in reported_data and student.login not in json.dumps(reported_data)


def test_a_rolled_back_change_queues_nothing(app: TestClient, staff: Account, unique_site: str) -> None:
    create_webhook(app, staff, "http://127.0.0.1:9/hook", ["staff.alarm"])
    state = app.app.state.cloud  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError), state.transactions.begin() as tx:
        enqueue_webhooks(tx, "staff.alarm", site=unique_site, data={}, text="never")
        raise RuntimeError("the change fails after queueing")
    with state.engine.connect() as conn:
        assert conn.execute(select(webhook_deliveries.c.id)).all() == []


def test_unknown_event_names_are_a_bug_of_the_caller(app: TestClient, unique_site: str) -> None:
    state = app.app.state.cloud  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unknown webhook event"), state.transactions.begin() as tx:
        enqueue_webhooks(tx, "room.exploded", site=unique_site, data={}, text="")


def test_a_private_target_is_refused_at_send_time_in_production(
    app: TestClient, staff: Account, hook: Receiver, unique_site: str, fake_clock: FakeClock
) -> None:
    """Made while private targets were allowed (or its DNS changed since): the send is refused."""
    created = create_webhook(app, staff, hook.url, ["staff.alarm"])
    state = app.app.state.cloud  # type: ignore[attr-defined]
    with state.transactions.begin() as tx:
        enqueue_webhooks(tx, "staff.alarm", site=unique_site, data={}, text="Flood")
    strict = state.settings.model_copy(update={"webhook_allow_private": False})
    metrics = sender(app).metrics
    assert WebhookSender(state.engine, fake_clock, strict, metrics).send_due() == 1
    assert hook.received == []
    (shown,) = deliveries(app, staff, created["id"])["items"]
    assert shown["status"] == "failed" and "not a public address" in shown["last_error"]
    assert metrics.count("refused") == 1


def test_deleting_a_webhook_drops_what_it_had_queued(
    app: TestClient, staff: Account, hook: Receiver, unique_site: str
) -> None:
    created = create_webhook(app, staff, hook.url, ["staff.alarm"])
    state = app.app.state.cloud  # type: ignore[attr-defined]
    with state.transactions.begin() as tx:
        enqueue_webhooks(tx, "staff.alarm", site=unique_site, data={}, text="Flood")
    assert app.delete(f"/api/v1/webhooks/{created['id']}", headers=staff.headers).status_code == 204
    assert sender(app).send_due() == 0
    assert hook.received == []


def test_deliveries_are_paged_newest_first_and_counted_in_the_queue(
    app: TestClient, staff: Account, unique_site: str
) -> None:
    created = create_webhook(app, staff, "http://127.0.0.1:9/hook", ["staff.alarm"])
    state = app.app.state.cloud  # type: ignore[attr-defined]
    for n in range(3):
        with state.transactions.begin() as tx:
            enqueue_webhooks(tx, "staff.alarm", site=unique_site, data={"n": n}, text=f"alarm {n}")
    first = deliveries(app, staff, created["id"], limit=2)
    assert len(first["items"]) == 2 and first["next_before"] is not None
    rest = deliveries(app, staff, created["id"], limit=2, before=first["next_before"])
    assert len(rest["items"]) == 1 and rest["next_before"] is None
    ids = [d["id"] for d in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True)
    assert state.registry.get_sample_value("kywash_webhook_queue_depth") == 3


def test_a_running_sender_sends_right_after_the_commit(tmp_path: Path, unique_site: str) -> None:
    """The poll is a minute: only the wake after the commit makes it leave at once."""
    settings = settings_for(tmp_path, unique_site, webhook_sender=True, webhook_poll_s=60)
    with running(settings, FakeClock()) as client, receiver() as hook:
        staff = make_account(client, "tech", role="staff")
        create_webhook(client, staff, hook.url, ["staff.alarm"])
        time.sleep(0.2)  # the workers have looked once and now wait for their minute's poll
        with client.app.state.cloud.transactions.begin() as tx:  # type: ignore[attr-defined]
            enqueue_webhooks(tx, "staff.alarm", site=unique_site, data={}, text="Flood in r1")
        assert len(hook.wait_for(1, timeout=5)) == 1
        assert json.loads(hook.received[0].body)["text"] == "Flood in r1"


def test_a_silent_room_and_its_return_make_room_and_alarm_events(
    app: TestClient, staff: Account, room: Room, hook: Receiver
) -> None:
    from cloud.processes.timers import fire_due

    create_webhook(app, staff, hook.url, ["room.offline", "room.online", "staff.alarm"])
    state = app.app.state.cloud  # type: ignore[attr-defined]
    room.clock.advance(6 * 60)  # unheard for more than the 5-minute threshold
    assert fire_due(state.transactions, state.ingest.metrics).silence_alarms == 1
    fire_due(state.transactions, state.ingest.metrics)  # a later round: no second incident
    room.feed(room.edge.status(online=True), room.edge.telemetry("washer-1", 0.0, minutes=7))
    sender(app).send_due()
    sent = [(b["type"], b["data"].get("change")) for b in bodies(hook)]
    assert sorted(sent, key=str) == sorted(
        [("room.offline", None), ("staff.alarm", "opened"), ("room.online", None), ("staff.alarm", "cleared")], key=str
    )
    assert all(b["data"]["room"] == "r1" and b["text"] for b in bodies(hook))
