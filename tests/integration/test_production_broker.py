"""The shipped mosquitto.conf and the ACL ``kywash provision`` writes, on the real Mosquitto.

One broker for the module: the shipped config with free ports and test files, its users
made by the ``kywash provision`` commands. A refused publish is invisible to the
publisher (MQTT 3.1.1 acknowledges it anyway), so each "cannot" test waits for the
forged message's PUBACK, then sends an allowed marker, and checks the watcher saw the
marker but not the forgery: the broker had decided before it acknowledged.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import load_room_config
from edge.outbox import Outbox
from edge.publisher import Publisher
from kywash.clock import FakeClock
from kywash.contract import MAX_PAYLOAD_BYTES
from launchers.cli import main
from launchers.provision import BrokerFiles, Role, acl_rules
from tests.conftest import service_missing
from tests.support.mosquitto import find_mosquitto
from tests.support.production_broker import (
    REWRITTEN_KEYS,
    ProductionBroker,
    TlsFiles,
    changed_keys,
    conf_lines,
    make_tls_files,
)

pytestmark = pytest.mark.mosquitto

SITE = "maple-hall"
LOOPBACK, EDGES, WEB = 1883, 8883, 9001  # the shipped listener ports
TIMEOUT = 5.0


@dataclass(frozen=True)
class Login:
    username: str
    password: str


@dataclass
class Deployment:
    broker: ProductionBroker
    tls: TlsFiles
    out: Path
    logins: dict[str, Login]

    def port(self, shipped: int) -> int:
        return self.broker.ports[shipped]


def provision(out: Path, *args: str) -> None:
    result = CliRunner().invoke(main, ["provision", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output


def read_login(path: Path) -> Login:
    fields = dict(line.split(" = ", 1) for line in path.read_text().splitlines() if " = " in line)
    return Login(fields["username"], fields["password"])


def room_login(out: Path, room: str) -> Login:
    broker = tomllib.loads((out / "rooms" / SITE / room / "room.toml").read_text())["broker"]
    return Login(broker["username"], broker["password"])


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    if find_mosquitto() is None:
        service_missing("mosquitto is not installed")
    work = tmp_path_factory.mktemp("production-broker")
    tls = make_tls_files(work)
    out = work / "provisioned"
    provision(out, "cloud")
    for room in ("room-a", "room-b"):
        provision(out, "room", "--site", SITE, "--room", room, "--broker-host", "localhost", "--ca-cert", str(tls.ca))
    for name in ("alice", "bob"):
        provision(out, "staff", "--username", name)
    provision(out, "dashboard", "--username", "viewer")
    # One more login hashed in Python, not by mosquitto_passwd: the broker must accept it too.
    files = BrokerFiles(out / "kywash.passwd", out / "kywash.acl")
    files.add_user(Role.DASHBOARD, "pyhash", "py-secret", acl_rules(Role.DASHBOARD, "pyhash"), use_tool=False)
    env = dict(line.split("=", 1) for line in (out / "cloud-mqtt.env").read_text().splitlines() if "=" in line)
    logins = {
        "cloud": Login(env["KYWASH_MQTT_USERNAME"], env["KYWASH_MQTT_PASSWORD"]),
        "edge_a": room_login(out, "room-a"),
        "edge_b": room_login(out, "room-b"),
        **{name: read_login(out / "users" / f"{name}.txt") for name in ("alice", "bob", "viewer")},
        "pyhash": Login("pyhash", "py-secret"),
    }
    broker = ProductionBroker(work, out / "kywash.passwd", out / "kywash.acl", tls)
    try:
        yield Deployment(broker, tls, out, logins)
    finally:
        broker.close()


class Client:
    """A paho client that records what it receives and waits for CONNACK, SUBACK and PUBACK."""

    def __init__(
        self, port: int, login: Login | None, *, client_id: str = "", tls_ca: Path | None = None,
        transport: str = "tcp", use_tls: bool = False, clean_session: bool = True,
    ) -> None:  # fmt: skip
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, transport=transport,  # type: ignore[arg-type]
            protocol=mqtt.MQTTv311, clean_session=clean_session,
        )  # fmt: skip
        if login is not None:
            self.client.username_pw_set(login.username, login.password)
        if use_tls or tls_ca is not None:
            self.client.tls_set(ca_certs=str(tls_ca) if tls_ca else None, cert_reqs=ssl.CERT_REQUIRED)
        self.messages: list[mqtt.MQTTMessage] = []
        self.answered = threading.Event()
        self.connack: Any = None
        self.subacks: dict[int, threading.Event] = {}
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, msg: self.messages.append(msg)
        self.client.on_subscribe = lambda _c, _u, mid, _rc, _p: self.subacks.setdefault(mid, threading.Event()).set()
        self.client.connect("localhost" if (use_tls or tls_ca) else "127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        self.answered.wait(TIMEOUT)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connack = reason
        self.answered.set()

    @property
    def accepted(self) -> bool:
        return self.connack is not None and not self.connack.is_failure

    def subscribe(self, topic: str) -> Client:
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        assert self.subacks.setdefault(mid, threading.Event()).wait(TIMEOUT), f"no SUBACK for {topic}"
        return self

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(TIMEOUT)
        assert info.is_published(), f"no PUBACK for {topic}"

    def topics(self) -> list[str]:
        return [m.topic for m in list(self.messages)]

    def wait_for(self, topic: str, payload: bytes | None = None) -> None:
        def seen() -> bool:
            return any(m.topic == topic and (payload is None or m.payload == payload) for m in list(self.messages))

        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if seen():
                return
            time.sleep(0.02)
        raise AssertionError(f"{topic} never arrived; got {self.topics()}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def connect(deployment: Deployment) -> Iterator[Any]:
    """``connect(login_name, shipped_port=1883, **options)``; closes every client afterwards."""
    opened: list[Client] = []

    def open_client(name: str | None, shipped_port: int = LOOPBACK, **options: Any) -> Client:
        login = deployment.logins[name] if name else None
        if shipped_port == EDGES and "use_tls" not in options:
            options.setdefault("tls_ca", deployment.tls.ca)
        client = Client(deployment.port(shipped_port), login, **options)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def room(name: str) -> str:
    return f"kywash/v1/{SITE}/{name}"


def test_only_listener_ports_file_paths_and_user_are_rewritten(deployment: Deployment) -> None:
    assert changed_keys(deployment.broker.shipped, deployment.broker.text) <= REWRITTEN_KEYS
    assert set(deployment.broker.ports) == {LOOPBACK, EDGES, WEB}
    settings = {" ".join(words) for words in conf_lines(deployment.broker.shipped)}
    for setting in (
        "allow_anonymous false", "per_listener_settings false", "persistence true", "tls_version tlsv1.2",
        "max_queued_messages 100000", "persistent_client_expiration 14d", "listener 1883 127.0.0.1",
    ):  # fmt: skip
        assert setting in settings


def test_acl_file_has_no_pattern_and_nothing_for_anonymous_clients(deployment: Deployment) -> None:
    rules = [line for line in (deployment.out / "kywash.acl").read_text().splitlines() if not line.startswith("#")]
    assert not any(line.startswith("pattern") for line in rules)
    assert next(line for line in rules if line.strip()).startswith("user ")


@pytest.mark.parametrize("shipped_port", [LOOPBACK, EDGES, WEB])
def test_anonymous_and_wrong_passwords_are_refused_on_every_listener(connect: Any, shipped_port: int) -> None:
    transport = "websockets" if shipped_port == WEB else "tcp"
    assert not connect(None, shipped_port, transport=transport).accepted
    assert connect("viewer", shipped_port, transport=transport).accepted
    assert connect("pyhash", shipped_port, transport=transport).accepted  # a Python-made hash works too


def test_a_wrong_password_is_refused(deployment: Deployment) -> None:
    bad = Login(deployment.logins["viewer"].username, "not-the-password")
    client = Client(deployment.port(LOOPBACK), bad)
    try:
        assert client.connack is not None and client.connack.is_failure
    finally:
        client.close()


def test_an_edge_publishes_its_own_room_but_not_another(connect: Any) -> None:
    cloud = connect("cloud").subscribe("kywash/v1/#")
    edge_a = connect("edge_a", EDGES)
    assert edge_a.accepted
    edge_a.publish(f"{room('room-b')}/machine/washer-1/state", b"forged", retain=True)
    edge_a.publish(f"{room('room-b')}/status", b"forged", retain=True)
    edge_a.publish(f"{room('room-a')}/machine/washer-1/cmd/alice", b"forged")
    edge_a.publish(f"{room('room-a')}/machine/washer-1/desired", b"forged")
    edge_a.publish(f"{room('room-a')}/machine/washer-1/state", b"own", retain=True)
    cloud.wait_for(f"{room('room-a')}/machine/washer-1/state", b"own")
    assert b"forged" not in [m.payload for m in cloud.messages]


def test_an_edge_reads_its_own_desired_state_but_not_another_rooms(connect: Any) -> None:
    cloud = connect("cloud")
    cloud.publish(f"{room('room-b')}/machine/washer-1/desired", b"b", retain=True)
    cloud.publish(f"{room('room-a')}/machine/washer-1/desired", b"a", retain=True)
    edge_a = connect("edge_a", EDGES)
    edge_a.subscribe(f"{room('room-b')}/machine/+/desired").subscribe(f"{room('room-a')}/machine/+/desired")
    edge_a.wait_for(f"{room('room-a')}/machine/washer-1/desired", b"a")
    assert not [topic for topic in edge_a.topics() if "room-b" in topic]


def test_an_edge_publishes_and_reads_back_its_own_profiles_only(connect: Any) -> None:
    cloud = connect("cloud").subscribe("kywash/v1/+/+/machine/+/profile")
    edge_a = connect("edge_a", EDGES)
    edge_a.publish(f"{room('room-b')}/machine/washer-1/profile", b"forged", retain=True)
    edge_a.publish(f"{room('room-a')}/machine/washer-1/profile", b"learned", retain=True)
    cloud.wait_for(f"{room('room-a')}/machine/washer-1/profile", b"learned")
    # The cloud restores profiles (retained); the room's edge reads them, another room's cannot.
    cloud.publish(f"{room('room-b')}/machine/dryer-1/profile", b"b", retain=True)
    cloud.publish(f"{room('room-a')}/machine/dryer-1/profile", b"restored", retain=True)
    edge_a.subscribe(f"{room('room-b')}/machine/+/profile").subscribe(f"{room('room-a')}/machine/+/profile")
    edge_a.wait_for(f"{room('room-a')}/machine/dryer-1/profile", b"restored")
    viewer = connect("viewer", WEB, transport="websockets").subscribe(f"{room('room-a')}/machine/+/profile")
    viewer.wait_for(f"{room('room-a')}/machine/dryer-1/profile", b"restored")
    viewer.publish(f"{room('room-a')}/machine/dryer-1/profile", b"forged")
    edge_a.publish(f"{room('room-a')}/machine/washer-1/profile", b"marker", retain=True)
    cloud.wait_for(f"{room('room-a')}/machine/washer-1/profile", b"marker")
    assert not [topic for topic in edge_a.topics() if "room-b" in topic]
    assert b"forged" not in [m.payload for m in cloud.messages]


def test_a_dashboard_reads_state_but_cannot_publish(connect: Any) -> None:
    edge_a = connect("edge_a", EDGES)
    edge_a.publish(f"{room('room-a')}/machine/dryer-1/state", b"real", retain=True)
    cloud = connect("cloud").subscribe(f"{room('room-a')}/#")
    viewer = connect("viewer", WEB, transport="websockets").subscribe("kywash/v1/#")
    viewer.wait_for(f"{room('room-a')}/machine/dryer-1/state", b"real")  # retained, over WebSockets
    viewer.publish(f"{room('room-a')}/machine/dryer-1/state", b"forged")
    viewer.publish(f"{room('room-a')}/machine/dryer-1/cmd/viewer", b"forged")
    edge_a.publish(f"{room('room-a')}/machine/dryer-1/event", b"marker")
    cloud.wait_for(f"{room('room-a')}/machine/dryer-1/event", b"marker")
    assert b"forged" not in [m.payload for m in cloud.messages]


def test_staff_commands_go_only_under_their_own_name_and_round_trip_to_the_edge(connect: Any) -> None:
    cloud = connect("cloud").subscribe("kywash/v1/+/+/machine/+/cmd/#").subscribe("kywash/v1/+/+/machine/+/ack")
    edge_a = connect("edge_a", EDGES).subscribe(f"{room('room-a')}/machine/+/desired")
    alice = connect("alice", EDGES)
    cmd = f"{room('room-a')}/machine/washer-2/cmd"
    alice.publish(f"{cmd}/bob", b'{"out_of_service": true}')
    alice.publish(f"{cmd}/alice", b'{"out_of_service": true}')
    cloud.wait_for(f"{cmd}/alice")
    assert f"{cmd}/bob" not in cloud.topics()
    # The cloud turns it into retained desired state; the edge applies it and acknowledges.
    desired = json.dumps({"machine": "washer-2", "out_of_service": True, "revision": 1}).encode()
    cloud.publish(f"{room('room-a')}/machine/washer-2/desired", desired, retain=True)
    edge_a.wait_for(f"{room('room-a')}/machine/washer-2/desired", desired)
    edge_a.publish(f"{room('room-a')}/machine/washer-2/ack", b'{"revision": 1}', retain=True)
    cloud.wait_for(f"{room('room-a')}/machine/washer-2/ack")


def test_edges_need_tls_with_our_ca_on_the_edge_listener(connect: Any, deployment: Deployment) -> None:
    assert connect("edge_a", EDGES).accepted
    with pytest.raises(ssl.SSLCertVerificationError):
        connect("edge_a", EDGES, use_tls=True)  # the system CAs do not know ours
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(deployment.logins["edge_a"].username, deployment.logins["edge_a"].password)
    client.connect("127.0.0.1", deployment.port(EDGES), keepalive=5)  # TCP opens; TLS expects a ClientHello
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and client.loop(timeout=0.2) == mqtt.MQTT_ERR_SUCCESS:
        assert not client.is_connected(), "plain MQTT was accepted on the TLS listener"
    assert not client.is_connected()
    client.disconnect()


def test_on_the_edge_listener_nobody_can_take_over_an_edges_session(connect: Any, deployment: Deployment) -> None:
    edge_id = deployment.logins["edge_a"].username  # what the provisioned room.toml sets
    edge_a = connect("edge_a", EDGES, client_id=edge_id)
    disconnected = threading.Event()
    edge_a.client.on_disconnect = lambda *_: disconnected.set()
    intruder = connect("viewer", EDGES, client_id=edge_id)  # becomes "viewer" on this listener
    assert intruder.accepted
    assert not disconnected.wait(1.0), "the edge was kicked off by a client using its client id"


def test_the_cloud_session_keeps_more_than_a_thousand_queued_events(connect: Any, deployment: Deployment) -> None:
    topic = f"{room('room-b')}/machine/washer-9/event"
    cloud = connect("cloud", client_id="kywash-cloud-queue", clean_session=False).subscribe(topic)
    cloud.close()  # away, e.g. restarting: Mosquitto's default would keep only 1,000
    edge_b = connect("edge_b", EDGES)
    for seq in range(1, 1501):
        edge_b.client.publish(topic, str(seq), qos=1)
    edge_b.publish(topic, b"1501")
    back = connect("cloud", client_id="kywash-cloud-queue", clean_session=False)
    back.wait_for(topic, b"1501")
    assert [int(m.payload) for m in back.messages] == list(range(1, 1502))
    back.client.unsubscribe(topic)


def test_the_edge_agent_connects_with_its_provisioned_room_config(
    connect: Any, deployment: Deployment, tmp_path: Path
) -> None:
    config = load_room_config(deployment.out / "rooms" / SITE / "room-a" / "room.toml")
    assert config.broker.ca_file == deployment.out / "rooms" / SITE / "room-a" / "ca.crt"
    broker = config.broker.model_copy(update={"url": f"mqtts://localhost:{deployment.port(EDGES)}"})
    config = config.model_copy(update={"broker": broker, "data_dir": tmp_path})
    status = f"{room('room-a')}/status"
    cloud = connect("cloud").subscribe(status)
    with Outbox(tmp_path / "outbox.db") as outbox:
        publisher = Publisher(config, outbox, clock=FakeClock(), boot_id="b1", started_at=0.0).start()
        try:
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline and not any(b'"online"' in m.payload for m in list(cloud.messages)):
                time.sleep(0.05)
            assert any(b'"online"' in m.payload for m in cloud.messages), cloud.topics()
            assert publisher.status().connects == 1
        finally:
            publisher.close()


def test_a_login_provisioned_while_the_broker_runs_works_after_a_reload(deployment: Deployment) -> None:
    provision(deployment.out, "staff", "--username", "carol")
    login = read_login(deployment.out / "users" / "carol.txt")
    deployment.broker.reload()  # what `systemctl reload mosquitto` does
    for _ in range(50):
        client = Client(deployment.port(LOOPBACK), login)
        client.close()
        if client.accepted:
            break
        time.sleep(0.1)
    assert client.accepted


def test_a_contract_sized_payload_passes_and_an_oversized_packet_disconnects(connect: Any) -> None:
    topic = f"{room('room-a')}/machine/washer-3/event"
    cloud = connect("cloud").subscribe(topic)
    edge_a = connect("edge_a", EDGES)
    edge_a.publish(topic, b"x" * MAX_PAYLOAD_BYTES)
    cloud.wait_for(topic, b"x" * MAX_PAYLOAD_BYTES)
    disconnected = threading.Event()
    edge_a.client.on_disconnect = lambda *_: disconnected.set()
    edge_a.client.publish(topic, b"y" * 100_000, qos=1)
    assert disconnected.wait(TIMEOUT), "a 100 kB packet was accepted"
    assert b"y" * 100_000 not in [m.payload for m in cloud.messages]
