"""sd_notify over a real unix datagram socket, and pings that stop when the agent is unwell."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from edge.agent import EdgeAgent
from edge.config import demo_room_config
from edge.watchdog import Heartbeat, Notifier, Watchdog, watchdog_interval
from kywash.clock import FakeClock
from tests.conftest import BrokerHandle
from tests.edge.fakes import wait_until


class SystemdSocket:
    """What systemd listens on: a unix datagram socket collecting notifications."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(0.01)
        self.received: list[str] = []

    def lines(self) -> list[str]:
        while True:
            try:
                self.received += self.sock.recv(4096).decode().split("\n")
            except TimeoutError:
                return self.received

    def count(self, line: str) -> int:
        return self.lines().count(line)


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[SystemdSocket]:
    listener = SystemdSocket(str(tmp_path / "notify"))
    yield listener
    listener.sock.close()


def test_notifier_sends_to_a_path_and_to_an_abstract_name(systemd: SystemdSocket) -> None:
    notifier = Notifier(systemd.address)
    assert notifier.notify("READY=1", "STATUS=hello")
    assert systemd.lines() == ["READY=1", "STATUS=hello"]
    abstract = SystemdSocket(f"@kywash-test-{uuid.uuid4().hex[:8]}")
    try:
        assert Notifier(abstract.address).notify("WATCHDOG=1") and abstract.lines() == ["WATCHDOG=1"]
    finally:
        abstract.sock.close()
    notifier.close()


def test_without_notify_socket_everything_is_a_no_op(tmp_path: Path) -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled and not notifier.notify("READY=1")
    assert not Notifier(str(tmp_path / "nobody")).notify("READY=1")  # nobody listening: logged, no raise
    watchdog = Watchdog(notifier, lambda: (True, "fine"), None).start()
    watchdog.ready("x")
    assert not watchdog.tick()
    watchdog.close()


@pytest.mark.parametrize(
    ("env", "interval"),
    [({}, None), ({"WATCHDOG_USEC": "30000000"}, 15.0), ({"WATCHDOG_USEC": "junk"}, None),
     ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}, None)],
)  # fmt: skip
def test_watchdog_interval_is_half_of_watchdog_usec(env: dict[str, str], interval: float | None) -> None:
    assert watchdog_interval(env) == interval


def test_pings_only_while_the_sensor_heartbeat_is_fresh(systemd: SystemdSocket) -> None:
    clock = FakeClock()
    heartbeat = Heartbeat(clock.now)

    def check() -> tuple[bool, str]:
        age = heartbeat.age()
        return (True, "sensors ok") if age <= 10 else (False, f"sensor loop stuck for {age:.0f} s")

    watchdog = Watchdog(Notifier(systemd.address), check, 5.0, monotonic=clock.now)
    watchdog.ready("starting")
    pings = []
    for _ in range(20):  # 20 s: the loop beats every second, a ping is due every 5 s
        heartbeat.beat()
        pings.append(watchdog.tick())
        clock.advance(1)
    assert sum(pings) == 4 and systemd.count("WATCHDOG=1") == 4
    for _ in range(30):  # the loop hangs: no beat for 30 s
        watchdog.tick()
        clock.advance(1)
    assert systemd.count("WATCHDOG=1") == 6  # pinged at 20 s and 25 s (age <= 10), then nothing
    assert "STATUS=UNHEALTHY: sensor loop stuck for 11 s" in systemd.lines()
    heartbeat.beat()
    assert watchdog.tick() and systemd.count("STATUS=running: sensors ok") == 2  # recovers at once
    watchdog.close()
    assert systemd.lines()[0] == "READY=1" and systemd.lines()[-1] == "STOPPING=1"


def test_a_running_agent_pings_until_its_mqtt_thread_dies(
    amqtt_broker: BrokerHandle, systemd: SystemdSocket, mock_factory: MockFactory, unique_site: str, tmp_path: Path
) -> None:
    config = demo_room_config(unique_site, "room-1", amqtt_broker.url, "loop://", tmp_path)
    env = {"NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "100000"}  # a ping every 50 ms
    agent = EdgeAgent(config, clock=FakeClock(), pin_factory=mock_factory, environ=env)
    with agent:
        agent.start()
        assert systemd.lines()[:2] == ["READY=1", "STATUS=watching 12 machines"]
        wait_until(lambda: systemd.count("WATCHDOG=1") >= 5, what="watchdog pings")
        agent.publisher.client.loop_stop()  # paho's thread ends: no reconnect would ever happen
        wait_until(lambda: any(line.startswith("STATUS=UNHEALTHY") for line in systemd.lines()), what="unhealthy")
        before = systemd.count("WATCHDOG=1")
        wait_until(lambda: agent.watchdog.tick() is False, what="a withheld ping")
        assert systemd.count("WATCHDOG=1") == before and not agent.health()[0]
    assert systemd.lines()[-1] == "STOPPING=1"
