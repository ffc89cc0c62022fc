#!/usr/bin/env python3
"""Benchmark: many WebSocket clients of one cloud process, beside a bare FastAPI broadcast app.

For ``--clients`` clients (10,000 by default), in the same run and with the same client
harness:

- **kywash**: the cloud as deployed, its own process (``python -m launchers.cli cloud``) on
  a SQLite database, with a private Mosquitto (``tests/support/mosquitto.py``). A room of
  6 washers and 6 dryers is registered by publishing its retained ``info`` and ``status``
  and each machine's ``state``, as its edge would. Every client connects to
  ``/api/ws?site=&room=`` with one student's access token in the ``Authorization`` header
  (``--students`` students, shared round-robin) and waits for its snapshot. A change is a
  real edge event published over MQTT (washer-1's door opened or closed, with the next
  sequence number), which goes through ingest, the database and the hub;
- **bare**: ``tests/bench/bare_broadcast.py``, one FastAPI ``/ws`` route that accepts, sends
  the snapshot the kywash clients got (the real size) and keeps the socket in a set, and a
  ``POST /broadcast`` that ``send_json``s the machine message the kywash clients got to every
  socket. A change is one such POST. Served with the cloud's uvicorn settings, its own
  process. The floor a FastAPI broadcast pays: no authentication, database or hub.

The harness is ``--workers`` processes (multiprocessing spawn), each an asyncio loop
holding its share of the clients (``websockets``' asyncio client, with the per-message
deflate a browser offers unless ``--compression none``), at most ``--inflight``
handshakes in flight in all (beyond uvicorn's listen backlog of 2048, connects would wait
on SYN retries, which is a kernel figure, not the server's). Every process raises
``RLIMIT_NOFILE`` to its hard limit. Loopback only.

- **connect storm**: from the moment the workers are told to connect until every client has
  its first message (the snapshot);
- **delivery**: ``--changes`` changes, one at a time, each after every client has the last
  one; per (client, change), the ``CLOCK_MONOTONIC`` reading at which the client has the
  message (received and parsed) less the one taken just before the change was triggered
  (the MQTT publish, or the POST). That clock is shared by every process on the machine
  (Linux), so the figures are one-way. p50 and p99 over all pairs;
- **dropped**: clients whose socket closed before the end (the cloud's hub lets a client
  more than ``KYWASH_WEBSOCKET_QUEUE_SIZE`` messages behind go), or that failed to connect.

It prints per run the connect storm, delivery p50/p99 and dropped clients of each, and the
ratios kywash / bare; then the medians over ``--runs``. The issue's targets are reported,
never asserted: delivery p99 ≤ the bare app's, connect storm ≤ 2x the bare app's, no
client dropped. Usage::

    .venv/bin/python tests/bench/fanout.py [--clients 10000] [--changes 20] [--runs 3]
        [--workers 2] [--inflight 1000] [--students 1] [--compression deflate|none] [--per-change]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from kywash.clock import SystemClock  # noqa: E402
from kywash.contract import (  # noqa: E402
    Door,
    EventType,
    MachineEvent,
    MachineInfo,
    MachineKind,
    MachineState,
    machine_topic,
)
from launchers.broker import free_port  # noqa: E402
from tests.bench.bare_broadcast import BROADCAST_PATH, WS_PATH  # noqa: E402

SITE, ROOM, MACHINE = "fanout", "room-1", "washer-1"
MACHINES = tuple(MachineInfo(id=f"{kind.value}-{n}", kind=kind, number=n) for kind in MachineKind for n in range(1, 7))
CHANGE_TIMEOUT_S = 120.0
"""How long one change may take to reach every client before the run gives up on the rest."""
CONNECT_TIMEOUT_S = 600.0
SETTLE_S = 0.05
"""Pause between changes (not timed), after every client has the last one."""
POLL_S = 0.005


def now_ns() -> int:
    """``CLOCK_MONOTONIC`` in nanoseconds: one clock for every process on the machine (Linux)."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit (one socket per client)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def flip(door: str) -> str:
    return "closed" if door == "open" else "open"


# --- the client harness (runs in the worker processes) -------------------------------------


@dataclass
class Client:
    ready: asyncio.Future[None]
    snapshot_ns: int | None = None
    snapshot_size: int = 0
    received: list[int] = field(default_factory=list)
    """The monotonic ns at which each expected machine message had been received and parsed."""
    message: str | None = None
    snapshot: str | None = None
    """The snapshot's text, kept by one client of each worker (for the bare app's)."""
    keep_snapshot: bool = False
    closed: bool = False
    error: str | None = None
    socket: Any = None


async def run_client(
    client: Client, url: str, headers: dict[str, str], gate: asyncio.Semaphore, door: str, compression: str | None
) -> None:
    from websockets.asyncio.client import connect

    try:
        async with gate:
            ws = await connect(
                url,
                additional_headers=headers,
                open_timeout=None,
                ping_interval=None,
                close_timeout=2,
                max_size=None,
                compression=compression,
            )
            client.socket = ws
            first = await ws.recv()
        client.snapshot_ns = now_ns()
        text = first if isinstance(first, str) else first.decode()
        client.snapshot_size = len(text.encode())
        if client.keep_snapshot:
            client.snapshot = text
        client.ready.set_result(None)
        want = door
        async for raw in ws:
            message = json.loads(raw)
            body = message.get("machine")
            if message.get("type") == "machine" and body.get("id") == MACHINE and body.get("door") == want:
                client.received.append(now_ns())
                client.message = raw if isinstance(raw, str) else raw.decode()
                want = flip(want)
    except Exception as exc:  # any failure counts the client as dropped
        client.error = f"{type(exc).__name__}: {exc}"[:200]
    finally:
        client.closed = True
        if not client.ready.done():
            client.ready.set_result(None)


async def worker_loop(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    clients: list[Client] = []
    tasks: list[asyncio.Task[None]] = []
    ending = False
    while True:
        command, *args = await loop.run_in_executor(None, conn.recv)
        if command == "connect":
            url, headers_list, count, inflight, door, compression = args
            gate = asyncio.Semaphore(inflight)
            clients = [Client(loop.create_future(), keep_snapshot=i == 0) for i in range(count)]
            tasks = [
                asyncio.create_task(run_client(c, url, headers_list[i % len(headers_list)], gate, door, compression))
                for i, c in enumerate(clients)
            ]
            await asyncio.gather(*(c.ready for c in clients))
            ok = [c for c in clients if c.snapshot_ns is not None]
            errors = sorted({c.error for c in clients if c.error})[:3]
            conn.send(
                {
                    "ok": len(ok),
                    "last_ns": max((c.snapshot_ns or 0 for c in ok), default=0),
                    "snapshot_size": ok[0].snapshot_size if ok else 0,
                    "snapshot": clients[0].snapshot if clients else None,
                    "errors": errors,
                }
            )
        elif command == "count":  # how many clients have k changes, or are gone
            (k,) = args
            conn.send(sum(1 for c in clients if len(c.received) >= k or c.closed))
        elif command == "report":
            conn.send(
                {
                    "received": [c.received for c in clients],
                    "dropped": sum(1 for c in clients if c.closed),
                    "errors": sorted({c.error for c in clients if c.error})[:3],
                    "message": next((c.message for c in clients if c.message), None),
                }
            )
        elif command == "close":
            ending = True
            await asyncio.gather(*(c.socket.close() for c in clients if c.socket is not None), return_exceptions=True)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            conn.send("closed")
        elif command == "stop":
            return
        if ending:
            clients, tasks, ending = [], [], False


def worker_main(conn: Connection) -> None:
    raise_nofile()
    asyncio.run(worker_loop(conn))


class Harness:
    """``workers`` client processes, told what to do over pipes."""

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes = []
        for _ in range(workers):
            parent, child = context.Pipe()
            process = context.Process(target=worker_main, args=(child,), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def ask(self, *command: Any) -> list[Any]:
        for pipe in self.pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    def connect(
        self, url: str, headers: list[dict[str, str]], clients: int, inflight: int, door: str, compression: str | None
    ) -> tuple[float, int, int, str | None, list[str]]:
        """Open ``clients`` connections at once; (storm s, clients with a snapshot, snapshot B and text, errors)."""
        k = len(self.pipes)
        shares = [clients // k + (1 if i < clients % k else 0) for i in range(k)]
        per_worker = max(1, inflight // k)
        start = now_ns()
        for pipe, share in zip(self.pipes, shares, strict=True):
            pipe.send(("connect", url, headers, share, per_worker, door, compression))
        answers = [pipe.recv() for pipe in self.pipes]
        last = max(a["last_ns"] for a in answers)
        errors = [e for a in answers for e in a["errors"]]
        size = max(a["snapshot_size"] for a in answers)
        text = next((a["snapshot"] for a in answers if a["snapshot"]), None)
        return (last - start) / 1e9, sum(a["ok"] for a in answers), size, text, errors

    def wait_all(self, k: int, clients: int, timeout: float) -> bool:
        """Until every client has ``k`` changes (or is gone); False on timeout."""
        deadline = time.monotonic() + timeout
        while sum(self.ask("count", k)) < clients:
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)
        return True

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(("stop",))
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.terminate()


@contextmanager
def harness(workers: int) -> Iterator[Harness]:
    pool = Harness(workers)
    try:
        yield pool
    finally:
        pool.close()


@dataclass
class Figures:
    storm_s: float
    latencies: list[float]
    """Seconds, one per (client, change) that arrived."""
    dropped: int
    snapshot_size: int
    message_size: int
    errors: list[str]
    message: dict[str, Any] | None = None
    snapshot: dict[str, Any] | None = None

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) if self.latencies else float("nan")


def measure(
    pool: Harness,
    url: str,
    headers: list[dict[str, str]],
    args: argparse.Namespace,
    first_door: str,
    trigger: Callable[[str], None],
) -> Figures:
    """The connect storm, then ``args.changes`` changes (``trigger(door)``), then the report."""
    compression = None if args.compression == "none" else "deflate"
    storm, ok, snapshot_size, snapshot, errors = pool.connect(
        url, headers, args.clients, args.inflight, first_door, compression
    )
    started: list[int] = []
    door = first_door
    for i in range(args.changes):
        started.append(now_ns())
        trigger(door)
        if not pool.wait_all(i + 1, args.clients, CHANGE_TIMEOUT_S):
            print(f"  change {i + 1} did not reach every client in {CHANGE_TIMEOUT_S:.0f} s", file=sys.stderr)
            break
        door = flip(door)
        time.sleep(SETTLE_S)
    reports = pool.ask("report")
    latencies = [
        (received[i] - started[i]) / 1e9
        for report in reports
        for received in report["received"]
        for i in range(min(len(received), len(started)))
    ]
    if args.per_change:  # where the tail comes from: one slow change, or every change's last clients
        for i in range(len(started)):
            got = [(r[i] - started[i]) / 1e6 for report in reports for r in report["received"] if len(r) > i]
            if got:
                first, mid, last = min(got), percentile(got, 50), max(got)
                print(f"      change {i + 1:>3}: first {first:7.1f}  p50 {mid:7.1f}  last {last:7.1f} ms")
    dropped = max(sum(r["dropped"] for r in reports), args.clients - ok)
    errors += [e for r in reports for e in r["errors"]]
    raw = next((r["message"] for r in reports if r["message"]), None)
    pool.ask("close")
    message = json.loads(raw) if raw else None
    size = len(raw.encode()) if raw else 0
    first = json.loads(snapshot) if snapshot else None
    return Figures(storm, latencies, dropped, snapshot_size, size, sorted(set(errors))[:5], message, first)


# --- the two servers ------------------------------------------------------------------------


@contextmanager
def process_service(command: list[str], port: int, log: Path) -> Iterator[None]:
    from tests.support.mosquitto import wait_for_port

    log_file = log.open("w")  # its log, kept out of the figures
    process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        if not wait_for_port("127.0.0.1", port, 60):
            raise RuntimeError(f"{command[1]} did not start (see {log})")
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()


def door_event(seq: int, door: str) -> tuple[str, bytes]:
    opened = door == "open"
    event = MachineEvent(
        seq=seq,
        boot_id="bench-boot",
        ts=datetime.now(UTC),
        machine=MACHINE,
        type=EventType.DOOR_OPENED if opened else EventType.DOOR_CLOSED,
        state=MachineState.IDLE,
        door=Door.OPEN if opened else Door.CLOSED,
        current_a=0.0,
    )
    return machine_topic(SITE, ROOM, MACHINE, "event"), event.to_bytes()


def kywash_run(pool: Harness, args: argparse.Namespace, workdir: Path) -> Figures:
    from cloud.platform.settings import load_settings
    from cloud.platform.storage.engine import make_engine
    from tests.cloud.fake_edge import EdgePublisher, FakeEdge
    from tests.support.live import bearer, issue_access_token, wait_for_machines
    from tests.support.mosquitto import MosquittoProcess

    broker = MosquittoProcess(workdir)
    try:
        mqtt_url = broker.url
        settings = load_settings(database_url=f"sqlite:///{workdir / 'cloud.db'}", mqtt_url=mqtt_url)
        port = free_port()
        command = [sys.executable, "-m", "launchers.cli", "cloud", "--port", str(port), "--log-level", "warning",
                   "--database-url", settings.database_url, "--mqtt-url", mqtt_url]  # fmt: skip
        edge = FakeEdge(SITE, ROOM, machines=MACHINES, boot_id="bench-boot")
        publisher = EdgePublisher(broker.host, broker.port)
        with process_service(command, port, workdir / "cloud.log"):
            base = f"http://127.0.0.1:{port}"
            publisher.publish(edge.info(), retain=True)
            publisher.publish(edge.status(), retain=True)
            wait_for_machines(base, SITE, ROOM, count=len(MACHINES), timeout=60)
            for machine in MACHINES:
                publisher.publish(edge.state(machine.id), retain=True)
            engine = make_engine(settings.database_url)
            try:
                now = SystemClock().now()
                tokens = [
                    issue_access_token(engine, settings, now, student_id=f"{910000 + i}") for i in range(args.students)
                ]
            finally:
                engine.dispose()
            headers = [bearer(token) for token in tokens]
            seq = iter(range(1, 1_000_000))

            def trigger(door: str) -> None:
                publisher.publish(door_event(next(seq), door))

            trigger("open")  # untimed: the first machine message warms ingest and the hub
            time.sleep(1.0)
            url = f"ws://127.0.0.1:{port}/api/ws?site={SITE}&room={ROOM}"
            return measure(pool, url, headers, args, "closed", trigger)
    finally:
        broker.close()


def bare_run(
    pool: Harness, args: argparse.Namespace, workdir: Path, snapshot: dict[str, Any], machine: dict[str, Any]
) -> Figures:
    port = free_port()
    (workdir / "snapshot.json").write_text(json.dumps(snapshot))
    (workdir / "machine.json").write_text(json.dumps(machine))
    command = [sys.executable, str(ROOT / "tests/bench/bare_broadcast.py"), "--port", str(port),
               "--snapshot-file", str(workdir / "snapshot.json"), "--machine-file", str(workdir / "machine.json"),
               "--log-level", "warning"]  # fmt: skip
    with process_service(command, port, workdir / "bare.log"), httpx.Client(timeout=CHANGE_TIMEOUT_S) as http:

        def trigger(door: str) -> None:
            http.post(f"http://127.0.0.1:{port}{BROADCAST_PATH}", params={"door": door}).raise_for_status()

        trigger("open")  # untimed, as for kywash
        return measure(pool, f"ws://127.0.0.1:{port}{WS_PATH}", [{}], args, "open", trigger)


def snapshot_and_message(kywash: Figures) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the kywash clients got, for the bare app to send: the same sizes."""
    if kywash.snapshot is None or kywash.message is None:
        raise RuntimeError(f"the kywash clients got no snapshot or no machine message: {kywash.errors}")
    return kywash.snapshot, kywash.message


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--inflight", type=int, default=1000, help="handshakes in flight at once, in all")
    parser.add_argument("--students", type=int, default=1, help="distinct student tokens, shared round-robin")
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    parser.add_argument("--per-change", action="store_true", help="also print each change's first/p50/last client")
    args = parser.parse_args()
    limit = raise_nofile()
    print(f"{args.clients} clients in {args.workers} processes, {args.changes} changes, "
          f"{args.inflight} handshakes in flight, compression {args.compression}, RLIMIT_NOFILE {limit}")  # fmt: skip
    header = f"{'run':>3} {'target':<7} {'storm s':>8} {'p50 ms':>8} {'p99 ms':>8} {'dropped':>8}"
    print(f"{header}   snapshot / message bytes")
    rows: list[tuple[Figures, Figures]] = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as tmp, harness(args.workers) as pool:
            workdir = Path(tmp)
            kywash = kywash_run(pool, args, workdir)
            snapshot, machine = snapshot_and_message(kywash)
            bare = bare_run(pool, args, workdir, snapshot, machine)
        rows.append((bare, kywash))
        for name, figures in (("bare", bare), ("kywash", kywash)):
            print(f"{run:>3} {name:<7} {figures.storm_s:8.2f} {figures.p(50) * 1e3:8.1f} {figures.p(99) * 1e3:8.1f} "
                  f"{figures.dropped:>8}   {figures.snapshot_size} / {figures.message_size}")  # fmt: skip
            for error in figures.errors:
                print(f"      {name} error: {error}")
        print(f"{run:>3} {'ratio':<7} {kywash.storm_s / bare.storm_s:7.2f}x {kywash.p(50) / bare.p(50):7.2f}x "
              f"{kywash.p(99) / bare.p(99):7.2f}x   kywash / bare")  # fmt: skip

    def medians(i: int) -> tuple[float, float, float]:
        figures = [row[i] for row in rows]
        return (
            statistics.median(f.storm_s for f in figures),
            statistics.median(f.p(50) * 1e3 for f in figures),
            statistics.median(f.p(99) * 1e3 for f in figures),
        )

    med = {"bare": medians(0), "kywash": medians(1)}
    dropped = sum(b.dropped + k.dropped for b, k in rows)
    storm_ratio = statistics.median(k.storm_s / b.storm_s for b, k in rows)
    p99_ratio = statistics.median(k.p(99) / b.p(99) for b, k in rows)
    print(
        f"median of {args.runs}: connect storm bare {med['bare'][0]:.2f} s, kywash {med['kywash'][0]:.2f} s "
        f"({storm_ratio:.2f}x); delivery p50/p99 bare {med['bare'][1]:.1f}/{med['bare'][2]:.1f} ms, "
        f"kywash {med['kywash'][1]:.1f}/{med['kywash'][2]:.1f} ms (p99 {p99_ratio:.2f}x); dropped {dropped}"
    )
    verdicts = [
        ("delivery p99 <= bare", p99_ratio <= 1.0),
        ("connect storm <= 2x bare", storm_ratio <= 2.0),
        ("no client dropped", dropped == 0),
    ]
    print("targets (reported, not asserted): " + "; ".join(f"{t}: {'met' if ok else 'missed'}" for t, ok in verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
