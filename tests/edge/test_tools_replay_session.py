"""``kywash edge replay A.csv B.csv ...``: several recordings as one machine, learning as it goes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from edge.cli import edge_command
from edge.config import demo_room_config
from edge.config_toml import write_room_config
from edge.learning import Learned
from edge.tools.cli import replay_command
from edge.tools.learn import DOOR_OPEN_FOR_S, DOOR_OPENS_AFTER_S, save_profile
from edge.tools.trace import Trace, load_trace, write_trace
from kywash.contract import MachineKind, MachineProfile, decode


def washer(minutes: int = 30, *, tail_s: int = 300, idle_s: int = 120) -> Trace:
    """Idle, drum turns (20 s at 1.5 A, 5 s resting), a 2-minute final spin at 4 A, then standby."""
    amps = [0.02] * idle_s + [1.5 if k % 25 < 20 else 0.1 for k in range(minutes * 60)] + [4.0] * 120
    amps += [0.02] * tail_s
    return Trace.of((float(t), a) for t, a in enumerate(amps))


def write(path: Path, trace: Trace) -> str:
    write_trace(path, zip(trace.times, trace.amps, strict=True))
    return str(path)


def replay(*args: str) -> Result:
    return CliRunner().invoke(replay_command, list(args))


def lines(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_two_recordings_play_as_one_machine_with_the_door_between(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", washer(30))
    b = write(tmp_path / "b.csv", washer(35, tail_s=20))  # ends while the washer is still "finishing"
    out = lines(replay(a, b, "--type", "washer", "--state-dir", str(tmp_path / "state")))
    assert all({"file", "t_s", "state", "event", "reason"} <= set(line) for line in out)
    assert [(line["file"], line["event"]) for line in out] == [
        (a, "cycle_started"), (a, "cycle_ending"), (a, "cycle_finished"), (a, "door_opened"), (a, "door_closed"),
        (b, "cycle_started"), (b, "cycle_ending"),
    ]  # fmt: skip
    last_a = load_trace(a).end
    assert out[3]["t_s"] == last_a + DOOR_OPENS_AFTER_S and out[4]["t_s"] == out[3]["t_s"] + DOOR_OPEN_FOR_S
    assert out[5]["t_s"] == pytest.approx(130, abs=5)  # seconds from b.csv's first sample, not the session's
    assert out[2]["cycle_s"] == pytest.approx(1920, abs=30) and out[2]["reason"] is None
    profile = decode(MachineProfile, (tmp_path / "state" / "washer.profile.json").read_bytes())
    assert (profile.machine, profile.kind, profile.learned) == ("washer", MachineKind.WASHER, 1)
    assert profile.standby_a == pytest.approx(0.02)


def test_the_learned_profile_is_saved_and_used_on_the_next_run(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    first = [write(tmp_path / f"w{k}.csv", washer(30 + k)) for k in range(2)]
    later = write(tmp_path / "w9.csv", washer(32))
    cold = lines(replay(later, "--type", "washer"))  # no history: the end is waited for longer
    lines(replay(*first, "--type", "washer", "--state-dir", state))
    warm = lines(replay(later, "--type", "washer", "--state-dir", state))
    assert [line["event"] for line in warm] == [line["event"] for line in cold]
    assert warm[-1]["event"] == "cycle_finished" and warm[-1]["t_s"] < cold[-1]["t_s"]
    profile = decode(MachineProfile, (tmp_path / "state" / "washer.profile.json").read_bytes())
    assert profile.learned == 3 and len(profile.cycles) == 3


def test_several_files_through_the_serial_port_agree_with_the_direct_path(tmp_path: Path) -> None:
    files = [write(tmp_path / "a.csv", washer(20)), write(tmp_path / "b.csv", washer(22, tail_s=30))]
    direct = lines(replay(*files, "--type", "washer"))
    serial = lines(replay(*files, "--type", "washer", "--speed", "1000000"))
    assert serial == direct and len(direct) == 7


def test_a_machine_of_the_room_config_keeps_its_own_profile_file(tmp_path: Path) -> None:
    config = write_room_config(
        demo_room_config("north", "r1", "mqtt://127.0.0.1:1883", "loop://", tmp_path / "d"), tmp_path / "room.toml"
    )
    a = write(tmp_path / "a.csv", washer(30))
    args = ["--type", "washer", "--config", str(config), "--machine", "washer-3", "--state-dir", str(tmp_path)]
    lines(replay(a, a, *args))
    profile = decode(MachineProfile, (tmp_path / "washer-3.profile.json").read_bytes())
    assert profile.machine == "washer-3" and profile.learned == 2


def test_the_config_given_to_kywash_edge_serves_the_replay_too(tmp_path: Path) -> None:
    config = write_room_config(
        demo_room_config("north", "r1", "mqtt://127.0.0.1:1883", "loop://", tmp_path / "d"), tmp_path / "room.toml"
    )
    a = write(tmp_path / "a.csv", washer(30))
    group = ["--config", str(config), "replay", a, "--type", "washer"]
    out = lines(CliRunner().invoke(edge_command, [*group, "--machine", "washer-3", "--state-dir", str(tmp_path)]))
    assert out[-1]["event"] == "cycle_finished" and (tmp_path / "washer-3.profile.json").exists()
    unknown = CliRunner().invoke(edge_command, [*group, "--machine", "washer-99"])
    assert unknown.exit_code == 2 and f"no machine 'washer-99' in {config}; it has washer-1" in unknown.output
    alone = replay(a, "--type", "washer", "--machine", "washer-3")
    assert alone.exit_code == 2 and "--machine needs --config" in alone.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not a machine profile: payload is not JSON"),
        (b'{"schema": 1, "machine": "washer"}', "not a machine profile: MachineProfile.kind"),
        (None, "a dryer's profile, not a washer's"),
    ],
)
def test_a_bad_state_file_is_an_error_not_a_traceback(tmp_path: Path, content: bytes | None, message: str) -> None:
    state = tmp_path / "state"
    path = state / "washer.profile.json"
    if content is None:
        save_profile(path, Learned(standby=0.03), "dryer-1", MachineKind.DRYER, 1.8e9)
    else:
        state.mkdir()
        path.write_bytes(content)
    before = path.read_bytes()
    result = replay(write(tmp_path / "a.csv", washer(20)), "--type", "washer", "--state-dir", str(state))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {path}: ") and message in result.stderr
    assert "Traceback" not in result.output and path.read_bytes() == before  # left as it was
