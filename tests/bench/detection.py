#!/usr/bin/env python3
"""Benchmark: how well the cycle detector calls starts and ends on the simulator's programs.

Every program in the simulator's library (washer normal, quick, heavy, delayed; dryer
normal, high, low, sensor) runs on a machine drawn from each seed (its own scale, clamp
offset, standby and noise), ``--cycles`` times in a row as a laundry room would: the
program runs, anti-wrinkle tumbles follow a dryer's end, the student comes back late,
opens the door, loads and starts the next one. The machine's clamp is read once per
board period (1 s, as the board sends) and fed to ``edge.detector.CycleDetector`` with
the door switch — in simulated time, so a run takes seconds.

Per program it prints: true cycles, missed cycles (no start inside the true cycle or no
finish after it), false "finished" (reported before the drum truly stopped), false
starts (a start with no true cycle: anti-wrinkle pulses, soak resumes) and the delay from
the drum truly stopping to ``cycle_finished`` (median and worst; only the detector's
delay — publishing adds milliseconds). Then the fault scenarios (``firmware_sim.scenarios``):
whether each was reported, and how long after its onset. The last line is a summary to
paste into a note. Usage::

    .venv/bin/python tests/bench/detection.py [--seeds 5] [--cycles 2] [--period 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from edge.detector import CycleDetector, Transition  # noqa: E402
from edge.thresholds import DEFAULT_THRESHOLDS, Thresholds  # noqa: E402
from firmware_sim.machines import MACHINE_KINDS, make_machine  # noqa: E402
from firmware_sim.scenarios import SCENARIOS, T0, Scenario  # noqa: E402
from kywash.contract import Door, EventType, MachineKind  # noqa: E402

E = EventType
IDLE_BEFORE_S = 600.0
LATE_STUDENT_S = 10 * 60.0
"""The student comes back this long after the anti-wrinkle window (or the end)."""
SILENCE_FAULT_S = 60.0
"""The agent's default ``board.silence_fault_s``."""
THRESHOLDS: dict[MachineKind, Thresholds] = dict(DEFAULT_THRESHOLDS)
"""What the detectors use; ``--no-end-signature`` turns the end-stretch rule off."""


@dataclass
class TrueCycle:
    drum_start: float
    end: float


@dataclass
class ProgramResult:
    kind: str
    program: str
    cycles: int = 0
    missed: int = 0
    false_finished: int = 0
    false_starts: int = 0
    delays: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.program}"


def run_program(kind: str, program: str, seed: int, cycles: int, period: float) -> ProgramResult:
    """``cycles`` runs of ``program`` on the machine of ``seed``, through a fresh detector."""
    machine = make_machine(kind, f"{kind}-1", seed=seed)
    mkind = MachineKind(kind)
    detector = CycleDetector(mkind, THRESHOLDS[mkind], now=T0)
    events: list[Transition] = []
    truth: list[TrueCycle] = []
    t = T0
    for _ in range(cycles):
        start = t + IDLE_BEFORE_S
        t = _feed(machine, detector, events, t, start, period)
        assert machine.start(program, start), "the machine refused to start"
        cycle = machine.cycle
        assert cycle is not None
        truth.append(TrueCycle(start + cycle.timeline.delay, cycle.ends))
        door_at = cycle.ends + cycle.timeline.anti_wrinkle_s + LATE_STUDENT_S
        t = _feed(machine, detector, events, t, door_at, period)
        machine.open_door(door_at)
        events += detector.on_door(door_at, Door.OPEN)
        t = _feed(machine, detector, events, t, door_at + 120, period)
        machine.close_door(t)
        events += detector.on_door(t, Door.CLOSED)
    return score(ProgramResult(kind, program), truth, events)


def _feed(
    machine: object, detector: CycleDetector, events: list[Transition], t: float, until: float, period: float
) -> float:
    current = machine.current  # type: ignore[attr-defined]
    while t < until:
        events += detector.on_current(t, current(t))
        t += period
    return t


def score(result: ProgramResult, truth: list[TrueCycle], events: list[Transition]) -> ProgramResult:
    starts = [e.at for e in events if e.type is E.CYCLE_STARTED]
    finishes = [e for e in events if e.type is E.CYCLE_FINISHED]
    result.cycles += len(truth)
    matched_starts: set[float] = set()
    for cycle in truth:
        inside = [s for s in starts if cycle.drum_start <= s <= cycle.end]
        result.false_finished += sum(1 for f in finishes if cycle.drum_start <= f.at < cycle.end)
        after = [f for f in finishes if f.at >= cycle.end]
        if not inside or not after:
            result.missed += 1
            continue
        matched_starts.add(inside[0])
        if after[0].reason is None:  # ended by the current, not by the door
            result.delays.append(after[0].at - cycle.end)
    result.false_starts += sum(1 for s in starts if s not in matched_starts)
    return result


def merge(into: ProgramResult, other: ProgramResult) -> None:
    into.cycles += other.cycles
    into.missed += other.missed
    into.false_finished += other.false_finished
    into.false_starts += other.false_starts
    into.delays += other.delays


@dataclass
class FaultResult:
    name: str
    expect: str
    runs: int = 0
    detected: int = 0
    wrong_finished: int = 0
    delays: list[float] = field(default_factory=list)


def run_scenario(scenario: Scenario, period: float) -> tuple[bool, float | None, int]:
    """Feed a scenario as the agent would; (expected output seen, its delay after onset, finishes)."""
    mkind = MachineKind(scenario.kind)
    detector = CycleDetector(mkind, THRESHOLDS[mkind], now=T0)
    doors = list(scenario.door_changes)
    events: list[Transition] = []
    last_reading = T0
    for t, amps in scenario.readings(period):
        while doors and doors[0][0] <= t:
            at, is_open = doors.pop(0)
            events += detector.on_door(at, Door.OPEN if is_open else Door.CLOSED)
        if amps is not None:
            last_reading = t
            events += detector.on_current(t, amps)
        elif t - last_reading >= SILENCE_FAULT_S:
            events += detector.on_sensor_fault(t)
        else:
            events += detector.on_tick(t)
    for e in events:
        if (scenario.expect == "sensor_fault" and e.type is E.SENSOR_FAULT) or (
            e.type is E.FAULT_DETECTED and e.reason == scenario.expect
        ):
            return True, e.at - scenario.onset, _finishes(events)
    return False, None, _finishes(events)


def _finishes(events: list[Transition]) -> int:
    return sum(1 for e in events if e.type is E.CYCLE_FINISHED and e.reason is None)


def _fmt(values: list[float]) -> tuple[str, str]:
    if not values:
        return "-", "-"
    return f"{statistics.median(values):.0f} s", f"{max(values):.0f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=5, help="machines (and noise) per program")
    parser.add_argument("--cycles", type=int, default=2, help="cycles in a row per machine")
    parser.add_argument("--period", type=float, default=1.0, help="board sample period, seconds")
    parser.add_argument("--programs", default="", help="comma-separated kind/program to run (default: all)")
    parser.add_argument(
        "--no-end-signature", action="store_true", help="without the final-spin / cool-down rule (end_min_s = 0)"
    )
    args = parser.parse_args(argv)
    if args.no_end_signature:
        for mkind, t in DEFAULT_THRESHOLDS.items():
            THRESHOLDS[mkind] = t.model_copy(update={"end_min_s": 0.0})
    began = time.perf_counter()
    wanted = {p.strip() for p in args.programs.split(",") if p.strip()}
    print(
        f"detection bench: {args.seeds} seed(s) x {args.cycles} cycle(s) per program, "
        f"board period {args.period:g} s, default thresholds (edge/thresholds.py)"
        f"{' without the end signature' if args.no_end_signature else ''}"
    )
    print(f"{'program':<16}{'cycles':>7}{'missed':>8}{'false fin':>11}{'false start':>13}{'delay med':>11}{'worst':>9}")
    total = ProgramResult("all", "all")
    for kind, cls in MACHINE_KINDS.items():
        for program in cls.programs:
            if wanted and f"{kind}/{program}" not in wanted:
                continue
            row = ProgramResult(kind, program)
            for seed in range(args.seeds):
                merge(row, run_program(kind, program, seed, args.cycles, args.period))
            merge(total, row)
            med, worst = _fmt(row.delays)
            print(
                f"{row.name:<16}{row.cycles:>7}{row.missed:>8}{row.false_finished:>11}"
                f"{row.false_starts:>13}{med:>11}{worst:>9}"
            )
    print(f"{'fault scenario':<26}{'expect':<24}{'detected':>10}{'finished':>10}{'after onset med':>17}{'worst':>9}")
    found = runs = 0
    for name, build in SCENARIOS.items():
        fault = FaultResult(name, "")
        for seed in range(args.seeds):
            scenario = build(seed)
            fault.expect = scenario.expect
            seen, at, finished = run_scenario(scenario, args.period)
            fault.runs += 1
            fault.detected += seen
            fault.wrong_finished += finished
            if at is not None:
                fault.delays.append(at)
        found, runs = found + fault.detected, runs + fault.runs
        med, worst = _fmt(fault.delays)
        print(
            f"{name:<26}{fault.expect:<24}{f'{fault.detected}/{fault.runs}':>10}"
            f"{fault.wrong_finished:>10}{med:>17}{worst:>9}"
        )
    med, worst = _fmt(total.delays)
    ok = total.missed == 0 and total.false_finished == 0 and total.false_starts == 0
    goal = ok and bool(total.delays) and statistics.median(total.delays) <= 60
    print(
        f"summary: {total.cycles} cycles, {total.missed} missed, {total.false_finished} false finished, "
        f"{total.false_starts} false starts; finished delay median {med}, worst {worst}; "
        f"fault scenarios {found}/{runs} detected; goal (none false or missed, median <= 60 s) "
        f"{'met' if goal else 'NOT met'} [{time.perf_counter() - began:.1f} s]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
