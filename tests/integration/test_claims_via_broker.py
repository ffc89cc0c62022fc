"""Claims and holds moved by edge events that travel through a real broker (amqtt and
Mosquitto) into the cloud's ingest, seen by students on the REST API and the WebSocket."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from kywash.contract import Door, EventType, MachineState
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import EdgePublisher, FakeEdge, wait_until
from tests.conftest import BrokerHandle
from tests.support.ws import next_machine, next_of


def machine(client: TestClient, number: int, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(f"/api/v1/machines/washer/{number}", headers=headers)
    return response.json() if response.status_code == 200 else {}


def test_edge_events_through_the_broker_move_claims_and_holds(
    any_broker: BrokerHandle,
    publisher: EdgePublisher,
    database_url: str,
    unique_site: str,
    fake_clock: FakeClock,
) -> None:
    edge = FakeEdge(site=unique_site)
    settings = CloudSettings(
        database_url=database_url, mqtt_url=any_broker.url, ingest_site=unique_site, timer_loop=False
    )
    with TestClient(create_app(settings, clock=fake_clock)) as client:
        source = client.app.state.cloud.source  # type: ignore[attr-defined]
        assert source.wait_subscribed(10)
        publisher.publish(edge.info(), retain=True)
        publisher.publish(edge.status(), retain=True)
        for m in edge.machines:
            publisher.publish(edge.state(m.id), retain=True)
        alice, carol = make_account(client, "100001"), make_account(client, "100003")
        wait_until(lambda: machine(client, 2, alice.headers).get("usage") == "free", what="the room to register")

        with client.websocket_connect(f"/api/ws?site={unique_site}", headers=alice.headers) as alice_ws:
            assert alice_ws.receive_json()["type"] == "snapshot"
            body = {"machine_type": "washer", "machine_id": 1, "category": "normal"}
            assert client.post("/api/v1/machines/start", json=body, headers=alice.headers).status_code == 201
            publisher.publish(edge.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING))
            publisher.publish(edge.event("washer-2", EventType.CYCLE_STARTED, MachineState.RUNNING))
            wait_until(lambda: machine(client, 1, alice.headers).get("in_use_by") == "you", what="claim confirmed")
            wait_until(lambda: machine(client, 2, alice.headers).get("in_use_by") == "unknown", what="unclaimed use")

            joined = client.post("/api/v1/waitlist/join", json={"machine_type": "washer"}, headers=carol.headers)
            assert joined.json()["my_position"] == 1

            publisher.publish(edge.event("washer-1", EventType.CYCLE_FINISHED, MachineState.FINISHED))
            done = next_of(alice_ws, "cycle_finished")
            assert (done["machine"], done["number"]) == ("washer-1", 1)
            note = next_of(alice_ws, "notification")["notification"]
            assert note["title"] == "Your wash is done"

        with client.websocket_connect(f"/api/ws?site={unique_site}", headers=carol.headers) as carol_ws:
            assert carol_ws.receive_json()["type"] == "snapshot"
            publisher.publish(edge.event("washer-1", EventType.DOOR_OPENED, MachineState.DOOR_OPEN, door=Door.OPEN))
            held = next_machine(carol_ws, "washer-1", usage="reserved")  # machine views first, then the events
            assert held["reserved_for_me"] is True
            offer = next_of(carol_ws, "reservation_offered")
            assert offer["machine"] == "washer-1"
        assert machine(client, 1, alice.headers)["reserved_for_me"] is False
