"""``edge.tools.calibrate``: proposals learned from synthetic cycles, and the command around it."""

from __future__ import annotations

import random
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.cli import edge_command
from edge.detector import CycleDetector
from edge.thresholds import DEFAULT_THRESHOLDS, ThresholdOverrides, Thresholds
from edge.tools.calibrate import CalibrationError, calibrate, percentile, split_point
from edge.tools.trace import Trace, write_trace
from kywash.contract import EventType, MachineKind

Segment = tuple[float, float]
"""(seconds, amps)"""


def synthetic(segments: list[Segment], *, seed: int = 0, noise: float = 0.01, period: float = 1.0) -> Trace:
    rng = random.Random(seed)
    samples: list[tuple[float, float]] = []
    t = 0.0
    for seconds, amps in segments:
        end = t + seconds
        while t < end:
            samples.append((t, max(0.0, amps + rng.gauss(0, noise))))
            t += period
    return Trace.of(samples)


def washer_cycle(soak_s: float, seed: int) -> Trace:
    tumbling = [(10, 1.1), (4, 0.10)] * 20  # drum turns, then rests at controller level
    return synthetic(
        [(300, 0.03), (120, 0.4), *tumbling, (soak_s, 0.03), (240, 10.5), *tumbling, (90, 0.35), (360, 3.0),
         (1200, 0.03)],
        seed=seed,
    )  # fmt: skip


def dryer_cycle(seed: int) -> Trace:
    pulses = [(240, 0.04), (18, 0.95)] * 5
    return synthetic([(300, 0.04), (1500, 16.0), (90, 0.9), (900, 16.0), (300, 0.9), *pulses, (600, 0.04)], seed=seed)


def events(trace: Trace, kind: MachineKind, thresholds: Thresholds) -> list[EventType]:
    detector = CycleDetector(kind, thresholds, now=trace.start)
    return [tr.type for t, a in zip(trace.times, trace.amps, strict=True) for tr in detector.on_current(t, a)]


@pytest.mark.parametrize(
    ("kind", "traces"),
    [
        (MachineKind.WASHER, [washer_cycle(120, 1), washer_cycle(960, 2), washer_cycle(200, 3)]),
        (MachineKind.DRYER, [dryer_cycle(1), dryer_cycle(2)]),
    ],
)
def test_proposal_sits_between_idle_and_running_and_finds_each_cycle_once(
    kind: MachineKind, traces: list[Trace]
) -> None:
    result = calibrate(traces, kind)
    t = result.thresholds
    assert result.levels.idle_amps < t.off_amps < t.on_amps < result.levels.running_amps
    assert len(result.cycles) == len(traces)
    for trace in traces:
        found = [e for e in events(trace, kind, t) if e in (EventType.CYCLE_STARTED, EventType.CYCLE_FINISHED)]
        assert found == [EventType.CYCLE_STARTED, EventType.CYCLE_FINISHED]


def test_dwells_grow_with_what_the_traces_show_but_never_below_the_defaults() -> None:
    washer = calibrate([washer_cycle(960, 1)], MachineKind.WASHER).thresholds
    base = DEFAULT_THRESHOLDS[MachineKind.WASHER]
    assert washer.off_dwell_s == base.off_dwell_s  # the late quiet stretches are short
    washer_early_soak = calibrate([washer_cycle(960, 1)], MachineKind.WASHER)
    assert washer_early_soak.cycles[0].longest_early_quiet_s == pytest.approx(960, abs=5)
    long_soak = calibrate([washer_cycle(1200, 1)], MachineKind.WASHER).thresholds
    assert long_soak.off_dwell_s >= max(base.off_dwell_s, 1.5 * 1200)  # no end is called inside the soak
    dryer = calibrate([dryer_cycle(1)], MachineKind.DRYER)
    assert dryer.cycles[0].longest_pulse_after_s == pytest.approx(18, abs=1)
    assert dryer.thresholds.restart_dwell_s >= 3 * 18 and dryer.thresholds.resume_dwell_s >= 60


def test_snippet_is_toml_for_the_machines_thresholds_table() -> None:
    result = calibrate([dryer_cycle(1)], MachineKind.DRYER)
    text = result.to_toml("dryer-3")
    assert text.startswith("# kywash edge calibrate: dryer-3 (dryer), 1 cycle(s)")
    table = tomllib.loads(text)["machines"]["thresholds"]
    assert set(table) == set(result.learned) and table["on_amps"] == result.thresholds.on_amps
    ThresholdOverrides.model_validate(table)  # what the room config accepts there


@pytest.mark.parametrize(
    ("trace", "message"),
    [
        (synthetic([(600, 0.03)]), "never changes much"),
        (synthetic([(600, 0.03), *[(30, 2.0), (200, 0.03)] * 5]), "no cycle"),
        (synthetic([(20, 0.03), (5, 2.0)] * 40), "no quiet stretch"),
    ],
)
def test_traces_that_cannot_teach_anything_say_why(trace: Trace, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        calibrate([trace], MachineKind.WASHER)


def test_helpers() -> None:
    assert percentile([5, 1, 3, 2, 4], 50) == 3 and percentile([1.0], 95) == 1.0
    assert 0.05 < split_point([0.03] * 100 + [2.0] * 100) < 2.0


def test_command_learns_from_trace_files(tmp_path: Path) -> None:
    paths = []
    for seed in (1, 2):
        trace = washer_cycle(150, seed)
        paths += ["--trace", str(tmp_path / f"w{seed}.csv")]
        write_trace(paths[-1], zip(trace.times, trace.amps, strict=True))
    result = CliRunner().invoke(edge_command, ["calibrate", "--type", "washer", *paths])
    assert result.exit_code == 0, result.output
    assert "calibrate: washer, 2 cycle(s)" in result.output and "[machines.thresholds]" in result.output
    bad = CliRunner().invoke(edge_command, ["calibrate", "--type", "washer"])
    assert bad.exit_code == 2 and "either --cycles N" in bad.output
