"""``kywash edge record|replay|plot`` as a technician runs them: real processes, a real pty."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from edge.config import demo_room_config
from edge.config_toml import write_room_config
from edge.tools.trace import load_trace, write_trace
from firmware_sim.board import BoardEmulator
from kywash.clock import SystemClock

KYWASH = [sys.executable, "-m", "launchers.cli"]


def kywash(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KYWASH, *args], check=False, capture_output=True, text=True, timeout=60)


def test_replay_prints_one_json_line_per_state_change_in_trace_time(tmp_path: Path) -> None:
    # a dryer at 2 samples a second: 30 min of heat, the cool-down tumble, then anti-wrinkle pulses
    def amps(t: float) -> float:
        if 60 <= t < 1860:
            return 16.0
        if 1860 <= t < 2160 or (2400 <= t < 2418) or (2700 <= t < 2718):
            return 0.9
        return 0.03

    write_trace(tmp_path / "dryer.csv", [(k / 2, amps(k / 2)) for k in range(2 * 3300)])
    config = write_room_config(
        demo_room_config("north", "r1", "mqtt://127.0.0.1:1883", "loop://", tmp_path / "d"), tmp_path / "room.toml"
    )
    result = kywash("edge", "replay", str(tmp_path / "dryer.csv"), "--type", "dryer", "--config", str(config))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["event"], e["state"]) for e in lines] == [
        ("cycle_started", "running"), ("cycle_ending", "ending"), ("cycle_finished", "finished")
    ]  # fmt: skip
    assert 60 + 90 <= lines[0]["t_s"] <= 160 and 2160 < lines[-1]["t_s"] < 2700  # a dryer starts after 90 s of draw
    assert set(lines[0]) == {"file", "t_s", "state", "event", "reason"}
    assert lines[0]["file"] == str(tmp_path / "dryer.csv")


def test_replay_of_several_files_learns_across_runs_and_refuses_a_bad_state_file(tmp_path: Path) -> None:
    def washer(t: float) -> float:  # idle, drum turns, a final spin, standby
        if 120 <= t < 1920:
            return 1.5 if t % 25 < 20 else 0.1
        return 4.0 if 1920 <= t < 2040 else 0.02

    write_trace(tmp_path / "a.csv", [(float(t), washer(t)) for t in range(2400)])
    state = tmp_path / "state"
    args = ["--type", "washer", "--state-dir", str(state)]
    first = kywash("edge", "replay", str(tmp_path / "a.csv"), str(tmp_path / "a.csv"), *args)
    assert first.returncode == 0, first.stderr
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    assert [line["event"] for line in lines].count("cycle_finished") == 2
    assert [line["event"] for line in lines if line["event"].startswith("door")] == ["door_opened", "door_closed"]
    assert "learned 2 cycle(s)" in first.stderr
    again = kywash("edge", "replay", str(tmp_path / "a.csv"), *args)
    assert again.returncode == 0 and "learned 3 cycle(s)" in again.stderr
    assert json.loads((state / "washer.profile.json").read_text())["learned"] == 3

    (state / "washer.profile.json").write_text("{}")
    bad = kywash("edge", "replay", str(tmp_path / "a.csv"), *args)
    assert bad.returncode == 2 and bad.stdout == "" and "Traceback" not in bad.stderr
    assert bad.stderr.startswith(f"error: {state / 'washer.profile.json'}: not a machine profile")


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("t_s,amps\n0,1\n0,2\n")
    result = kywash("edge", "replay", str(tmp_path / "bad.csv"), "--type", "washer")
    assert result.returncode == 2 and result.stderr.strip().endswith("times must increase strictly")
    result = kywash("edge", "plot", "turbo", "--out", str(tmp_path / "x.png"))
    assert result.returncode == 2 and "programs are dryer:" in result.stderr


def test_record_then_replay_a_board_on_a_pty(tmp_path: Path) -> None:
    with BoardEmulator([lambda t: 0.03, lambda t: 2.5], SystemClock(), period=0.05) as board:
        board.start()
        config = write_room_config(
            demo_room_config("north", "r1", "mqtt://127.0.0.1:1883", board.url, tmp_path / "d"), tmp_path / "room.toml"
        )
        out = tmp_path / "w2.csv"
        result = kywash("edge", "record", "--config", str(config), "--machine", "washer-2", "--out", str(out),
                        "--seconds", "1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    trace = load_trace(out)
    assert len(trace.times) >= 10 and set(trace.amps) == {2.5}
    replayed = kywash("edge", "replay", str(out), "--type", "washer")
    assert replayed.returncode == 0 and replayed.stdout == ""  # a second of draw starts no cycle


def test_the_technician_tools_are_under_kywash_edge() -> None:
    edge = kywash("edge", "--help")
    assert edge.returncode == 0, edge.stderr
    assert all(f"  {name} " in edge.stdout for name in ("record", "calibrate", "replay", "plot"))
    assert kywash("sim", "--help").returncode == 2  # the simulator has no commands of its own: it runs inside demo/edge


def test_edge_cpu_benchmark_runs_and_prints_its_figures() -> None:
    bench = Path(__file__).resolve().parents[1] / "bench" / "edge_cpu.py"
    result = subprocess.run([sys.executable, str(bench), "--seconds", "1", "--warmup", "2"],
                            check=False, capture_output=True, text=True, timeout=90)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    for label in ("agent + simulator", "simulator alone", "agent (difference)"):
        assert label in result.stdout and "% of one core" in result.stdout
