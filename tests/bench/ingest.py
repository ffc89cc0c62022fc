#!/usr/bin/env python3
"""Benchmark: how many machine events per second the cloud's MQTT ingest applies.

Per run, on one private Mosquitto, with the same publisher (its own process, so it takes
no CPU or GIL from the measured side: paho, QoS 1, ``--events`` events published as fast
as paho goes, round-robin over ``--rooms`` rooms of ``--machines`` machines, each room
with its own boot id and strictly increasing seq; each machine's door opens and closes in
turn, ``door_opened`` → ``door_open``, ``door_closed`` → ``idle``, as edge/detector.py reports):

- **bare** (site ``bench-bare``): a plain paho subscriber (QoS 1) of the event topics;
  rate = (messages - 1) / (last received - first received). It decodes and stores nothing:
  the ceiling that the broker and one Python MQTT client set for any ingest built on paho.
- **kywash** (site ``bench-kw``): the cloud as its own process (``kywash cloud``, as
  deployed), on a fresh SQLite file or PostgreSQL database, once it has applied every
  room's retained ``info`` and ``status`` (then it subscribes to machine topics). Rows of
  ``edge_events`` are counted every 50 ms; rate = events / (time the count last changed -
  first publish). Each event is validated, stored once and moves its machine, as a real
  edge's would. With ``--replicas N`` (PostgreSQL), N cloud processes share the event
  topics (``$share``, fan-out on) and one database.

It only prints: per run bare msg/s, kywash events/s and kywash / bare; then the medians
and the ratio of the medians. Usage::

    .venv/bin/python tests/bench/ingest.py [--events 3000] [--rooms 20] [--machines 12] [--runs 3]
        [--database sqlite|postgres|both] [--postgres ADMIN_URL] [--replicas 1] [--batch-max N]
        [--timeout 300]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from sqlalchemy import create_engine, func, select  # noqa: E402

from cloud.platform.storage.tables import edge_events  # noqa: E402
from kywash.contract import (  # noqa: E402
    EVENT_QOS,
    Door,
    EventType,
    MachineEvent,
    MachineInfo,
    MachineKind,
    MachineState,
    RoomInfo,
    RoomStatus,
    RoomStatusValue,
    machine_filters,
    machine_topic,
    room_topic,
)
from launchers.broker import free_port  # noqa: E402
from tests.support.mosquitto import MosquittoProcess  # noqa: E402
from tests.support.postgres import throwaway_database  # noqa: E402

BARE_SITE, CLOUD_SITE = "bench-bare", "bench-kw"
POLL_S = 0.05
POSTGRES_ADMIN_URL = os.environ.get("KYWASH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
"""The admin connection the tests use (tests/conftest.py) to make throwaway databases."""


def room_ids(rooms: int) -> list[str]:
    return [f"r{i:02d}" for i in range(rooms)]


def machine_infos(count: int) -> tuple[MachineInfo, ...]:
    washers = (count + 1) // 2
    kinds = [(MachineKind.WASHER, n) for n in range(1, washers + 1)]
    kinds += [(MachineKind.DRYER, n) for n in range(1, count - washers + 1)]
    return tuple(MachineInfo(id=f"{kind.value}-{n}", kind=kind, number=n) for kind, n in kinds)


def boot_id(site: str, room: str) -> str:
    return f"{site}-{room}-boot1"


def connected(host: str, port: int, client_id: str) -> mqtt.Client:
    """A paho client (MQTT 3.1.1, VERSION2 callbacks) with its network thread running, once CONNACKed."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    ready = threading.Event()
    client.on_connect = lambda *_: ready.set()
    client.connect(host, port)
    client.loop_start()
    if not ready.wait(10):
        raise RuntimeError(f"{client_id} could not connect to {host}:{port}")
    return client


def close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def prepublish_rooms(host: str, port: int, site: str, rooms: int, machines: int) -> None:
    """Each room's retained ``info`` and ``status`` online, as its edge leaves them on the broker."""
    client = connected(host, port, f"bench-rooms-{site}")
    now = datetime.now(UTC)
    for room in room_ids(rooms):
        boot = boot_id(site, room)
        info = RoomInfo(site=site, room=room, agent_version="bench", boot_id=boot, started_at=now,
                        machines=machine_infos(machines))  # fmt: skip
        status = RoomStatus(status=RoomStatusValue.ONLINE, boot_id=boot, ts=now)
        for leaf, payload in (("info", info), ("status", status)):
            client.publish(room_topic(site, room, leaf), payload.to_bytes(), qos=1, retain=True).wait_for_publish(10)
    close(client)


def event_messages(site: str, rooms: int, machines: int, events: int) -> list[tuple[str, bytes]]:
    """Door opened / closed in turn on each machine, round-robin over rooms and machines."""
    room_list, ids = room_ids(rooms), [m.id for m in machine_infos(machines)]
    seqs, start, messages = dict.fromkeys(room_list, 0), datetime.now(UTC), []
    for i in range(events):
        room, machine = room_list[i % rooms], ids[(i // rooms) % machines]
        seqs[room] += 1
        opening = (i // (rooms * machines)) % 2 == 0  # this machine's 1st, 3rd, ... event: the door opens
        event = MachineEvent(
            seq=seqs[room], boot_id=boot_id(site, room), ts=start + timedelta(milliseconds=10 * i),
            machine=machine, type=EventType.DOOR_OPENED if opening else EventType.DOOR_CLOSED,
            state=MachineState.DOOR_OPEN if opening else MachineState.IDLE,
            door=Door.OPEN if opening else Door.CLOSED, current_a=0.0,
        )  # fmt: skip
        messages.append((machine_topic(site, room, machine, "event"), event.to_bytes()))
    return messages


def publish_events(host: str, port: int, site: str, rooms: int, machines: int, events: int, out: Any) -> None:
    """The publisher process: publish every event at QoS 1, wait for every PUBACK; report
    (monotonic time of the first publish, of the last PUBACK): CLOCK_MONOTONIC is system-wide."""
    messages = event_messages(site, rooms, machines, events)
    client = connected(host, port, f"bench-pub-{site}-{os.getpid()}")
    first = time.monotonic()
    sent = [client.publish(topic, payload, qos=EVENT_QOS) for topic, payload in messages]
    for info in sent:
        info.wait_for_publish(600)
    out.put((first, time.monotonic()))
    close(client)


class Publisher:
    """``publish_events`` in a spawned process (a fresh interpreter: no GIL shared with us)."""

    def __init__(self, host: str, port: int, site: str, args: argparse.Namespace) -> None:
        context = multiprocessing.get_context("spawn")
        self.out = context.Queue()
        work = (host, port, site, args.rooms, args.machines, args.events, self.out)
        self.process = context.Process(target=publish_events, args=work, daemon=True)
        self.process.start()

    @property
    def failed(self) -> bool:
        return self.process.exitcode not in (None, 0)

    def times(self, timeout: float) -> tuple[float, float]:
        """(first publish, last PUBACK), once it has finished."""
        self.process.join(timeout)
        if self.process.exitcode != 0:
            self.process.kill()
            raise RuntimeError(f"the publisher failed or hung (exit code {self.process.exitcode})")
        first, last = self.out.get(timeout=5)
        return first, last


def bare_rate(host: str, port: int, args: argparse.Namespace) -> float:
    arrivals: list[float] = []
    done, subscribed = threading.Event(), threading.Event()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        arrivals.append(time.monotonic())
        if len(arrivals) >= args.events:
            done.set()

    sub = connected(host, port, "bench-bare-sub")
    sub.on_message = on_message
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.subscribe(machine_filters(BARE_SITE, leaves=("event",))[0], qos=1)
    subscribed.wait(10)
    pub = Publisher(host, port, BARE_SITE, args)
    deadline = time.monotonic() + args.timeout
    while not done.wait(0.5) and not pub.failed and time.monotonic() < deadline:
        pass
    if not done.is_set():
        print(f"bare: only {len(arrivals)} of {args.events} messages arrived")
    pub.times(args.timeout)
    close(sub)
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0


def ingest_counts(url: str, metric: str = "kywash_ingest_messages_total", label: str = "kind") -> dict[str, float]:
    """A replica's ingest counter by label, from its ``/metrics`` (accepted by kind by default)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        sample.labels[label]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == metric
    }


def log_tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def cloud_replicas(
    mqtt_url: str, database_url: str, args: argparse.Namespace, workdir: Path
) -> Iterator[list[tuple[str, Path]]]:
    """``args.replicas`` cloud processes; yields their URLs and log files once each has applied
    every room's status. Their logs' tails are printed if the caller fails."""
    files = {"KYWASH_VAPID_KEY_PATH": str(workdir / "vapid.pem"), "KYWASH_PHOTO_DIR": str(workdir / "photos")}
    env = os.environ | files  # its web push key and photos in the temporary directory, not ./data
    if args.batch_max is not None:
        env["KYWASH_INGEST_BATCH_MAX"] = str(args.batch_max)
    if args.replicas > 1:
        env |= {"KYWASH_MQTT_SHARED_GROUP": "bench", "KYWASH_REPLICA_FANOUT": "true"}
    with ExitStack() as stack:
        urls, logs = [], []
        for _ in range(args.replicas):  # one after the other: the first one migrates the database
            port = free_port()
            logs.append(workdir / f"cloud-{port}.log")
            command = [sys.executable, "-m", "launchers.cli", "cloud", "--port", str(port), "--log-level", "warning",
                       "--database-url", database_url, "--mqtt-url", mqtt_url]  # fmt: skip
            log_file = stack.enter_context(logs[-1].open("w"))
            process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
            stack.callback(stop, process)
            urls.append(f"http://127.0.0.1:{port}")
            wait_ready(process, urls[-1], args.rooms, logs[-1])
        try:
            yield list(zip(urls, logs, strict=True))
        except BaseException:
            for path in logs:
                print(f"--- tail of {path.name} ---\n{log_tail(path)}")
            raise


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_ready(process: subprocess.Popen[bytes], url: str, rooms: int, log: Path) -> None:
    """Until the replica applied every room's info and status: it subscribes to the machine
    topics right after status, so by then events reach it (retained ones wait for nobody)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the cloud exited with {process.returncode}:\n{log_tail(log)}")
        try:
            counts = ingest_counts(url)
            if counts.get("info", 0) >= rooms and counts.get("status", 0) >= rooms:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the cloud at {url} did not register {rooms} rooms in 60 s:\n{log_tail(log)}")


def kywash_rate(mqtt_url: str, database_url: str, args: argparse.Namespace, workdir: Path) -> float:
    host, port = mqtt_url.removeprefix("mqtt://").split(":")
    with cloud_replicas(mqtt_url, database_url, args, workdir) as replicas:
        engine = create_engine(database_url)
        query = select(func.count()).select_from(edge_events)
        count, changed_at = 0, 0.0
        pub = Publisher(host, int(port), CLOUD_SITE, args)
        deadline = time.monotonic() + args.timeout
        while count < args.events and not pub.failed and time.monotonic() < deadline:
            time.sleep(POLL_S)
            with engine.connect() as conn:
                now = conn.scalar(query) or 0
            if now != count:
                count, changed_at = now, time.monotonic()
        first, _ = pub.times(args.timeout)
        engine.dispose()
        if args.replicas > 1 or count < args.events:
            per_replica = [ingest_counts(url) for url, _ in replicas]
            print("    accepted per replica (event/duplicate): "
                  + ", ".join(f"{c.get('event', 0):.0f}/{c.get('duplicate', 0):.0f}" for c in per_replica))  # fmt: skip
        if count < args.events:
            print(f"kywash: only {count} of {args.events} events stored in {args.timeout} s")
            for url, log in replicas:
                refused = {k: v for k, v in ingest_counts(url, "kywash_ingest_rejected_total", "reason").items() if v}
                print(f"--- {url}: refused {refused or 'none'}; tail of {log.name} ---\n{log_tail(log)}")
    return count / (changed_at - first) if count else 0.0


@contextmanager
def database(kind: str, workdir: Path, admin_url: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'cloud.db'}"
        return
    with throwaway_database(admin_url, "kywash_bench") as url:
        yield url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--machines", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for a phase's events")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--postgres", default=POSTGRES_ADMIN_URL, help="admin URL to make throwaway databases")
    parser.add_argument("--replicas", type=int, default=1, help="cloud processes (more than 1: PostgreSQL only)")
    parser.add_argument("--batch-max", type=int, default=None, help="passed to the cloud as KYWASH_INGEST_BATCH_MAX")
    parser.add_argument(
        "--inflight", type=int, default=None, help="Mosquitto's max_inflight_messages (default: Mosquitto's, 20)"
    )
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    if args.replicas > 1 and "sqlite" in kinds:
        parser.error("--replicas above 1 needs --database postgres")
    print(f"config: {args.rooms} rooms x {args.machines} machines, {args.events} events per run, QoS 1, "
          f"private Mosquitto; database {args.database}, {args.replicas} cloud replica(s), "
          f"batch-max {args.batch_max or 'default'}, broker in-flight window {args.inflight or 20}")  # fmt: skip
    print(f"{'run':>3} {'database':<9} {'bare msg/s':>10} {'kywash ev/s':>11} {'kywash/bare':>11}")
    bares: list[float] = []
    rates: dict[str, list[float]] = {kind: [] for kind in kinds}
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as tmp:
            broker = MosquittoProcess(Path(tmp), max_inflight=args.inflight)
            try:
                prepublish_rooms(broker.host, broker.port, CLOUD_SITE, args.rooms, args.machines)
                bares.append(bare_rate(broker.host, broker.port, args))
                for kind in kinds:
                    workdir = Path(tmp) / kind
                    workdir.mkdir()
                    with database(kind, workdir, args.postgres) as url:
                        rates[kind].append(kywash_rate(broker.url, url, args, workdir))
                    print(f"{run:>3} {kind:<9} {bares[-1]:10.0f} {rates[kind][-1]:11.1f} "
                          f"{100 * rates[kind][-1] / bares[-1]:10.2f}%")  # fmt: skip
            finally:
                broker.close()
    bare = statistics.median(bares)
    for kind in kinds:
        kywash = statistics.median(rates[kind])
        print(f"{kind}: median of {args.runs}: bare {bare:.0f} msg/s, kywash {kywash:.1f} events/s, "
              f"ratio of medians {100 * kywash / bare:.2f}%")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
