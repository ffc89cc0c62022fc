#!/usr/bin/env python3
"""Benchmark: the edge agent's CPU for a 12-machine room at the board's default sampling rate.

Two child processes run side by side for the same real-time window (after a warm-up):

- **agent + simulator**: ``kywash edge --config ROOM.toml --simulate`` (6 washers, 6
  dryers, students, one KWB/1 frame a second over a pty, the agent publishing to an
  embedded MQTT broker that runs in this process, so it is not counted);
- **simulator alone** (the baseline, same run): the same ``RoomSimulator`` with nobody
  reading its pty, so the difference is what the agent costs.

CPU is user + system time from ``/proc/<pid>/stat`` over the window, printed as a share
of one core. Usage::

    .venv/bin/python tests/bench/edge_cpu.py [--seconds 60] [--warmup 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from edge.config import demo_room_config  # noqa: E402
from edge.config_toml import write_room_config  # noqa: E402
from launchers.broker import EmbeddedBroker, free_port  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
SIMULATOR_ONLY = """
import signal, threading
from gpiozero.pins.mock import MockFactory
from firmware_sim.room import RoomSimulator, demo_machines
from kywash.clock import SystemClock
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print("ready", flush=True)
with RoomSimulator(demo_machines(), SystemClock(), MockFactory(), serial="pty") as sim:
    sim.start()
    stop.wait()
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A child whose output goes to ``log`` (a pipe nobody reads would fill and stall it)."""
    with log.open("wb") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure(seconds: float, warmup: float) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(port=free_port()) as broker:
        config = demo_room_config("bench", "cpu", broker.url, "loop://", Path(tmp) / "data")
        path = write_room_config(config, Path(tmp) / "room.toml")
        logs = {"agent + simulator": Path(tmp) / "agent.log", "simulator alone": Path(tmp) / "sim.log"}
        agent = [sys.executable, "-m", "launchers.cli", "edge", "--config", str(path), "--simulate"]
        children = {
            "agent + simulator": start(agent, env, logs["agent + simulator"]),
            "simulator alone": start([sys.executable, "-c", SIMULATOR_ONLY], env, logs["simulator alone"]),
        }
        try:
            time.sleep(warmup)
            for name, child in children.items():
                if child.poll() is not None:
                    raise SystemExit(f"{name} exited early:\n{logs[name].read_text()[-2000:]}")
            before = {name: cpu_seconds(c.pid) for name, c in children.items()}
            began = time.monotonic()
            time.sleep(seconds)
            after = {name: cpu_seconds(c.pid) for name, c in children.items()}
            wall = time.monotonic() - began
        finally:
            for child in children.values():
                stop(child)
        for name, child in children.items():
            if child.returncode not in (0, -signal.SIGTERM):
                raise SystemExit(f"{name} failed ({child.returncode}):\n{logs[name].read_text()[-2000:]}")
        agent_log = logs["agent + simulator"].read_text()
        for sign, what in (("current board open", "read the board"), ("connected to mqtt://", "reached the broker")):
            if sign not in agent_log:
                raise SystemExit(f"the agent never {what}:\n{agent_log[-2000:]}")
    return {name: (after[name] - before[name]) / wall for name in children}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window, real seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring (imports, opening)")
    options = parser.parse_args()
    shares = measure(options.seconds, options.warmup)
    print(f"edge CPU: 12-machine room, board frame every 1.0 s, {options.seconds:g} s real time, "
          f"{os.cpu_count()} cores on this host")  # fmt: skip
    for name, share in shares.items():
        print(f"  {name:<22} {100 * share:6.2f} % of one core")
    agent = shares["agent + simulator"] - shares["simulator alone"]
    print(f"  {'agent (difference)':<22} {100 * agent:6.2f} % of one core")


if __name__ == "__main__":
    main()
