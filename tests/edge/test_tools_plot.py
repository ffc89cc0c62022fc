"""``kywash edge plot``: a program or a trace drawn with its detected states shaded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.tools.cli import plot_command
from edge.tools.plot import TAIL_S, program_trace, state_spans
from edge.tools.replay import StateChange
from edge.tools.trace import write_trace
from firmware_sim.errors import UnknownProgramError
from kywash.contract import MachineKind

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_state_spans_cover_the_trace_from_idle_on() -> None:
    changes = [StateChange(10, "running", "cycle_started"), StateChange(50, "paused", "cycle_paused"),
               StateChange(50, "paused", "door_closed"), StateChange(90, "finished", "cycle_finished")]  # fmt: skip
    assert state_spans(0, 100, changes) == [(0, 10, "idle"), (10, 50, "running"), (50, 90, "paused"),
                                            (90, 100, "finished")]  # fmt: skip


def test_program_trace_runs_past_the_end() -> None:
    trace = program_trace(MachineKind.DRYER, "normal", seed=3)
    assert trace.times[1] - trace.times[0] == 1.0 and trace.end > 45 * 60 + TAIL_S
    assert max(trace.amps) > 5 and min(trace.amps) < 0.2
    with pytest.raises(UnknownProgramError, match=r"washer has no program 'spin'; try one of \[.*'quick'"):
        program_trace(MachineKind.WASHER, "spin")


def test_plot_command_draws_a_program_and_a_trace(tmp_path: Path) -> None:
    result = CliRunner().invoke(plot_command, ["quick", "--out", str(tmp_path / "quick.png")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {tmp_path / 'quick.png'} (") and "state changes" in result.output
    assert (tmp_path / "quick.png").read_bytes().startswith(PNG_MAGIC)
    write_trace(tmp_path / "t.csv", [(t, 16.0 if 60 <= t < 900 else 0.03) for t in range(0, 1500, 2)])
    result = CliRunner().invoke(plot_command, [str(tmp_path / "t.csv"), "--type", "dryer", "--out",
                                              str(tmp_path / "t.png")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t.png").stat().st_size > 10_000


def test_plot_of_an_unknown_program_lists_the_programs(tmp_path: Path) -> None:
    result = CliRunner().invoke(plot_command, ["turbo", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "no program 'turbo' (and no such file); programs are dryer: " in result.output
    assert "washer: " in result.output and "quick" in result.output
    result = CliRunner().invoke(plot_command, ["quick", "--type", "dryer", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "dryer has no program 'quick'; try one of [" in result.output


def test_plot_without_matplotlib_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    result = CliRunner().invoke(plot_command, ["quick", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "pip install 'kywash[tools]'" in result.output
    assert not (tmp_path / "x.png").exists()
