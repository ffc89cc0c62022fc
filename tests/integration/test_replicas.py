"""Two cloud replicas on one database and one broker: a change made on either reaches the
WebSocket clients of both (through the fan-out topic), and an edge event is applied once."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.processes.fanout import FANOUT_TOPIC, decode, encode
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from kywash.contract import EventType, MachineState
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import EdgePublisher, FakeEdge, wait_until
from tests.conftest import BrokerHandle
from tests.support.ws import next_machine, next_of


def replica_client(
    database_url: str, broker_url: str, site: str, name: str, clock: FakeClock, *, shared: bool = False
) -> TestClient:
    """One replica of the cloud (with fan-out; ``shared``: in a shared subscription group)."""
    settings = CloudSettings(
        database_url=database_url,
        mqtt_url=broker_url,
        mqtt_client_id=f"{site}-{name}",
        mqtt_shared_group=site if shared else None,
        ingest_site=site,
        timer_loop=False,
        replica_fanout=True,
    )
    return TestClient(create_app(settings, clock=clock))


def test_changes_on_one_replica_reach_clients_of_the_other(
    any_broker: BrokerHandle,
    publisher: EdgePublisher,
    database_url: str,
    unique_site: str,
    fake_clock: FakeClock,
) -> None:
    edge = FakeEdge(site=unique_site)

    def replica(name: str) -> TestClient:
        return replica_client(database_url, any_broker.url, unique_site, name, fake_clock)

    with ExitStack() as stack:
        one, two = stack.enter_context(replica("one")), stack.enter_context(replica("two"))
        for client in (one, two):
            assert client.app.state.cloud.source.wait_subscribed(10)  # type: ignore[attr-defined]
        publisher.publish(edge.info(), retain=True)
        publisher.publish(edge.status(), retain=True)
        for m in edge.machines:
            publisher.publish(edge.state(m.id), retain=True)
        alice, bob = make_account(one, "100001"), make_account(one, "100002")

        def free(client: TestClient) -> bool:
            response = client.get("/api/v1/machines/washer/1")
            return response.status_code == 200 and response.json()["usage"] == "free"

        wait_until(lambda: free(one) and free(two), what="both replicas to know the room")
        with (
            two.websocket_connect(f"/api/ws?site={unique_site}", headers=alice.headers) as alice_on_two,
            one.websocket_connect(f"/api/ws?site={unique_site}", headers=bob.headers) as bob_on_one,
        ):
            assert alice_on_two.receive_json()["type"] == "snapshot"
            assert bob_on_one.receive_json()["type"] == "snapshot"
            body = {"machine_type": "washer", "machine_id": 1}
            assert one.post("/api/v1/machines/start", json=body, headers=alice.headers).status_code == 201
            mine = next_machine(alice_on_two, "washer-1", usage="claimed")  # claimed on replica one, seen on two
            assert mine["mine"] is True
            theirs = next_machine(bob_on_one, "washer-1", usage="claimed")
            assert (theirs["mine"], theirs["in_use_by"]) == (False, "someone")

            publisher.publish(edge.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING))
            publisher.publish(edge.event("washer-1", EventType.CYCLE_FINISHED, MachineState.FINISHED))
            assert next_of(alice_on_two, "cycle_finished")["machine"] == "washer-1"
            assert next_of(alice_on_two, "notification")["notification"]["type"] == "cycle_finished"

        notices = alice.headers
        listed = two.get("/api/v1/notifications/", headers=notices).json()["items"]
        assert [n["type"] for n in listed] == ["cycle_finished"]  # applied once, though both replicas got it


def test_two_replicas_share_the_ingest_and_the_clients_of_both_get_every_change(
    mosquitto_broker: BrokerHandle, postgres_url: str, unique_site: str, fake_clock: FakeClock
) -> None:
    """``KYWASH_MQTT_SHARED_GROUP``: Mosquitto hands each machine message to one replica of the
    group; each event is applied once (by whichever replica got it, in batches), and both
    replicas' WebSocket clients hear every change through the fan-out."""
    edge = FakeEdge(site=unique_site)
    publisher = EdgePublisher(mosquitto_broker.host, mosquitto_broker.port)

    def replica(name: str) -> TestClient:
        return replica_client(postgres_url, mosquitto_broker.url, unique_site, name, fake_clock, shared=True)

    with ExitStack() as stack:
        stack.callback(publisher.close)
        one, two = stack.enter_context(replica("one")), stack.enter_context(replica("two"))
        for client in (one, two):
            assert client.app.state.cloud.source.wait_subscribed(10)  # type: ignore[attr-defined]
        publisher.publish(edge.info(), retain=True)  # room topics are not shared: both replicas know the room
        publisher.publish(edge.status(), retain=True)

        def knows_room(client: TestClient) -> bool:
            response = client.get("/api/v1/machines/", params={"site": unique_site, "room": "r1"})
            return response.status_code == 200 and len(response.json()["washers"]) == 2

        wait_until(lambda: knows_room(one) and knows_room(two), what="both replicas to know the room")
        alice, bob = make_account(one, "100001"), make_account(one, "100002")
        with (
            one.websocket_connect(f"/api/ws?site={unique_site}", headers=alice.headers) as on_one,
            two.websocket_connect(f"/api/ws?site={unique_site}", headers=bob.headers) as on_two,
        ):
            assert on_one.receive_json()["type"] == "snapshot"
            assert on_two.receive_json()["type"] == "snapshot"
            events = [
                edge.event(m.id, kind, MachineState.IDLE, minutes=1 + n / 10)
                for n in range(8)
                for m in edge.machines
                for kind in (EventType.DOOR_OPENED if n % 2 == 0 else EventType.DOOR_CLOSED,)
            ]
            events += [
                edge.event(m.id, EventType.CYCLE_STARTED, MachineState.RUNNING, minutes=3) for m in edge.machines
            ]
            for message in events:
                publisher.publish(message)

            def applied(client: TestClient) -> float:
                return client.app.state.cloud.ingest.metrics.accepted("event")  # type: ignore[attr-defined,no-any-return]

            wait_until(lambda: applied(one) + applied(two) == len(events), what="every event applied")
            assert applied(one) > 0 and applied(two) > 0, "the shared subscription gave each replica a part"
            for client in (one, two):
                assert client.app.state.cloud.ingest.metrics.accepted("duplicate") == 0  # type: ignore[attr-defined]
            for ws in (on_one, on_two):  # each client hears every machine start, whichever replica applied it
                started: set[str] = set()
                while started != {m.id for m in edge.machines}:
                    body = next_of(ws, "machine", limit=500)["machine"]
                    if body["state"] == "running":
                        started.add(body["id"])


def test_fanout_payloads_round_trip_and_garbage_is_refused(unique_site: str) -> None:
    from cloud.platform.hub import Audience

    messages = [({"type": "waitlist", "kind": "washer", "length": 2}, Audience.of_room(unique_site, "r1"))]
    assert decode(encode("replica-a", messages)) == ("replica-a", messages)
    for garbage in (b"", b"{not json", b'{"origin": "x"}', b'{"origin": "x", "messages": [{"audience": 5}]}'):
        with pytest.raises(ValueError, match="not a fan-out message"):
            decode(garbage)
    assert FANOUT_TOPIC.startswith("kywash/internal/")


def test_a_malformed_fanout_message_is_counted_and_others_still_arrive(unique_site: str) -> None:
    import asyncio

    from cloud.domain.machines.cache import ViewCache
    from cloud.platform.hub import Audience, Hub
    from cloud.processes.fanout import receiver

    message = {"type": "waitlist", "kind": "washer", "length": 1}
    reasons: list[str] = []

    async def scenario() -> object:
        hub = Hub(16)
        follower = hub.subscribe(unique_site, "r1")
        receive = receiver(hub, "replica-b", ViewCache(), reasons.append)
        receive(b"{not json")
        receive(encode("replica-a", [(message, Audience.of_room(unique_site, "r1"))]))
        return await asyncio.wait_for(follower.next(), 5)

    assert asyncio.run(scenario()) == message
    assert reasons == ["fanout_malformed"]
