#!/usr/bin/env python3
"""Benchmark: how well the cycle detector calls starts and ends, cold and warm.

Every program in the simulator's library (washers: normal, quick, heavy, delayed and the
measured-machine programs intensive and eco; dryers: normal, high, low, sensor and the
measured-machine programs heatpump and electronics) runs on a machine drawn from each seed
(its own scale, clamp offset, standby and noise), ``--warmup + --warm`` times in a row as
a laundry room would: the program runs, anti-wrinkle tumbles and electronics tails follow
a dryer's end, the student comes back late, opens the door, loads and starts the next
one. The machine's clamp is read once per board period (1 s, as the board sends) and fed
to ``edge.detector.CycleDetector`` with the door switch — in simulated time, so a run
takes seconds. One detector per machine, so what it learned from the first cycles is
used for the next: the first cycle is **cold** (no history: only the standby of the idle
minutes before it), cycles after the first ``--warmup`` are **warm**.

Per program, cold and warm: true cycles, missed cycles (no start inside the true cycle
or no finish after it), false "finished" (reported before the drum truly stopped), false
starts (a start with no true cycle: anti-wrinkle pulses, soak resumes), the delay from
the drum truly stopping to ``cycle_finished`` (median and worst; only the detector's
delay — publishing adds milliseconds) and the start delay (first real activity to
``cycle_started``, worst). Then the fault scenarios (``firmware_sim.scenarios``):
whether each was reported, and how long after its onset. The last lines are a summary
to paste into a note; the goals are the issue's: none missed, false or falsely started,
median finish delay <= 120 s cold and <= 60 s warm (per program), start within 120 s.
Usage::

    .venv/bin/python tests/bench/detection.py [--seeds 5] [--warmup 3] [--warm 2] [--period 1.0]
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
"""What the detectors use; ``--no-end-signature`` turns the washer's final-spin rule off."""
COLD_MEDIAN_GOAL_S = 120.0
WARM_MEDIAN_GOAL_S = 60.0
START_GOAL_S = 120.0


@dataclass
class TrueCycle:
    drum_start: float
    end: float
    tail_s: float
    """How long the machine keeps drawing after the drum stopped (electronics, anti-wrinkle)."""


@dataclass
class CycleScore:
    missed: bool = False
    false_finished: int = 0
    delay: float | None = None
    start_delay: float | None = None


@dataclass
class ProgramResult:
    kind: str
    program: str
    cycles: int = 0
    missed: int = 0
    false_finished: int = 0
    false_starts: int = 0
    delays: list[float] = field(default_factory=list)
    start_delays: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.program}"

    def add(self, score: CycleScore) -> None:
        self.cycles += 1
        self.missed += score.missed
        self.false_finished += score.false_finished
        if score.delay is not None:
            self.delays.append(score.delay)
        if score.start_delay is not None:
            self.start_delays.append(score.start_delay)

    def merge(self, other: ProgramResult) -> None:
        self.cycles += other.cycles
        self.missed += other.missed
        self.false_finished += other.false_finished
        self.false_starts += other.false_starts
        self.delays += other.delays
        self.start_delays += other.start_delays

    def meets(self, median_goal: float) -> bool:
        none_wrong = self.missed == 0 and self.false_finished == 0 and self.false_starts == 0
        fast = not self.delays or statistics.median(self.delays) <= median_goal
        started = not self.start_delays or max(self.start_delays) <= START_GOAL_S
        return none_wrong and fast and started


def run_machine(
    kind: str, program: str, seed: int, cycles: int, period: float
) -> tuple[list[CycleScore], int, list[TrueCycle]]:
    """``cycles`` runs of ``program`` on the machine of ``seed`` through one detector (it learns).

    Returns each cycle's score, the false starts of the whole run and the true cycles.
    """
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
        tail = cycle.timeline.anti_wrinkle_s + sum(p.duration for p in getattr(cycle.timeline, "tail", ()))
        truth.append(TrueCycle(start + cycle.timeline.delay, cycle.ends, tail))
        door_at = cycle.ends + tail + LATE_STUDENT_S
        t = _feed(machine, detector, events, t, door_at, period)
        machine.open_door(door_at)
        events += detector.on_door(door_at, Door.OPEN)
        t = _feed(machine, detector, events, t, door_at + 120, period)
        machine.close_door(t)
        events += detector.on_door(t, Door.CLOSED)
    scores, false_starts = score(truth, events)
    return scores, false_starts, truth


SAMPLES: list[float] = [0.0, 0.0]
"""Readings fed to detectors, and the seconds spent in ``on_current`` (the detector's cost)."""


def _feed(
    machine: object, detector: CycleDetector, events: list[Transition], t: float, until: float, period: float
) -> float:
    current = machine.current  # type: ignore[attr-defined]
    spent = 0.0
    count = 0
    while t < until:
        amps = current(t)
        began = time.perf_counter()
        events += detector.on_current(t, amps)
        spent += time.perf_counter() - began
        count += 1
        t += period
    SAMPLES[0] += count
    SAMPLES[1] += spent
    return t


def score(truth: list[TrueCycle], events: list[Transition]) -> tuple[list[CycleScore], int]:
    """Each true cycle's score, and the starts that match no true cycle."""
    starts = [e.at for e in events if e.type in (E.CYCLE_STARTED, E.CYCLE_CONTINUED)]
    finishes = [e for e in events if e.type is E.CYCLE_FINISHED]
    matched_starts: set[float] = set()
    scores: list[CycleScore] = []
    for cycle in truth:
        result = CycleScore()
        inside = [s for s in starts if cycle.drum_start <= s <= cycle.end]
        result.false_finished = sum(1 for f in finishes if cycle.drum_start <= f.at < cycle.end)
        after = [f for f in finishes if f.at >= cycle.end]
        if not inside or not after:
            result.missed = True
        else:
            matched_starts.add(inside[0])
            result.start_delay = inside[0] - cycle.drum_start
            if after[0].reason is None:  # ended by the current, not by the door
                result.delay = after[0].at - cycle.end
        scores.append(result)
    return scores, sum(1 for s in starts if s not in matched_starts)


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


HEADER = (
    f"{'cycles':>7}{'missed':>8}{'false fin':>11}{'false start':>13}{'delay med':>11}{'worst':>9}{'start worst':>13}"
)


def _row(label: str, row: ProgramResult) -> str:
    med, worst = _fmt(row.delays)
    start = f"{max(row.start_delays):.0f} s" if row.start_delays else "-"
    return (
        f"{label:<20}{row.cycles:>7}{row.missed:>8}{row.false_finished:>11}"
        f"{row.false_starts:>13}{med:>11}{worst:>9}{start:>13}"
    )


def run_scenarios(seeds: int, period: float) -> tuple[int, int]:
    """Print the fault scenarios' table; (detected, runs)."""
    print(f"{'fault scenario':<26}{'expect':<24}{'detected':>10}{'finished':>10}{'after onset med':>17}{'worst':>9}")
    found = runs = 0
    for name, build in SCENARIOS.items():
        fault = FaultResult(name, "")
        for seed in range(seeds):
            scenario = build(seed)
            fault.expect = scenario.expect
            seen, at, finished = run_scenario(scenario, period)
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
    return found, runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=5, help="machines (and noise) per program")
    parser.add_argument("--warmup", type=int, default=3, help="cycles a machine runs before it counts as warm")
    parser.add_argument("--warm", type=int, default=2, help="warm cycles scored per machine")
    parser.add_argument("--period", type=float, default=1.0, help="board sample period, seconds")
    parser.add_argument("--programs", default="", help="comma-separated kind/program to run (default: all)")
    parser.add_argument(
        "--no-end-signature", action="store_true", help="without the washer's final-spin rule (end_min_s = 0)"
    )
    args = parser.parse_args(argv)
    if args.no_end_signature:
        for mkind, t in DEFAULT_THRESHOLDS.items():
            THRESHOLDS[mkind] = t.model_copy(update={"end_min_s": 0.0})
    began = time.perf_counter()
    wanted = {p.strip() for p in args.programs.split(",") if p.strip()}
    print(
        f"detection bench: {args.seeds} seed(s) per program, cold = 1st cycle, warm = cycles "
        f"{args.warmup + 1}-{args.warmup + args.warm}, board period {args.period:g} s, default thresholds "
        f"(edge/thresholds.py){' without the end signature' if args.no_end_signature else ''}"
    )
    print(f"{'program':<20}{HEADER}")
    cold_all, warm_all = ProgramResult("cold", "all"), ProgramResult("warm", "all")
    failing: list[str] = []
    for kind, cls in MACHINE_KINDS.items():
        for program in cls.programs:
            if wanted and f"{kind}/{program}" not in wanted:
                continue
            cold, warm = ProgramResult(kind, program), ProgramResult(kind, program)
            for seed in range(args.seeds):
                scores, false_starts, _ = run_machine(kind, program, seed, args.warmup + args.warm, args.period)
                cold.add(scores[0])
                for one in scores[args.warmup :]:
                    warm.add(one)
                # a false start belongs to whichever phase it fell in; count it against both
                cold.false_starts += false_starts
                warm.false_starts += false_starts
            cold_all.merge(cold)
            warm_all.merge(warm)
            print(_row(f"{cold.name} cold", cold))
            print(_row(f"{warm.name} warm", warm))
            if not cold.meets(COLD_MEDIAN_GOAL_S):
                failing.append(f"{cold.name} cold")
            if not warm.meets(WARM_MEDIAN_GOAL_S):
                failing.append(f"{warm.name} warm")
    found, runs = run_scenarios(args.seeds, args.period)
    for label, total in (("cold", cold_all), ("warm", warm_all)):
        med, worst = _fmt(total.delays)
        start = f"{max(total.start_delays):.0f} s" if total.start_delays else "-"
        print(
            f"summary {label}: {total.cycles} cycles, {total.missed} missed, {total.false_finished} false finished, "
            f"{total.false_starts} false starts; finished delay median {med}, worst {worst}; start delay worst {start}"
        )
    if SAMPLES[0]:
        print(
            f"detector cost: {int(SAMPLES[0]):,} readings in {SAMPLES[1]:.1f} s, "
            f"{1e6 * SAMPLES[1] / SAMPLES[0]:.1f} us per reading (one machine at 1 Hz: "
            f"{100 * SAMPLES[1] / SAMPLES[0]:.4f} % of a core)"
        )
    print(
        f"summary: fault scenarios {found}/{runs} detected; goals (per program: none missed or false, "
        f"median <= {COLD_MEDIAN_GOAL_S:.0f} s cold and <= {WARM_MEDIAN_GOAL_S:.0f} s warm, start <= "
        f"{START_GOAL_S:.0f} s) {'met' if not failing else 'NOT met: ' + ', '.join(failing)} "
        f"[{time.perf_counter() - began:.1f} s]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
