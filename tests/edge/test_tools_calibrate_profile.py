"""``kywash edge calibrate --profile-out``: a machine's profile learned from its recordings."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.cli import edge_command
from edge.learning import Learned
from edge.tools.trace import Trace, write_trace
from kywash.contract import MachineKind, MachineProfile, decode
from tests.edge.test_tools_calibrate import dryer_cycle, synthetic, washer_cycle


def written(tmp_path: Path, name: str, trace: Trace) -> list[str]:
    path = tmp_path / name
    write_trace(path, zip(trace.times, trace.amps, strict=True))
    return ["--trace", str(path)]


def test_recordings_teach_a_profile_and_the_thresholds_are_still_proposed(tmp_path: Path) -> None:
    traces = written(tmp_path, "w1.csv", washer_cycle(150, 1)) + written(tmp_path, "w2.csv", washer_cycle(900, 2))
    out = tmp_path / "profiles" / "washer-3.json"
    result = CliRunner().invoke(
        edge_command, ["calibrate", "--type", "washer", "--machine", "washer-3", *traces, "--profile-out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "[machines.thresholds]" in result.stdout  # what it did before
    assert "learned 2 cycle(s)" in result.stderr and str(out) in result.stderr
    profile = decode(MachineProfile, out.read_bytes())
    assert (profile.machine, profile.kind, profile.learned) == ("washer-3", MachineKind.WASHER, 2)
    assert len(profile.cycles) == 2
    assert profile.standby_a == pytest.approx(0.03, abs=0.01)
    learned = Learned.from_payload(profile)
    assert learned.warm and learned.expected_duration() is not None


def test_a_profile_is_written_even_when_no_thresholds_can_be_proposed(tmp_path: Path) -> None:
    out = tmp_path / "dryer.json"
    idle = written(tmp_path, "idle.csv", synthetic([(600, 0.04)]))
    result = CliRunner().invoke(edge_command, ["calibrate", "--type", "dryer", *idle, "--profile-out", str(out)])
    assert result.exit_code == 0, result.output
    assert "no threshold proposal: the current never changes much" in result.stderr
    profile = decode(MachineProfile, out.read_bytes())
    assert profile.machine == "dryer" and profile.learned == 0 and profile.standby_a == pytest.approx(0.04, abs=0.01)
    dryer = written(tmp_path, "d.csv", dryer_cycle(1))
    assert CliRunner().invoke(edge_command, ["calibrate", "--type", "dryer", *dryer]).exit_code == 0
    bad = CliRunner().invoke(edge_command, ["calibrate", "--type", "dryer", *idle])  # as before: exit 2
    assert bad.exit_code == 2 and "never changes much" in bad.output
    bad_id = CliRunner().invoke(
        edge_command, ["calibrate", "--type", "dryer", "--machine", "Dryer 1", *idle, "--profile-out", str(out)]
    )
    assert bad_id.exit_code == 2 and "--machine" in bad_id.output


def test_help_says_profiles_replace_hand_set_thresholds() -> None:
    result = CliRunner().invoke(edge_command, ["calibrate", "--help"])
    assert result.exit_code == 0 and "--profile-out" in result.output
    assert "replace hand-set thresholds" in " ".join(result.output.split())
