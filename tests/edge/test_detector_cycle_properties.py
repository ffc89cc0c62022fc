"""Properties of the detector on generated cycles, for any shape hypothesis can think of.

A generated cycle: standby, then a first stretch of sustained draw (the fill, or the
dryer's heat), then any number of active stretches separated by quiet pauses shorter
than the pause limit (``off_dwell_s``; soaks before ``min_cycle_s`` get longer anyway),
then a last stretch that may or may not be an end stretch (a final spin, a cool-down
tumble), then standby for good — with, for dryers, anti-wrinkle pulses for up to an hour
(the first once the pause is confirmed: real dryers wait 3-5 minutes; one that came
sooner would count as activity and restart the off count, delaying "finished").

Active stretches are steady or tumble in a rhythm (short rests at controller level).
Noise is within the documented margin: every reading is its level times 1 ± 5 %, and
the levels keep clear of the thresholds by that margin (active ≥ on_amps / 0.95, quiet
standby ≤ 0.05 A plus 0.02 A of clamp offset).

Properties: exactly one start and one finish; the start comes ``start_dwell_s`` after
the first draw; "finished" never comes before the drum truly stopped, and comes within
``end_dwell_s`` (after an end stretch) or the off dwell (otherwise) of it; anti-wrinkle
pulses never start a second cycle.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.detector import CycleDetector, Transition
from edge.thresholds import DEFAULT_THRESHOLDS, Thresholds
from kywash.contract import EventType, MachineKind

E = EventType
PERIOD = 1.0
TAIL_PERIOD = 5.0
"""Readings after the last pulse come this far apart (a shorter test; the detector does not mind)."""
NOISE = 0.05
WASHER, DRYER = MachineKind.WASHER, MachineKind.DRYER


@dataclass(frozen=True)
class Stretch:
    seconds: float
    level: float
    """Amps while drawing; 0 = quiet (standby)."""
    rhythm: tuple[float, float] | None = None
    """(on, rest) seconds of a tumble; None = steady."""


@dataclass(frozen=True)
class Cycle:
    kind: MachineKind
    stretches: tuple[Stretch, ...]
    ends_with_end_stretch: bool
    pulses: tuple[tuple[float, float, float], ...]
    """(offset after the end, seconds, amps) of anti-wrinkle tumbles."""
    seed: int


def mid_levels(kind: MachineKind, t: Thresholds) -> st.SearchStrategy[float]:
    """Levels of mid-cycle activity, outside the end band (a long one could be taken for the end)."""
    low = t.on_amps / (1 - NOISE) + 0.01
    if kind is WASHER:  # tumbling, valve and pump at 0.3-1.4 A, or heating at 9-15 A
        return st.one_of(st.floats(low, t.end_low_amps * (1 - NOISE) - 0.01), st.floats(9.0, 15.0))
    return st.floats(t.end_high_amps / (1 - NOISE) + 0.1, 20.0)  # heating, 4-20 A


@st.composite
def cycles(draw: st.DrawFn, kind: MachineKind) -> Cycle:
    t = DEFAULT_THRESHOLDS[kind]
    # Washers tumble in a rhythm; a dryer's drum turns steadily (its heater never rests a second).
    rhythm = st.one_of(st.none(), st.tuples(st.floats(8, 15), st.floats(2, 6))) if kind is WASHER else st.none()
    active_s = st.floats(max(t.resume_dwell_s, t.start_dwell_s) + 10, 600)
    stretches = [
        Stretch(draw(st.floats(0, 300)), 0.0),
        Stretch(draw(active_s), draw(mid_levels(kind, t))),  # sustained: the start needs it
    ]
    for _ in range(draw(st.integers(0, 6))):
        stretches.append(Stretch(draw(st.floats(PERIOD, t.off_dwell_s - 3 * PERIOD)), 0.0))
        stretches.append(Stretch(draw(active_s), draw(mid_levels(kind, t)), draw(rhythm)))
    end = draw(st.booleans())
    if end:
        level = draw(st.floats(t.end_low_amps / (1 - NOISE) + 0.01, t.end_high_amps / (1 + NOISE) - 0.01))
        stretches.append(Stretch(draw(st.floats(t.end_min_s + 5, 600)), level))
    else:
        stretches.append(Stretch(draw(active_s), draw(mid_levels(kind, t)), draw(rhythm)))
    pulses: list[tuple[float, float, float]] = []
    if kind is DRYER and draw(st.booleans()):
        at = draw(st.floats(t.pause_dwell_s + 5, 300))  # real ones: after 3-5 minutes
        while at < draw(st.floats(0, 3600)):
            pulses.append((at, draw(st.floats(10, 25)), draw(st.floats(0.7, 1.3))))
            at += pulses[-1][1] + draw(st.floats(120, 300))
    return Cycle(kind, tuple(stretches), end, tuple(pulses), draw(st.integers(0, 2**32)))


def samples(cycle: Cycle) -> tuple[list[tuple[float, float]], float, float]:
    """Readings every PERIOD; (readings, time of the first draw, time the drum truly stopped)."""
    rng = random.Random(cycle.seed)
    standby = rng.uniform(0.0, 0.05)
    out: list[tuple[float, float]] = []
    now = 0.0
    first_draw = end = None

    def quiet() -> float:
        return max(0.0, standby * rng.uniform(1 - NOISE, 1 + NOISE) + rng.uniform(0, 0.02))

    for stretch in cycle.stretches:
        until = now + stretch.seconds
        begun = now
        while now < until:
            if stretch.level == 0.0:
                amps = quiet()
            elif stretch.rhythm is not None and (now - begun) % sum(stretch.rhythm) >= stretch.rhythm[0]:
                amps = rng.uniform(0.0, 0.2)  # a tumble's rest: controller only
            else:
                amps = stretch.level * rng.uniform(1 - NOISE, 1 + NOISE)
                first_draw = now if first_draw is None else first_draw
            out.append((now, amps))
            now += PERIOD
        end = now if stretch.level else end
    assert first_draw is not None and end is not None
    # The drum stopped at the first quiet reading after the last draw of the last stretch.
    while out and out[-1][1] < DEFAULT_THRESHOLDS[cycle.kind].off_amps:
        end = out.pop()[0]
    out.append((end, quiet()))
    now = end + PERIOD
    for offset, seconds, amps in cycle.pulses:
        while now < end + offset:
            out.append((now, quiet()))
            now += PERIOD
        while now < end + offset + seconds:
            out.append((now, amps * rng.uniform(1 - NOISE, 1 + NOISE)))
            now += PERIOD
    while now < end + 3600 + 2 * DEFAULT_THRESHOLDS[cycle.kind].soak_dwell_s:
        out.append((now, quiet()))
        now += TAIL_PERIOD
    return out, first_draw, end


def run(cycle: Cycle) -> tuple[list[Transition], float, float]:
    readings, first_draw, end = samples(cycle)
    detector = CycleDetector(cycle.kind, DEFAULT_THRESHOLDS[cycle.kind], now=0.0)
    events = [e for t, amps in readings for e in detector.on_current(t, amps)]
    return events, first_draw, end


def check(cycle: Cycle) -> None:
    t = DEFAULT_THRESHOLDS[cycle.kind]
    events, first_draw, end = run(cycle)
    starts = [e for e in events if e.type is E.CYCLE_STARTED]
    finishes = [e for e in events if e.type is E.CYCLE_FINISHED]
    assert len(starts) == 1, [(e.at, e.type.value) for e in events]
    assert len(finishes) == 1, [(e.at, e.type.value) for e in events]
    assert first_draw + t.start_dwell_s <= starts[0].at <= first_draw + t.start_dwell_s + PERIOD
    finished = finishes[0].at
    assert finished >= end, f"finished at {finished} before the drum stopped at {end}"
    limit = t.end_dwell_s if cycle.ends_with_end_stretch else max(t.off_dwell_s, t.soak_dwell_s)
    deadline = end + limit
    for offset, seconds, _ in cycle.pulses:  # the drum turning in a pulse holds the call back
        if end + offset <= deadline < end + offset + seconds + PERIOD:
            deadline = end + offset + seconds + PERIOD
    assert finished <= deadline + TAIL_PERIOD
    assert not [e for e in events if e.type is E.FAULT_DETECTED]


@settings(max_examples=50, deadline=None)
@given(cycles(WASHER))
def test_generated_washer_cycles_start_and_finish_once(cycle: Cycle) -> None:
    check(cycle)


@settings(max_examples=50, deadline=None)
@given(cycles(DRYER))
def test_generated_dryer_cycles_start_and_finish_once_whatever_the_pulses(cycle: Cycle) -> None:
    check(cycle)
