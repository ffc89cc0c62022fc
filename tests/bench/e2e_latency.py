#!/usr/bin/env python3
"""Benchmark: a sensor change in the simulator → the WebSocket message a student's page gets.

For each broker (the embedded amqtt and a private Mosquitto), in the same run:

- **bare**: a plain paho publish → subscribe round trip at QoS 1 through that broker,
  one message at a time (the floor any MQTT path pays);
- **bare ws**: one server → one client WebSocket send, the floor of the path's last hop:
  ``tests/bench/bare_ws.py``, a bare FastAPI app with one WebSocket route served with the
  cloud's uvicorn settings (its own process, or in this one with ``--cloud in-process``,
  as the cloud is), and the same ``websockets.sync.client.connect`` client as below. The
  client sends a small text frame; the server answers with the machine message the
  kywash client last got (the real size) plus ``sent_ns``, a ``CLOCK_MONOTONIC`` reading
  taken just before its ``send_json``. That clock is shared by every process on the
  machine (Linux), so the figure is the one-way send: ``sent_ns`` → received and parsed by
  the client, as the kywash client parses. It is not the round trip less the request:
  the round trip (printed beside it) also pays the client → server frame and the server's
  wake-up to read it, about as much again, and using it as the floor would flatter kywash.
  Measured back to back like **bare**, after a few untimed exchanges;
- **kywash**: a door toggled on the simulator's gpiozero mock pin → edge agent (debounce,
  detector, SQLite outbox, paho publish) → broker → cloud ingest (validate, apply to
  SQLite, broadcast) → a student's WebSocket client of ``/api/ws`` (logged in). By
  default the cloud runs as its own process, as it is deployed (the edge is on the
  room's Pi); ``--cloud in-process`` runs everything in one process, as ``kywash demo`` does.

It prints p50 and p99 of each, the ratio kywash / bare, and the ratio kywash / floor,
where the floor is bare + bare ws (p50 to the sum of p50s, p99 to the sum of p99s: the
issue's bound is kywash p99 ≤ 2x the floor on Mosquitto; amqtt is reported). Per run and
the median over runs. Usage::

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
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from websockets.sync.client import connect as ws_connect  # noqa: E402

from cloud.platform.settings import CloudSettings, load_settings  # noqa: E402
from cloud.platform.storage.engine import make_engine  # noqa: E402
from kywash.clock import SystemClock  # noqa: E402
from launchers.broker import EmbeddedBroker, free_port  # noqa: E402
from launchers.stack import SimulatedRoom  # noqa: E402
from tests.bench.bare_ws import PATH as BARE_WS_PATH  # noqa: E402
from tests.bench.bare_ws import SENT_FIELD, create_bare_ws_app, now_ns  # noqa: E402
from tests.support.live import bearer, issue_access_token, wait_for_machines  # noqa: E402
from tests.support.mosquitto import MosquittoProcess, wait_for_port  # noqa: E402

DOOR_SETTLE_S = 0.05
"""Pause between transitions (not timed): a real door is not swung twice within the
agent's 30 ms debounce lockout, and a toggle inside it is reported only after it ends."""
BARE_WS_WARMUP = 20
"""Untimed exchanges before the bare WebSocket figures (the kywash client has had its snapshot)."""
MAX_FLOOR_RATIO = 2.0
"""The issue's bound: kywash p99 ≤ this x (bare p99 + bare ws p99), on Mosquitto."""


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
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{port}", protocol=mqtt.MQTTv311)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{port}", protocol=mqtt.MQTTv311)
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


def door_to_websocket(
    host: str, port: int, count: int, workdir: Path, cloud_mode: str
) -> tuple[list[float], dict[str, object]]:
    """Toggle washer-1's door on the mock pin; time until the WebSocket reports it.
    Also returns the last door message, for the bare WebSocket's message size."""
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
        message: dict[str, object] = {}
        for i in range(count):
            opening = i % 2 == 0
            want = "open" if opening else "closed"
            start = time.perf_counter()
            (room.sim.open_door if opening else room.sim.close_door)("washer-1")
            message = wait_for(ws, partial(is_door, machine="washer-1", door=want), 5)
            samples.append(time.perf_counter() - start)
            time.sleep(DOOR_SETTLE_S)
        ws.close()
        return samples, message


@contextmanager
def bare_ws_service(mode: str, body: dict[str, object], workdir: Path) -> Iterator[str]:
    """``tests/bench/bare_ws.py`` answering with ``body``, run as the cloud is run; yields its ws:// URL."""
    port = free_port()
    url = f"ws://127.0.0.1:{port}{BARE_WS_PATH}"
    if mode == "in-process":
        from cloud.runtime.server import serve

        with serve(create_bare_ws_app(body), port=port):
            yield url
        return
    body_file = workdir / f"bare-ws-{port}.json"
    body_file.write_text(json.dumps(body))
    command = [sys.executable, str(ROOT / "tests/bench/bare_ws.py"), "--port", str(port),
               "--body-file", str(body_file), "--log-level", "warning"]  # fmt: skip
    log_file = (workdir / f"bare-ws-{port}.log").open("w")
    process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        if not wait_for_port("127.0.0.1", port, 30):
            raise RuntimeError(f"the bare WebSocket app did not start (see {log_file.name})")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log_file.close()


def bare_ws_sends(url: str, count: int) -> tuple[list[float], list[float]]:
    """Client frame → server ``send_json`` → client; returns (one-way sends, round trips), in s."""
    sends, round_trips = [], []
    with ws_connect(url) as ws:
        for i in range(BARE_WS_WARMUP + count):
            start = now_ns()
            ws.send("next")
            message = json.loads(ws.recv(timeout=5))
            end = now_ns()
            send, round_trip = end - message[SENT_FIELD], end - start
            if not 0 < send <= round_trip:  # the clock is not shared after all: the figure would be wrong
                raise RuntimeError(f"one-way {send} ns is outside the round trip {round_trip} ns")
            if i >= BARE_WS_WARMUP:
                sends.append(send / 1e9)
                round_trips.append(round_trip / 1e9)
    return sends, round_trips


def is_door(message: dict[str, object], machine: str, door: str) -> bool:
    body = message.get("machine")
    return isinstance(body, dict) and body.get("id") == machine and body.get("door") == door


def wait_for(ws: object, predicate: Callable[[dict[str, object]], bool], timeout: float) -> dict[str, object]:
    """The first message from ``ws`` that ``predicate`` accepts."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError("timed out waiting for the WebSocket message")
        message: dict[str, object] = json.loads(ws.recv(timeout=left))  # type: ignore[attr-defined]
        if predicate(message):
            return message


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
    print(f"cloud: {args.cloud}; edge and simulator in this process; bare ws: {args.cloud}")
    print(f"{'broker':<10} {'run':>3} {'path':<7} {'p50 ms':>8} {'p99 ms':>8}   ratio p50 / p99")
    for kind in kinds:
        ratios: list[tuple[float, float]] = []
        floor_ratios: list[tuple[float, float]] = []
        results: list[tuple[list[float], list[float]]] = []
        ws_results: list[tuple[list[float], list[float]]] = []
        for run in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory() as tmp, broker(kind, Path(tmp)) as (host, port):
                bare = bare_round_trips(host, port, args.transitions)
                full, message = door_to_websocket(host, port, args.transitions, Path(tmp), args.cloud)
                with bare_ws_service(args.cloud, message, Path(tmp)) as ws_url:
                    ws_send, ws_round = bare_ws_sends(ws_url, args.transitions)
            results.append((bare, full))
            ws_results.append((ws_send, ws_round))
            b50, b99 = percentile(bare, 50) * 1e3, percentile(bare, 99) * 1e3
            f50, f99 = percentile(full, 50) * 1e3, percentile(full, 99) * 1e3
            w50, w99 = percentile(ws_send, 50) * 1e3, percentile(ws_send, 99) * 1e3
            r50, r99 = percentile(ws_round, 50) * 1e3, percentile(ws_round, 99) * 1e3
            ratios.append((f50 / b50, f99 / b99))
            floor_ratios.append((f50 / (b50 + w50), f99 / (b99 + w99)))
            size = len(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode())
            print(f"{kind:<10} {run:>3} {'bare':<7} {b50:8.2f} {b99:8.2f}")
            print(f"{kind:<10} {run:>3} {'bare ws':<7} {w50:8.2f} {w99:8.2f}   "
                  f"one-way; round trip {r50:.2f} / {r99:.2f} ms; {size} B message")  # fmt: skip
            ratio = f"{f50 / b50:5.1f}x / {f99 / b99:5.1f}x"
            print(f"{kind:<10} {run:>3} {'kywash':<7} {f50:8.2f} {f99:8.2f}   {ratio}")
            ratio = f"{floor_ratios[-1][0]:5.1f}x / {floor_ratios[-1][1]:5.1f}x"
            print(f"{kind:<10} {run:>3} {'floor':<7} {b50 + w50:8.2f} {b99 + w99:8.2f}   {ratio}  kywash / floor")
        med = [statistics.median(r[i] for r in ratios) for i in (0, 1)]
        floor_med = [statistics.median(r[i] for r in floor_ratios) for i in (0, 1)]
        bare_ms = [statistics.median(percentile(b, q) for b, _ in results) * 1e3 for q in (50, 99)]
        full_ms = [statistics.median(percentile(f, q) for _, f in results) * 1e3 for q in (50, 99)]
        send_ms = [statistics.median(percentile(w, q) for w, _ in ws_results) * 1e3 for q in (50, 99)]
        round_ms = [statistics.median(percentile(r, q) for _, r in ws_results) * 1e3 for q in (50, 99)]
        print(
            f"{kind:<10} median of {args.runs}: bare p50/p99 {bare_ms[0]:.2f}/{bare_ms[1]:.2f} ms, "
            f"kywash p50/p99 {full_ms[0]:.2f}/{full_ms[1]:.2f} ms, "
            f"ratio p50 {med[0]:.1f}x, p99 {med[1]:.1f}x  ({args.transitions} transitions per run)"
        )
        if kind == "mosquitto":
            verdict = "meets" if floor_med[1] <= MAX_FLOOR_RATIO else "exceeds"
            bound = f"; {verdict} the bound p99 <= {MAX_FLOOR_RATIO:.0f}x"
        else:
            bound = " (reported; the bound is on Mosquitto)"
        print(
            f"{kind:<10} median of {args.runs}: bare ws p50/p99 {send_ms[0]:.2f}/{send_ms[1]:.2f} ms one-way "
            f"(round trip {round_ms[0]:.2f}/{round_ms[1]:.2f} ms), "
            f"kywash / (bare + bare ws) p50 {floor_med[0]:.1f}x, p99 {floor_med[1]:.1f}x{bound}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
