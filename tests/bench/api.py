#!/usr/bin/env python3
"""Benchmark: requests per second of ``GET /api/v1/machines/`` beside a bare FastAPI endpoint.

In the same run, under the same load (``--concurrency`` keep-alive connections, 50 by
default):

- **bare**: ``tests/bench/bare_app.py``, one FastAPI route returning the same 12-machine
  JSON as a constant — the floor any FastAPI JSON endpoint pays;
- **kywash**: the cloud service as deployed, its own process (``python -m launchers.cli cloud
  --no-ingest``) on a SQLite database holding one room of 6 washers and 6 dryers (a few
  running), filled through the cloud's own ingest code before the server starts.

Both are served by ``cloud.runtime.server.make_server`` (one worker, the same uvicorn loop and HTTP
implementation, log level warning). Targets alternate (bare, kywash, bare, kywash, ...),
each measured for ``--seconds`` after ``--warmup`` (and after one request answered, so the
requests the warm-up abandoned are done; ``--no-settle`` skips that wait). It prints per run
requests/s, non-200 responses, socket errors and the server process's CPU milliseconds per
response of each, and the ratio kywash / bare; then the medians over ``--runs``. The goal
is a ratio ≥ 40%. Exit status 0 whatever the figures: they are reported, never asserted.

The load generator is ``wrk`` when installed, otherwise ``tests/bench/http_load.py`` (a
lean asyncio HTTP/1.1 client) in its own process; ``--loadgen`` picks one. ``ab`` is
offered but not chosen by default: it speaks HTTP/1.0, and uvicorn's h11 closes every
HTTP/1.0 connection, so it would measure TCP connects instead of keep-alive requests.
Usage::

    .venv/bin/python tests/bench/api.py [--runs 3] [--seconds 5] [--concurrency 50]
        [--warmup 1] [--loadgen auto|wrk|ab|python] [--threads 1] [--bare-sync]
        [--no-settle] [--token T]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from cloud.domain.accounts.sessions import start_session  # noqa: E402
from cloud.domain.accounts.users import create_user  # noqa: E402
from cloud.domain.ingest.apply import apply_message  # noqa: E402
from cloud.platform.settings import CloudSettings  # noqa: E402
from cloud.platform.storage.engine import make_engine  # noqa: E402
from cloud.platform.storage.migrate import upgrade_database  # noqa: E402
from kywash.contract import (  # noqa: E402
    Door,
    MachineInfo,
    MachineKind,
    MachineState,
    MachineStatePayload,
    RoomInfo,
    RoomStatus,
    RoomStatusValue,
    decode_message,
    machine_topic,
    room_topic,
)
from launchers.broker import free_port  # noqa: E402

PATH = "/api/v1/machines/"
SETTLE_TIMEOUT_S = 15.0
SITE, ROOM = "bench", "room-1"
WASHERS = DRYERS = 6
STATES = {
    **dict.fromkeys(("washer-1", "washer-3", "washer-4", "dryer-2", "dryer-5"), MachineState.RUNNING),
    "washer-6": MachineState.FINISHED,
}
"""A few machines running, one finished, the rest idle."""


# --- the database and the two servers -----------------------------------------------------


def room_messages(now: datetime) -> list[tuple[str, bytes]]:
    """What a room's edge publishes: its info, ``online``, and each machine's state."""
    machines = tuple(
        MachineInfo(id=f"{kind.value}-{n}", kind=kind, number=n)
        for kind, count in ((MachineKind.WASHER, WASHERS), (MachineKind.DRYER, DRYERS))
        for n in range(1, count + 1)
    )
    info = RoomInfo(site=SITE, room=ROOM, agent_version="bench", boot_id="boot-1", started_at=now, machines=machines)
    status = RoomStatus(status=RoomStatusValue.ONLINE, boot_id="boot-1", ts=now)
    messages = [
        (room_topic(SITE, ROOM, "info"), info.to_bytes()),
        (room_topic(SITE, ROOM, "status"), status.to_bytes()),
    ]
    for machine in machines:
        state = STATES.get(machine.id, MachineState.IDLE)
        payload = MachineStatePayload(
            machine=machine.id,
            kind=machine.kind,
            state=state,
            since=now - timedelta(minutes=20),
            door=Door.CLOSED,
            current_a=9.5 if state is MachineState.RUNNING else 0.0,
            seq=0,
            ts=now,
        )
        messages.append((machine_topic(SITE, ROOM, machine.id, "state"), payload.to_bytes()))
    return messages


def seed_database(url: str) -> None:
    """Migrate and fill the database through the cloud's own ingest rules (no raw SQL)."""
    upgrade_database(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            for topic, payload in room_messages(now):
                ref, message = decode_message(topic, payload)
                apply_message(conn, ref, message, now)
    finally:
        engine.dispose()


def student_token(url: str) -> str:
    """An access token for a new student, signed with the secret the cloud process will use
    (both read ``KYWASH_SECRET_KEY``, or fall back to the development default)."""
    settings = CloudSettings(database_url=url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            user = create_user(conn, role="student", secret="1234", now=now, student_id="424242")
            return start_session(conn, settings, user.id, now).access_token
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """User + system CPU of the server process, all threads (Linux ``/proc``; None elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server_process(name: str, command: list[str], port: int, workdir: Path) -> Iterator[Server]:
    """Run a server as its own process; yield it once it answers ``PATH``."""
    log_path = workdir / f"{name}.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{log_path.read_text()[-2000:]}")
                try:
                    httpx.get(url + PATH, timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{name} did not answer in 60 s") from None
                    time.sleep(0.1)
            yield Server(name, url, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cloud_command(port: int, database_url: str) -> list[str]:
    return [sys.executable, "-m", "launchers.cli", "cloud", "--host", "127.0.0.1", "--port", str(port),
            "--database-url", database_url, "--no-ingest", "--log-level", "warning"]  # fmt: skip


def bare_command(port: int, body_file: Path, sync: bool) -> list[str]:
    command = [sys.executable, str(ROOT / "tests/bench/bare_app.py"),
               "--port", str(port), "--body-file", str(body_file)]  # fmt: skip
    return [*command, "--sync"] if sync else command


def checked_body(url: str, headers: dict[str, str]) -> bytes:
    """The KY Wash answer, after checking it is a 200 with the room's 6 washers and 6 dryers."""
    response = httpx.get(url + PATH, headers=headers, timeout=10)
    if response.status_code != 200:
        raise RuntimeError(f"GET {PATH} answered {response.status_code}: {response.text[:500]}")
    body = response.json()
    washers, dryers = len(body.get("washers", [])), len(body.get("dryers", []))
    if (washers, dryers) != (WASHERS, DRYERS):
        raise RuntimeError(f"GET {PATH} shows {washers} washers and {dryers} dryers, not {WASHERS} + {DRYERS}")
    return response.content


# --- load generators ------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    concurrency: int
    seconds: float
    warmup: float
    threads: int


@dataclass(frozen=True)
class Result:
    requests: int
    elapsed: float
    non_200: int
    errors: int
    cpu: float | None = None
    """CPU seconds the server process used while measured."""

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    @property
    def cpu_ms(self) -> str:
        """Server CPU per response, in milliseconds."""
        return f"{self.cpu / self.requests * 1e3:.2f}" if self.cpu is not None and self.requests else "-"


def _run(command: list[str], timeout: float) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr[-1000:] or done.stdout[-1000:]}")
    return done.stdout


def _number(pattern: str, text: str, default: float | None = None) -> float:
    found = re.search(pattern, text)
    if found is None:
        if default is not None:
            return default
        raise RuntimeError(f"no {pattern!r} in the load generator's output:\n{text}")
    return float(found.group(1))


def run_wrk(url: str, seconds: float, load: Load, headers: list[str]) -> Result:
    command = ["wrk", f"-t{min(load.threads, load.concurrency)}", f"-c{load.concurrency}",
               f"-d{max(1, round(seconds))}s"]  # fmt: skip
    for header in headers:
        command += ["-H", header]
    return parse_wrk(_run([*command, url], timeout=seconds + 60))


WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_wrk(out: str) -> Result:
    """wrk's summary: "N requests in 5.00s", "Socket errors: ...", "Non-2xx or 3xx responses: N"."""
    found = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)\b", out)
    if found is None:
        raise RuntimeError(f"no request count in wrk's output:\n{out}")
    requests, elapsed = int(found.group(1)), float(found.group(2)) * WRK_UNITS[found.group(3)]
    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1))) if socket_errors else 0
    non_200 = int(_number(r"Non-2xx or 3xx responses: (\d+)", out, default=0))
    return Result(requests, elapsed, non_200, errors)


def run_ab(url: str, seconds: float, load: Load, headers: list[str]) -> Result:
    command = ["ab", "-q", "-k", "-c", str(load.concurrency), "-t", str(max(1, round(seconds))), "-n", "100000000"]
    for header in headers:
        command += ["-H", header]
    out = _run([*command, url], timeout=seconds + 60)
    requests = int(_number(r"Complete requests:\s+(\d+)", out))
    elapsed = _number(r"Time taken for tests:\s+([\d.]+)", out)
    non_200 = int(_number(r"Non-2xx responses:\s+(\d+)", out, default=0))
    errors = int(_number(r"Failed requests:\s+(\d+)", out, default=0))
    return Result(requests, elapsed, non_200, errors)


def run_python(url: str, seconds: float, load: Load, headers: list[str]) -> Result:
    """``http_load.py`` in ``load.threads`` processes, the connections split between them."""
    procs = max(1, min(load.threads, load.concurrency))
    shares = [load.concurrency // procs + (1 if i < load.concurrency % procs else 0) for i in range(procs)]
    command = [sys.executable, str(ROOT / "tests/bench/http_load.py"), url, "--seconds", str(seconds), "--warmup", "0"]
    for header in headers:
        command += ["--header", header]
    clients = [subprocess.Popen([*command, "--connections", str(n)], stdout=subprocess.PIPE, text=True) for n in shares]
    results = []
    for client in clients:
        out, _ = client.communicate(timeout=seconds + 60)
        if client.returncode != 0:
            raise RuntimeError(f"http_load.py failed with {client.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    rate = sum(r["responses"] / r["elapsed"] for r in results)
    elapsed = statistics.mean(r["elapsed"] for r in results)
    non_200, errors = sum(r["non_200"] for r in results), sum(r["errors"] for r in results)
    return Result(round(rate * elapsed), elapsed, non_200, errors)


LOADGENS = {"wrk": run_wrk, "ab": run_ab, "python": run_python}


def settle(server: Server, headers: list[str], timeout: float = SETTLE_TIMEOUT_S) -> bool:
    """Wait until ``server`` answers one request: the requests a finished run left in flight are done."""
    try:
        httpx.get(server.url + PATH, headers=dict(h.split(": ", 1) for h in headers), timeout=timeout)
    except httpx.TimeoutException:
        return False
    return True


def measure(loadgen: str, server: Server, load: Load, headers: list[str], *, settle_first: bool = True) -> Result:
    """Warm up (not counted), then load ``server`` for ``load.seconds``, noting its CPU time."""
    run = LOADGENS[loadgen]
    if load.warmup > 0:
        run(server.url + PATH, load.warmup, load, headers)
    if settle_first and not settle(server, headers):
        print(f"    {server.name} did not answer within {SETTLE_TIMEOUT_S:g} s after the warm-up", flush=True)
    before = server.cpu_seconds()
    result = run(server.url + PATH, load.seconds, load, headers)
    after = server.cpu_seconds()
    if before is None or after is None:
        return result
    return Result(result.requests, result.elapsed, result.non_200, result.errors, after - before)


def choose_loadgen(name: str) -> str:
    if name == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if name in ("wrk", "ab") and not shutil.which(name):
        raise SystemExit(f"{name} is not installed (apt-get install {'wrk' if name == 'wrk' else 'apache2-utils'})")
    return name


def describe_loadgen(name: str, load: Load) -> str:
    if name == "wrk":
        version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout.split()
        label = " ".join(version[:2]) if version else "wrk"
        return f"{label}, {load.threads} thread(s), {load.concurrency} keep-alive connections"
    if name == "ab":
        return (
            f"ab -k, {load.concurrency} connections (HTTP/1.0: uvicorn's h11 closes each connection, "
            "so this measures one TCP connect per request)"
        )
    return (
        f"tests/bench/http_load.py (asyncio, raw HTTP/1.1) in {load.threads} process(es), "
        f"{load.concurrency} keep-alive connections"
    )


# --- the run --------------------------------------------------------------------------------


def row(run: int, target: str, result: Result, ratio: str = "") -> str:
    return (
        f"{run:>3} {target:<7} {result.rate:9.1f} {result.non_200:>8} {result.errors:>7} {result.cpu_ms:>8}   {ratio}"
    ).rstrip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per target per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each measurement")
    parser.add_argument("--concurrency", type=int, default=50, help="keep-alive connections")
    parser.add_argument("--loadgen", choices=["auto", *LOADGENS], default="auto")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads, or http_load.py processes")
    parser.add_argument("--bare-sync", action="store_true", help="bare route as `def` (thread pool), like the cloud's")
    parser.add_argument(
        "--no-settle", action="store_true",
        help="measure right after the warm-up, while the requests it abandoned (wrk stops mid-request) are in flight",
    )  # fmt: skip
    parser.add_argument("--token", help="send `Authorization: Bearer TOKEN` to KY Wash (if the route needs one)")
    parser.add_argument(
        "--as-student", action="store_true",
        help="ask as a logged-in student (a token for a student registered in the seeded database)",
    )  # fmt: skip
    args = parser.parse_args()

    loadgen = choose_loadgen(args.loadgen)
    load = Load(args.concurrency, args.seconds, args.warmup, args.threads)
    auth = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    kywash_headers = [f"{k}: {v}" for k, v in auth.items()]
    print(f"load generator: {describe_loadgen(loadgen, load)}")
    print(f"measured {args.seconds:g} s per target per run after a {args.warmup:g} s warm-up; GET {PATH}")

    runs: list[tuple[Result, Result]] = []
    with tempfile.TemporaryDirectory(prefix="kywash-bench-api-") as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite:///{workdir / 'cloud.db'}"
        seed_database(database_url)
        if args.as_student:
            auth = {"Authorization": f"Bearer {student_token(database_url)}"}
            kywash_headers = [f"{k}: {v}" for k, v in auth.items()]
            print("asking as a logged-in student (the session is checked on every request)")
        cloud_port, bare_port = free_port(), free_port()
        with server_process("kywash", cloud_command(cloud_port, database_url), cloud_port, workdir) as cloud:
            body = checked_body(cloud.url, auth)
            body_file = workdir / "body.json"
            body_file.write_bytes(body)
            with server_process("bare", bare_command(bare_port, body_file, args.bare_sync), bare_port, workdir) as bare:
                bare_size = len(httpx.get(bare.url + PATH, timeout=10).content)
                print(
                    f"kywash: python -m launchers.cli cloud --no-ingest (own process, SQLite), {WASHERS} washers + "
                    f"{DRYERS} dryers, {len(body)} bytes; bare: tests/bench/bare_app.py "
                    f"({'def' if args.bare_sync else 'async def'} route), {bare_size} bytes"
                )
                print(f"{'run':>3} {'target':<7} {'req/s':>9} {'non-200':>8} {'errors':>7} {'cpu ms':>8}   kywash/bare")
                for run in range(1, args.runs + 1):
                    b = measure(loadgen, bare, load, [], settle_first=not args.no_settle)
                    print(row(run, "bare", b), flush=True)
                    k = measure(loadgen, cloud, load, kywash_headers, settle_first=not args.no_settle)
                    print(row(run, "kywash", k, f"{k.rate / b.rate:6.1%}" if b.rate else "n/a"), flush=True)
                    if k.requests == 0:
                        print(f"    kywash answered nothing in {args.seconds:g} s: the service stalled")
                    runs.append((b, k))

    bare_rate = statistics.median(b.rate for b, _ in runs)
    kywash_rate = statistics.median(k.rate for _, k in runs)
    ratio = statistics.median(k.rate / b.rate if b.rate else 0.0 for b, k in runs)
    bad = sum(b.non_200 + b.errors + k.non_200 + k.errors for b, k in runs)
    print(
        f"median of {args.runs}: bare {bare_rate:.1f} req/s, kywash {kywash_rate:.1f} req/s, "
        f"ratio kywash/bare {ratio:.1%} (goal ≥ 40%); non-200s and errors over all runs: {bad}"
    )
    print("(cpu ms: the server process's CPU time per response while measured)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
