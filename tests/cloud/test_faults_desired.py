"""Out of service reaches the broker as retained desired state, with a growing revision.

The app runs with ingest on against the in-process amqtt broker; a plain paho client
plays a dashboard (or the edge of issue 6) watching the ``desired`` topics.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from kywash.contract import PAYLOAD_BY_LEAF, ContractError, FaultAlert, MachineDesired, decode_message
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import EdgePublisher, FakeEdge, wait_until
from tests.cloud.faults_support import report
from tests.conftest import BrokerHandle
from tests.support.mqtt_watch import MqttWatcher

Heard = tuple[str, Any, bool]


def watch_room(broker: BrokerHandle, edge: FakeEdge, leaf: str = "desired") -> MqttWatcher:
    """A watcher of one room's desired (or other machine ``leaf``) topics."""
    return MqttWatcher(broker.host, broker.port, f"kywash/v1/{edge.site}/{edge.room}/machine/+/{leaf}")


def heard(watcher: MqttWatcher) -> Heard:
    """The next message, decoded by the contract: the payload type of its leaf."""
    message = watcher.next_message()
    ref, payload = decode_message(message.topic, message.payload)
    assert isinstance(payload, PAYLOAD_BY_LEAF[ref.leaf])
    return message.topic, payload, message.retain


@pytest.fixture
def publisher(amqtt_broker: BrokerHandle) -> Iterator[EdgePublisher]:
    edge_client = EdgePublisher(amqtt_broker.host, amqtt_broker.port)
    yield edge_client
    edge_client.close()  # clears what it retained, including the desired topics it learned of


@pytest.fixture
def app_client(amqtt_broker: BrokerHandle, unique_site: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = CloudSettings(
        database_url=f"sqlite:///{tmp_path / 'cloud.db'}",
        mqtt_url=amqtt_broker.url,
        ingest_site=unique_site,
        photo_dir=str(tmp_path / "photos"),
    )
    with TestClient(create_app(settings, clock=FakeClock())) as client:
        source = client.app.state.cloud.source  # type: ignore[attr-defined]
        assert source is not None and source.wait_subscribed(10), "ingest never finished subscribing"
        yield client


def test_out_of_service_is_published_retained_for_the_edge(
    app_client: TestClient, publisher: EdgePublisher, amqtt_broker: BrokerHandle, unique_site: str
) -> None:
    edge = FakeEdge(site=unique_site)
    publisher.publish(edge.info(), retain=True)
    publisher.publish(edge.status(), retain=True)
    wait_until(lambda: app_client.get("/api/v1/machines/washer/2").status_code == 200, what="the room to register")
    staff = make_account(app_client, "boss", role="staff")
    live = watch_room(amqtt_broker, edge)
    try:
        out = app_client.post(
            "/api/v1/machines/washer/1/out-of-service", json={"reason": "door seal torn"}, headers=staff.headers
        )
        assert out.status_code == 200, out.text
        topic, desired, _ = heard(live)
        assert topic == f"kywash/v1/{unique_site}/r1/machine/washer-1/desired"
        assert (desired.machine, desired.out_of_service, desired.reason, desired.revision) == (
            "washer-1",
            True,
            "door seal torn",
            1,
        )

        for login in ("111111", "222222", "333333"):  # the threshold publishes too
            report(app_client, make_account(app_client, login), number=2)
        topic, desired, _ = heard(live)
        assert topic.endswith("/washer-2/desired")
        assert (desired.out_of_service, desired.reason, desired.revision) == (True, "3 open fault reports", 1)

        app_client.post("/api/v1/machines/washer/1/back-in-service", headers=staff.headers)
        _, desired, _ = heard(live)
        assert (desired.machine, desired.out_of_service, desired.reason, desired.revision) == (
            "washer-1",
            False,
            None,
            2,
        )
    finally:
        live.close()

    late = watch_room(amqtt_broker, edge)  # a dashboard (or edge) that connects afterwards
    try:
        retained = {topic: (desired, retain) for topic, desired, retain in (heard(late), heard(late))}
    finally:
        late.close()
    publisher.retained.update(retained)  # cleared when the publisher closes
    washer_1, retain_1 = retained[f"kywash/v1/{unique_site}/r1/machine/washer-1/desired"]
    washer_2, retain_2 = retained[f"kywash/v1/{unique_site}/r1/machine/washer-2/desired"]
    assert retain_1 and retain_2
    assert (washer_1.out_of_service, washer_1.revision) == (False, 2)
    assert (washer_2.out_of_service, washer_2.revision) == (True, 1)


def test_fault_reports_and_resolutions_are_published_for_alerting(
    app_client: TestClient, publisher: EdgePublisher, amqtt_broker: BrokerHandle, unique_site: str
) -> None:
    edge = FakeEdge(site=unique_site)
    publisher.publish(edge.info(), retain=True)
    publisher.publish(edge.status(), retain=True)
    wait_until(lambda: app_client.get("/api/v1/machines/washer/2").status_code == 200, what="the room to register")
    staff, alice = make_account(app_client, "boss", role="staff"), make_account(app_client, "111111")
    alerts = watch_room(amqtt_broker, edge, "fault")
    try:
        made = report(app_client, alice, number=2, description="Smells of burning")
        assert made.status_code == 201, made.text
        topic, alert, retained = heard(alerts)
        assert isinstance(alert, FaultAlert) and not retained
        assert topic == f"kywash/v1/{unique_site}/r1/machine/washer-2/fault"
        assert (alert.fault_id, alert.action, alert.automatic, alert.open_faults) == (
            made.json()["id"],
            "reported",
            False,
            1,
        )
        assert "111111" not in alert.to_bytes().decode()  # never who reported it

        resolved = app_client.post(
            f"/api/v1/faults/{alert.fault_id}/resolve", json={"note": "fan replaced"}, headers=staff.headers
        )
        assert resolved.status_code == 200, resolved.text
        _, alert, _ = heard(alerts)
        assert (alert.action, alert.open_faults) == ("resolved", 0)
    finally:
        alerts.close()


def test_the_desired_payload_follows_the_contract() -> None:
    topic = "kywash/v1/north/r1/machine/washer-1/desired"
    good = (
        b'{"schema":1,"machine":"washer-1","out_of_service":true,"reason":"torn seal","revision":3,'
        b'"ts":"2026-01-01T08:00:00Z","new":1}'
    )
    ref, desired = decode_message(topic, good)
    assert (ref.leaf, ref.machine) == ("desired", "washer-1")
    assert isinstance(desired, MachineDesired) and desired.revision == 3  # unknown fields ignored
    for bad in (good.replace(b'"revision":3', b'"revision":0'), good.replace(b"washer-1", b"washer-2")):
        with pytest.raises(ContractError) as refused:
            decode_message(topic, bad)
        assert refused.value.reason == "invalid"
