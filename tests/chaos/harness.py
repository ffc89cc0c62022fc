"""Real processes for the chaos run: Mosquitto, the cloud, one simulated edge per room.

Everything runs as it would in production, each in its own process: ``mosquitto`` (with
persistence, so a restart keeps retained messages and sessions), ``kywash cloud`` (a
fixed MQTT client id and ``KYWASH_MQTT_CLEAN_SESSION=false``: the broker queues events for
it while it is down) and one ``kywash edge --simulate`` per room, each reaching the broker
through its own ``TcpProxy`` so the test can cut one room off. Every simulator writes its
ground truth to a file (``--truth-log``) and all share one simulated timeline
(``--sim-epoch``), so a killed and restarted edge carries on where the room's time was.

Logs of every process go to files in the work directory (named in failure messages).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from edge.config import demo_room_config
from edge.config_toml import write_room_config
from launchers.broker import free_port
from tests.support.mosquitto import MosquittoProcess
from tests.support.tcp_proxy import TcpProxy

SITE = "chaos"
CLOUD_CLIENT_ID = "kywash-cloud-chaos"
# Small rooms: two washers and two dryers (the demo's first pins and channels of each kind).
ROOM_MACHINES = ("washer-1", "washer-2", "dryer-1", "dryer-2")


class Proc:
    """A child process started from a fixed command line, again and again; output to a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.argv, self.log_path = name, argv, log_path
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.starts += 1
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _reap
        self._log.write(f"\n===== start {self.starts} of {self.name} at {time.time():.3f} =====\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind, as in a power cut."""
        if self.proc is not None and self.running:
            self.proc.send_signal(signal.SIGKILL)
        self._reap(5)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM and wait (SIGKILL if it does not end)."""
        if self.proc is not None and self.running:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._reap(5)

    def _reap(self, timeout: float) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def kywash_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "launchers.cli", *args]


@dataclass
class ChaosParams:
    """The run's size; defaults fit CI (a whole simulated day in under 2.5 real minutes)."""

    speed: float = 600.0
    """Simulated seconds per real second (the board's frame period widens to 10 ms real = 6 s)."""
    span_s: float = 144.0
    """Real seconds the room runs before the end is judged (144 s at 600x: 24 simulated hours)."""
    rooms: int = 3
    student_rate: float = 4.0
    """Student arrivals per hour per room (the daily average; evenings are busier)."""
    seed: int = 7
    cutoff_s: float = 60.0
    """Real seconds one room is cut off from the broker."""
    start_hour: float = 0.0
    """The simulated day starts at this UTC hour of today, whatever the real time: students come
    by the hour of day (few at night), so a run must not depend on when CI runs it."""

    @classmethod
    def from_env(cls) -> ChaosParams:
        """``KYWASH_CHAOS_SPEED``, ``KYWASH_CHAOS_SPAN_S`` ... override the defaults (a longer day)."""
        values: dict[str, Any] = {}
        for name, kind in (("speed", float), ("span_s", float), ("rooms", int), ("student_rate", float),
                           ("seed", int), ("cutoff_s", float), ("start_hour", float)):  # fmt: skip
            raw = os.environ.get(f"KYWASH_CHAOS_{name.upper()}")
            if raw:
                values[name] = kind(raw)
        return cls(**values)


@dataclass
class Room:
    name: str
    seed: int
    config_path: Path
    data_dir: Path
    truth_path: Path
    proxy: TcpProxy
    edge: Proc

    def outbox_events(self) -> dict[int, bytes]:
        """Every event the edge has written (pending or archived), seq -> payload bytes."""
        uri = f"file:{self.data_dir / 'outbox.db'}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=10) as db:
            rows = db.execute(
                "SELECT seq, payload FROM archive UNION SELECT seq, payload FROM events ORDER BY seq"
            ).fetchall()
        return {int(seq): bytes(payload) for seq, payload in rows}

    def last_seq(self) -> int:
        uri = f"file:{self.data_dir / 'outbox.db'}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=10) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
            top = db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
        return max(int(row[0]) if row else 0, int(top))


@dataclass
class ChaosStack:
    workdir: Path
    database_url: str
    params: ChaosParams
    epoch: float = field(default_factory=time.time)
    """The real moment the simulated timeline is anchored at (``kywash edge --sim-epoch``)."""
    sim_start: float = field(init=False)
    """The simulated time at ``epoch`` (``--sim-start``)."""
    broker: MosquittoProcess = field(init=False)
    cloud: Proc = field(init=False)
    cloud_port: int = field(init=False)
    rooms: dict[str, Room] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    """What the test did and when (real seconds since the start; simulated time)."""

    def __post_init__(self) -> None:
        self.sim_start = self.epoch // 86400 * 86400 + self.params.start_hour * 3600
        self.broker = MosquittoProcess(self.workdir, persistence=True)
        self.cloud_port = free_port()
        env = {
            "KYWASH_DATABASE_URL": self.database_url,
            "KYWASH_MQTT_URL": self.broker.url,
            "KYWASH_MQTT_CLIENT_ID": CLOUD_CLIENT_ID,
            "KYWASH_MQTT_CLEAN_SESSION": "false",
            "KYWASH_PHOTO_DIR": str(self.workdir / "photos"),
            # The default retry (60 s, doubling) is for a campus; a 2-minute run wants quicker retries.
            "KYWASH_REPLAY_RETRY_S": "10",
            "KYWASH_REPLAY_RETRY_MAX_S": "20",
        }
        self.cloud = Proc(
            "cloud",
            kywash_argv("cloud", "--port", str(self.cloud_port), "--log-level", "info"),
            self.workdir / "cloud.log",
            env,
        )
        for index in range(self.params.rooms):
            self._add_room(f"room-{chr(ord('a') + index)}", self.params.seed * 100 + index)

    def _add_room(self, name: str, seed: int) -> None:
        proxy = TcpProxy(self.broker.host, self.broker.port)
        data_dir = self.workdir / name
        config = demo_room_config(SITE, name, proxy.url, "/dev/null", data_dir)
        machines = tuple(m for m in config.machines if m.id in ROOM_MACHINES)
        # Sped up, a busy CI core stalling a process for a few real seconds must not read as a
        # silent board (the default, 60 simulated s, is 0.1 s real at 600x): allow 12 real s.
        board = config.board.model_copy(update={"silence_fault_s": 12.0 * self.params.speed})
        config = config.model_copy(update={"machines": machines, "board": board})
        config_path = write_room_config(config, self.workdir / f"{name}.toml")
        truth = self.workdir / f"{name}.truth.jsonl"
        argv = kywash_argv(
            "edge", "--config", str(config_path), "--simulate", "--speed", str(self.params.speed),
            "--seed", str(seed), "--student-rate", str(self.params.student_rate),
            "--truth-log", str(truth), "--sim-epoch", repr(self.epoch), "--sim-start", repr(self.sim_start),
        )  # fmt: skip
        edge = Proc(f"edge {name}", argv, self.workdir / f"{name}.log")
        self.rooms[name] = Room(name, seed, config_path, data_dir, truth, proxy, edge)

    # --- time -------------------------------------------------------------------------

    def sim_now(self) -> float:
        """The simulated time every edge's clock reads now (see ``kywash edge --sim-epoch``)."""
        return self.sim_start + (time.time() - self.epoch) * self.params.speed

    def note(self, what: str) -> None:
        sim = time.strftime("%H:%M:%S", time.gmtime(self.sim_now()))
        line = f"[{time.time() - self.epoch:6.1f} s real, sim {sim}] {what}"
        self.log.append(line)
        print(line, flush=True)

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self.cloud.start()
        self.wait_cloud_healthy()
        for room in self.rooms.values():
            room.edge.start()
        database = "PostgreSQL" if self.database_url.startswith("postgresql") else "SQLite"
        rooms = ", ".join(self.rooms)
        self.note(f"Mosquitto, the cloud ({database}) and edges of {rooms} started, x{self.params.speed:g}")

    def close(self) -> None:
        for room in self.rooms.values():
            room.edge.stop()
        self.cloud.stop()
        for room in self.rooms.values():
            room.proxy.close()
        self.broker.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.cloud_port}"

    def cloud_connects(self) -> int:
        """How many times the cloud has said it connected to the broker (over all its runs)."""
        try:
            return self.cloud.log_path.read_text(errors="replace").count("connected to MQTT broker")
        except OSError:
            return 0

    def wait_cloud_healthy(self, timeout: float = 60) -> None:
        def healthy() -> bool:
            try:
                return httpx.get(f"{self.base_url}/api/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout, lambda: f"the cloud never became healthy; log:\n{self.cloud.tail()}")

    def diagnostics(self) -> str:
        parts = ["what the test did:", *self.log, f"logs in {self.workdir}"]
        for proc in (self.cloud, *(r.edge for r in self.rooms.values())):
            parts += [f"--- {proc.name} (last lines of {proc.log_path}) ---", proc.tail(15)]
        return "\n".join(parts)


def wait_until(check: Callable[[], bool], timeout: float, describe: Callable[[], str], every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"after {timeout:.0f} s: {describe()}")
