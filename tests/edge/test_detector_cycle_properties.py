"""Properties of the detector on generated cycles, for any shape hypothesis can think of.

A generated cycle: standby, then a first stretch of sustained draw (the fill, or the
dryer's heat), then any number of active stretches separated by pauses, then the end:
a washer's final spins (in pieces) or none, a dryer's drop to standby or to a low
electronics tail — then standby for good, with, for dryers, anti-wrinkle pulses of
0.65-1.75 A for 20-60 s every 130-660 s for up to an hour.

Pauses are what real machines do mid-cycle: a washer's soak at standby (after a tumble
or heating, never a spin), a dryer's dip above standby (a fan, ~0.1 A). Cold, they are
shorter than the kind's pause limit (``off_dwell_s``); warm, shorter than the machine's
*learned* pause limit (the profile saw longer pauses before), which may be far longer.

Noise as the measured clamps have it: every reading is its level times 1 ± 2 % plus up
to ± 0.02 A, on a standby of 0-0.05 A plus a clamp offset of up to 0.02 A.

Properties: exactly one start and one finish; the start comes ``start_dwell_s`` after
the first draw; "finished" never comes before the drum truly stopped, and comes within
the signature's ``end_dwell_s`` (after final spins then standby, or a dryer's drop to
standby) or the pause limit (otherwise) of it; anti-wrinkle pulses never start a second
cycle nor delay the end beyond the pulse in progress.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edge.detector import SHOW_EVIDENCE_S, CycleDetector, Transition
from edge.learning import CycleFacts, Learned
from edge.thresholds import DEFAULT_THRESHOLDS
from kywash.contract import EventType, MachineKind

E = EventType
PERIOD = 1.0
TAIL_PERIOD = 5.0
"""Readings after the last pulse come this far apart (a shorter test; the detector does not mind)."""
RELATIVE_NOISE = 0.02
ABSOLUTE_NOISE = 0.02
DIP_AMPS = 0.1
"""A dryer's mid-cycle dip, and its electronics tail after the drum stopped (above standby)."""
WASHER, DRYER = MachineKind.WASHER, MachineKind.DRYER
SAFETY_S = 30.0
"""Pauses keep this far below the limit they must stay under."""


@dataclass(frozen=True)
class Stretch:
    seconds: float
    level: float
    """Amps while drawing; 0 = standby; ``DIP_AMPS`` = a low pause."""
    rhythm: tuple[float, float] | None = None
    """(on, rest) seconds of a tumble; None = steady."""
    pause: bool = False


@dataclass(frozen=True)
class Cycle:
    kind: MachineKind
    idle_s: float
    stretches: tuple[Stretch, ...]
    signature: bool
    """The end shows the kind's signature (washer: final spins then standby; dryer: standby)."""
    pulses: tuple[tuple[float, float, float], ...]
    """(offset after the end, seconds, amps) of anti-wrinkle tumbles."""
    seed: int
    learned: Learned | None = None

    @property
    def pause_limit(self) -> float:
        t = DEFAULT_THRESHOLDS[self.kind]
        return (self.learned or Learned.empty()).pause_limit(t.off_dwell_s)


def mid_levels(kind: MachineKind) -> st.SearchStrategy[float]:
    """Levels of mid-cycle activity, outside the spin band (which is the washer's end signature)."""
    t = DEFAULT_THRESHOLDS[kind]
    if kind is WASHER:  # slow tumbles, valve and pump at 0.2-1.4 A, or heating at 9-15 A
        return st.one_of(st.floats(0.2, t.end_low_amps * 0.8), st.floats(9.0, 15.0))
    return st.floats(0.6, 20.0)  # drum, heat pump or heater


@st.composite
def shapes(draw: st.DrawFn, kind: MachineKind, pause_limit: float) -> tuple[float, list[Stretch], bool]:
    t = DEFAULT_THRESHOLDS[kind]
    rhythm = st.one_of(st.none(), st.tuples(st.floats(8, 15), st.floats(2, 5))) if kind is WASHER else st.none()
    active_s = st.floats(max(t.resume_dwell_s, t.start_dwell_s) + 10, 900)
    pause_level = 0.0 if kind is WASHER else DIP_AMPS  # a washer soaks at standby, a dryer dips above it
    stretches = [Stretch(draw(active_s), draw(mid_levels(kind)))]
    for _ in range(draw(st.integers(0, 5))):
        stretches.append(Stretch(draw(st.floats(PERIOD, pause_limit - SAFETY_S)), pause_level, pause=True))
        stretches.append(Stretch(draw(active_s), draw(mid_levels(kind)), draw(rhythm)))
    ran = sum(s.seconds for s in stretches)
    if ran < t.min_cycle_s:  # real programs run 15 minutes and more; a shorter one ends as a pause would
        stretches.append(Stretch(t.min_cycle_s - ran + 10, draw(mid_levels(kind))))
    signature = draw(st.booleans())
    if kind is WASHER and signature:  # final spins in pieces, with redistribution tumbles between
        for _ in range(draw(st.integers(1, 4))):
            stretches.append(Stretch(draw(st.floats(20, 90)), draw(st.floats(2.0, 4.0))))
            stretches.append(Stretch(draw(st.floats(10, 40)), draw(st.floats(0.5, 1.0))))
        stretches.append(Stretch(draw(st.floats(35, 120)), draw(st.floats(2.0, 4.0))))
    return draw(st.floats(120, 600)), stretches, signature


def pulses(draw: st.DrawFn, kind: MachineKind) -> tuple[tuple[float, float, float], ...]:
    out: list[tuple[float, float, float]] = []
    if kind is DRYER and draw(st.booleans()):
        at, window = draw(st.floats(130, 660)), draw(st.floats(0, 3600))
        while at < window:
            out.append((at, draw(st.floats(20, 60)), draw(st.floats(0.65, 1.75))))
            at += out[-1][1] + draw(st.floats(130, 660))
    return tuple(out)


@st.composite
def cold_cycles(draw: st.DrawFn, kind: MachineKind) -> Cycle:
    t = DEFAULT_THRESHOLDS[kind]
    idle, stretches, signature = draw(shapes(kind, t.off_dwell_s))
    assume(sum(s.seconds for s in stretches) < t.max_cycle_s - 600)
    return Cycle(kind, idle, tuple(stretches), signature, pulses(draw, kind), draw(st.integers(0, 2**32)))


@st.composite
def warm_cycles(draw: st.DrawFn, kind: MachineKind) -> Cycle:
    """A machine that has learned three cycles like this one, with pauses up to ``longest``."""
    t = DEFAULT_THRESHOLDS[kind]
    longest = draw(st.floats(0, 2 * t.off_dwell_s))
    limit = Learned.of_cycles([_facts(3600.0, longest, False)]).pause_limit(t.off_dwell_s)
    idle, stretches, signature = draw(shapes(kind, limit))
    duration = sum(s.seconds for s in stretches)
    starts, at = [], 0.0
    for s in stretches:
        if s.pause:
            starts.append(at)
        at += s.seconds
    # A quiet stretch near the usual end that looks like its usual end is the end: pauses
    # keep to the first 85 % of the cycle, as a machine's own pauses do.
    assume(all(start < 0.85 * duration for start in starts))
    assume(duration < t.max_cycle_s - 600)  # longer is a fault of its own (cycle_too_long)
    low_tail = kind is DRYER and not signature
    learned = Learned.of_cycles(
        [_facts(duration * draw(st.floats(0.95, 1.1)), longest, signature, low_tail) for _ in range(3)], standby=None
    )
    return Cycle(kind, idle, tuple(stretches), signature, pulses(draw, kind), draw(st.integers(0, 2**32)), learned)


def _facts(duration: float, pause: float, signature: bool, low_tail: bool = False) -> CycleFacts:
    return CycleFacts(duration, duration * 2, pause, DIP_AMPS if low_tail else 0.03, low_tail, signature, None, 0.0)


def samples(cycle: Cycle) -> tuple[list[tuple[float, float]], float, float]:
    """Readings every PERIOD; (readings, time of the first draw, time the drum truly stopped)."""
    rng = random.Random(cycle.seed)
    standby = rng.uniform(0.0, 0.05) + rng.uniform(0.0, 0.02)

    def read(level: float) -> float:
        noisy = level * (1 + rng.uniform(-RELATIVE_NOISE, RELATIVE_NOISE))
        return max(0.0, standby + noisy + rng.uniform(-ABSOLUTE_NOISE, ABSOLUTE_NOISE))

    out: list[tuple[float, float]] = []
    now = 0.0
    while now < cycle.idle_s:
        out.append((now, read(0.0)))
        now += PERIOD
    first_draw = now
    for stretch in cycle.stretches:
        until, begun = now + stretch.seconds, now
        while now < until:
            resting = stretch.rhythm is not None and (now - begun) % sum(stretch.rhythm) >= stretch.rhythm[0]
            out.append((now, read(0.08 if resting else stretch.level)))  # a tumble's rest: controller only
            now += PERIOD
    end = now
    tail = DIP_AMPS if cycle.kind is DRYER and not cycle.signature else 0.0
    limit = end + cycle.pause_limit + 1800
    for offset, seconds, amps in cycle.pulses:
        while now < end + offset:
            out.append((now, read(tail if now < limit else 0.0)))
            now += PERIOD
        while now < end + offset + seconds:
            out.append((now, read(amps)))
            now += PERIOD
    while now < end + 2 * cycle.pause_limit + 3600:
        out.append((now, read(tail if now < limit else 0.0)))
        now += TAIL_PERIOD
    return out, first_draw, end


def run(cycle: Cycle) -> tuple[list[Transition], float, float]:
    readings, first_draw, end = samples(cycle)
    detector = CycleDetector(cycle.kind, DEFAULT_THRESHOLDS[cycle.kind], now=0.0, learned=cycle.learned)
    events = [e for t, amps in readings for e in detector.on_current(t, amps)]
    return events, first_draw, end


def check(cycle: Cycle) -> None:
    t = DEFAULT_THRESHOLDS[cycle.kind]
    events, first_draw, end = run(cycle)
    trail = [(e.at, e.type.value) for e in events]
    starts = [e for e in events if e.type in (E.CYCLE_STARTED, E.CYCLE_CONTINUED)]
    finishes = [e for e in events if e.type is E.CYCLE_FINISHED]
    assert len(starts) == 1 and starts[0].type is E.CYCLE_STARTED, trail
    assert len(finishes) == 1, trail
    assert first_draw + t.start_dwell_s <= starts[0].at <= first_draw + t.start_dwell_s + 3 * PERIOD, trail
    finished = finishes[0].at
    assert finished >= end, f"finished at {finished} before the drum stopped at {end}: {trail}"
    limit = t.end_dwell_s + SHOW_EVIDENCE_S if cycle.signature else cycle.pause_limit
    deadline = end + limit
    for offset, seconds, _ in cycle.pulses:  # the drum turning in a pulse holds the call back
        if end + offset <= deadline < end + offset + seconds + 3 * TAIL_PERIOD:
            deadline = end + offset + seconds + 3 * TAIL_PERIOD  # three readings to see it quiet again
    assert finished <= deadline + TAIL_PERIOD, trail
    assert not [e for e in events if e.type is E.FAULT_DETECTED]


@settings(max_examples=40, deadline=None)
@given(cold_cycles(WASHER))
def test_cold_washer_cycles_start_and_finish_once(cycle: Cycle) -> None:
    check(cycle)


@settings(max_examples=40, deadline=None)
@given(cold_cycles(DRYER))
def test_cold_dryer_cycles_start_and_finish_once_whatever_the_pulses(cycle: Cycle) -> None:
    check(cycle)


@settings(max_examples=25, deadline=None)
@given(warm_cycles(WASHER))
def test_warm_washer_pauses_within_the_learned_pause_limit_never_end_the_cycle(cycle: Cycle) -> None:
    check(cycle)


@settings(max_examples=25, deadline=None)
@given(warm_cycles(DRYER))
def test_warm_dryer_pauses_within_the_learned_pause_limit_never_end_the_cycle(cycle: Cycle) -> None:
    check(cycle)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([None, "warm"]))
def test_anti_wrinkle_pulses_alone_never_start_a_cycle(seed: int, warm: str | None) -> None:
    """Idle or finished with the door shut, a dryer's pulses are never a cycle."""
    rng = random.Random(seed)
    learned = Learned.of_cycles([_facts(5400.0, 0.0, True)] * 3) if warm else None
    detector = CycleDetector(DRYER, DEFAULT_THRESHOLDS[DRYER], now=0.0, learned=learned)
    now, events = 0.0, []
    while now < 3600:
        quiet_until = now + rng.uniform(130, 660)
        while now < quiet_until:
            events += detector.on_current(now, rng.uniform(0.0, 0.07))
            now += PERIOD
        pulse_until, amps = now + rng.uniform(20, 60), rng.uniform(0.65, 1.75)
        while now < pulse_until:
            events += detector.on_current(now, amps * (1 + rng.uniform(-0.02, 0.02)))
            now += PERIOD
    assert not [e for e in events if e.type in (E.CYCLE_STARTED, E.CYCLE_CONTINUED)]
