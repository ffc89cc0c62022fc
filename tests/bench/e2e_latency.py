#!/usr/bin/env python3
"""Benchmark: a sensor change in the simulator → the WebSocket message a student's page gets.

For each broker (the embedded amqtt and a private Mosquitto), in the same run:

- **bare**: a plain paho publish → subscribe round trip at QoS 1 through that broker,
  one message at a time (the floor any MQTT path pays);
- **kywash**: a door toggled on the simulator's gpiozero mock pin → edge agent (debounce,
  detector, SQLite outbox, paho publish) → broker → cloud ingest (validate, apply to
  SQLite, broadcast) → a student's WebSocket client of ``/api/ws`` (logged in). By
  default the cloud runs as its own process, as it is deployed (the edge is on the
  room's Pi); ``--cloud in-process`` runs everything in one process, as ``kywash demo`` does.

It prints p50 and p99 of each, and the ratio kywash / bare, per run and the median over
runs. Usage::

    .venv/bin/python tests/bench/e2e_latency.py [--transitions 1000] [--runs 3]
        [--broker amqtt|mosquitto|both] [--cloud process|in-process]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from websockets.sync.client import connect as ws_connect  # noqa: E402

from cloud.platform.settings import CloudSettings, load_settings  # noqa: E402
from cloud.platform.storage.engine import make_engine  # noqa: E402
from kywash.clock import SystemClock  # noqa: E402
from launchers.broker import EmbeddedBroker, free_port  # noqa: E402
from launchers.stack import SimulatedRoom  # noqa: E402
from tests.support.live import bearer, issue_access_token, wait_for_machines  # noqa: E402
from tests.support.mosquitto import MosquittoProcess  # noqa: E402

DOOR_SETTLE_S = 0.05
"""Pause between transitions (not timed): a real door is not swung twice within the
agent's 30 ms debounce lockout, and a toggle inside it is reported only after it ends."""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@contextmanager
def broker(kind: str, workdir: Path) -> Iterator[tuple[str, int]]:
    if kind == "amqtt":
        with EmbeddedBroker(port=free_port()) as embedded:
            yield embedded.host, embedded.port
        return
    process = MosquittoProcess(workdir)
    try:
        yield process.host, process.port
    finally:
        process.close()


def bare_round_trips(host: str, port: int, count: int) -> list[float]:
    """paho publish → subscribe at QoS 1, one message in flight at a time."""
    arrived = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{port}", protocol=mqtt.MQTTv311)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{port}", protocol=mqtt.MQTTv311)
    sub.on_message = lambda *_: arrived.set()
    for client in (sub, pub):
        client.connect(host, port)
        client.loop_start()
    sub.subscribe("bench/bare", qos=1)
    time.sleep(0.3)
    payload = json.dumps({"schema": 1, "machine": "washer-1", "door": "open", "current_a": 0.0}).encode()
    samples = []
    try:
        for _ in range(count):
            arrived.clear()
            start = time.perf_counter()
            pub.publish("bench/bare", payload, qos=1)
            if not arrived.wait(5):
                raise RuntimeError("bare round trip lost a message")
            samples.append(time.perf_counter() - start)
    finally:
        for client in (sub, pub):
            client.loop_stop()
            client.disconnect()
    return samples


@dataclass(frozen=True)
class Cloud:
    url: str
    settings: CloudSettings
    """The settings the cloud runs with (its database and secret key), to log a student in."""


@contextmanager
def cloud_service(mode: str, mqtt_url: str, workdir: Path) -> Iterator[Cloud]:
    """The cloud in this process (like the demo) or as its own process (like a deployment)."""
    settings = load_settings(database_url=f"sqlite:///{workdir / f'cloud-{free_port()}.db'}", mqtt_url=mqtt_url)
    port = free_port()
    if mode == "in-process":
        from cloud.runtime.app import create_app
        from cloud.runtime.server import serve

        with serve(create_app(settings, clock=SystemClock()), port=port) as server:
            yield Cloud(server.url, settings)
        return
    command = [sys.executable, "-m", "launchers.cli", "cloud", "--port", str(port), "--log-level", "warning",
               "--database-url", settings.database_url, "--mqtt-url", mqtt_url]  # fmt: skip
    log_file = (workdir / f"cloud-{port}.log").open("w")  # its log, kept out of the figures
    process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        yield Cloud(f"http://127.0.0.1:{port}", settings)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log_file.close()


def student_token(cloud: Cloud) -> str:
    """Log a student in, directly in the cloud's database (the WebSocket needs an access token)."""
    engine = make_engine(cloud.settings.database_url)
    try:
        return issue_access_token(engine, cloud.settings, SystemClock().now())
    finally:
        engine.dispose()


def door_to_websocket(host: str, port: int, count: int, workdir: Path, cloud_mode: str) -> list[float]:
    """Toggle washer-1's door on the mock pin; time until the WebSocket reports it."""
    site, mqtt_url = f"bench{port}", f"mqtt://{host}:{port}"
    with (
        cloud_service(cloud_mode, mqtt_url, workdir) as cloud,
        SimulatedRoom(
            site, "room-1", mqtt_url, workdir / f"edge-{port}", SystemClock(), students=False, door_bounce=False
        ) as room,
    ):
        wait_for_machines(cloud.url, site, "room-1")  # also: the cloud has migrated its database
        ws_url = f"{cloud.url.replace('http', 'ws', 1)}/api/ws?site={site}&room=room-1"
        ws = ws_connect(ws_url, additional_headers=bearer(student_token(cloud)))
        wait_for(ws, lambda m: m.get("type") == "snapshot", 10)
        samples = []
        for i in range(count):
            opening = i % 2 == 0
            want = "open" if opening else "closed"
            start = time.perf_counter()
            (room.sim.open_door if opening else room.sim.close_door)("washer-1")
            wait_for(ws, lambda m, w=want: is_door(m, "washer-1", w), 5)
            samples.append(time.perf_counter() - start)
            time.sleep(DOOR_SETTLE_S)
        ws.close()
        return samples


def is_door(message: dict[str, object], machine: str, door: str) -> bool:
    body = message.get("machine")
    return isinstance(body, dict) and body.get("id") == machine and body.get("door") == door


def wait_for(ws: object, predicate: Callable[[dict[str, object]], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError("timed out waiting for the WebSocket message")
        if predicate(json.loads(ws.recv(timeout=left))):  # type: ignore[attr-defined]
            return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transitions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--broker", choices=["amqtt", "mosquitto", "both"], default="both")
    parser.add_argument(
        "--cloud", choices=["process", "in-process"], default="process",
        help="run the cloud as its own process (as deployed; default) or inside this one (as the demo does)",
    )  # fmt: skip
    args = parser.parse_args()
    kinds = ["amqtt", "mosquitto"] if args.broker == "both" else [args.broker]
    print(f"cloud: {args.cloud}; edge and simulator in this process")
    print(f"{'broker':<10} {'run':>3} {'path':<7} {'p50 ms':>8} {'p99 ms':>8}   ratio p50 / p99")
    for kind in kinds:
        ratios: list[tuple[float, float]] = []
        results: list[tuple[list[float], list[float]]] = []
        for run in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory() as tmp, broker(kind, Path(tmp)) as (host, port):
                bare = bare_round_trips(host, port, args.transitions)
                full = door_to_websocket(host, port, args.transitions, Path(tmp), args.cloud)
            results.append((bare, full))
            b50, b99 = percentile(bare, 50) * 1e3, percentile(bare, 99) * 1e3
            f50, f99 = percentile(full, 50) * 1e3, percentile(full, 99) * 1e3
            ratios.append((f50 / b50, f99 / b99))
            print(f"{kind:<10} {run:>3} {'bare':<7} {b50:8.2f} {b99:8.2f}")
            ratio = f"{f50 / b50:5.1f}x / {f99 / b99:5.1f}x"
            print(f"{kind:<10} {run:>3} {'kywash':<7} {f50:8.2f} {f99:8.2f}   {ratio}")
        med = [statistics.median(r[i] for r in ratios) for i in (0, 1)]
        bare_ms = [statistics.median(percentile(b, q) for b, _ in results) * 1e3 for q in (50, 99)]
        full_ms = [statistics.median(percentile(f, q) for _, f in results) * 1e3 for q in (50, 99)]
        print(
            f"{kind:<10} median of {args.runs}: bare p50/p99 {bare_ms[0]:.2f}/{bare_ms[1]:.2f} ms, "
            f"kywash p50/p99 {full_ms[0]:.2f}/{full_ms[1]:.2f} ms, "
            f"ratio p50 {med[0]:.1f}x, p99 {med[1]:.1f}x  ({args.transitions} transitions per run)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
