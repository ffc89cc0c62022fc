"""The simulator's program library (delayed start, sensor-dry) and its fault scenarios."""

from __future__ import annotations

import itertools

import pytest

from firmware_sim.machines import Dryer, SimMachine, Washer
from firmware_sim.programs import DRYER_PROGRAMS, WASHER_PROGRAMS
from firmware_sim.scenarios import SCENARIOS, T0, StuckWasher

ALL = [("washer", p) for p in WASHER_PROGRAMS] + [("dryer", p) for p in DRYER_PROGRAMS]
STANDBY_READING = 0.15
"""A clamp reading at standby stays below this: standby <= 0.05 A, offset <= 0.02 A, clamp noise sd <= 0.02 A."""


def trace(machine: SimMachine, start: float, end: float, step: float = 1.0) -> list[float]:
    return [machine.current(start + i * step) for i in range(int((end - start) / step))]


def runs(values: list[float], predicate: object) -> list[int]:
    """Lengths of every run of consecutive values for which ``predicate`` holds."""
    return [len(list(g)) for ok, g in itertools.groupby(values, key=predicate) if ok]  # type: ignore[call-overload]


def test_the_library_holds_every_program_of_the_issue() -> None:
    assert {"normal", "quick", "heavy", "delayed"} <= set(WASHER_PROGRAMS)
    assert {"normal", "high", "low", "sensor"} <= set(DRYER_PROGRAMS)


@pytest.mark.parametrize("seed", range(4))
def test_delayed_start_waits_at_standby_with_the_door_locked(seed: int) -> None:
    washer = Washer("washer-1", seed=seed)
    assert washer.start("delayed", T0)
    assert washer.cycle is not None
    delay = washer.cycle.timeline.delay
    assert 30 * 60 <= delay <= 120 * 60
    assert max(trace(washer, T0, T0 + delay - 1)) < STANDBY_READING, "nothing but standby during the delay"
    assert {washer.nominal(T0 + i) for i in range(int(delay))} == {washer.traits.standby}
    assert not washer.open_door(T0 + delay / 2), "the door locks when start is pressed"
    amps = trace(washer, T0 + delay, washer.cycle.ends)
    assert max(amps) > 9.0, "then a normal (heated) wash"
    assert 42 * 60 <= washer.cycle.ends - T0 - delay <= 50 * 60


@pytest.mark.parametrize("seed", range(4))
def test_sensor_dry_rests_cools_down_and_tumbles_for_up_to_an_hour(seed: int) -> None:
    dryer = Dryer("dryer-1", seed=seed)
    assert dryer.start("sensor", T0)
    cycle = dryer.cycle
    assert cycle is not None
    assert cycle.timeline.delay == 0
    assert 40 * 60 <= cycle.ends - T0 <= 90 * 60
    amps = trace(dryer, T0, cycle.ends)
    rests = [n for n in runs(amps, lambda a: a < 0.3) if n >= 30]
    assert 1 <= len(rests) <= 2 and all(55 <= n <= 245 for n in rests), "drum rests of 1-4 min at tens of watts"
    cool = cycle.timeline.windows("cooldown")[0]
    cooldown = amps[int(cool[0]) + 1 : int(cool[1]) - 1]
    assert 290 <= len(cooldown) <= 600 and all(0.5 < a < 1.3 for a in cooldown)
    after = trace(dryer, cycle.ends + 1, cycle.ends + 75 * 60)
    starts = [i for i, (prev, cur) in enumerate(itertools.pairwise(after)) if prev < 0.4 <= cur]
    # 20-60 s tumbles 130-660 s apart: 5 to 24 of them in the hour, the last one in its final 12 min.
    assert 5 <= len(starts) <= 24 and starts[-1] > 47 * 60, "anti-wrinkle for up to an hour"
    assert len(starts) == len(cycle.pulses)
    assert max(after[61 * 60 :]) < STANDBY_READING
    assert {dryer.nominal(cycle.ends + 61 * 60 + i) for i in range(600)} == {dryer.traits.standby}


def test_timed_dryers_keep_their_half_hour_of_anti_wrinkle() -> None:
    dryer = Dryer("dryer-1", seed=3)
    assert dryer.start("high", T0, 15)
    assert dryer.cycle is not None
    assert dryer.cycle.timeline.anti_wrinkle_s == 30 * 60
    assert dryer.cycle.pulses and dryer.cycle.pulses[-1][0] < 30 * 60


@pytest.mark.parametrize(("kind", "program"), ALL)
def test_every_program_is_deterministic_per_seed(kind: str, program: str) -> None:
    cls = Washer if kind == "washer" else Dryer
    a, b = cls("m", seed=7), cls("m", seed=7)
    assert a.start(program, T0) and b.start(program, T0)
    assert a.cycle is not None and b.cycle is not None
    assert a.cycle.timeline == b.cycle.timeline
    assert trace(a, T0, T0 + 600, 7.0) == trace(b, T0, T0 + 600, 7.0)


def test_stuck_washer_never_ends_and_never_spins() -> None:
    washer = StuckWasher("washer-1", seed=1)
    assert washer.start("stuck", T0)
    amps = trace(washer, T0, T0 + 5 * 3600, 1.0)
    assert washer.state(T0 + 5 * 3600) == "running"
    assert max(runs(amps, lambda a: 1.5 <= a < 6.0), default=0) < 60, "no spin-like stretch"
    assert max(amps) > 9.0


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_describe_their_fault(name: str) -> None:
    scenario = SCENARIOS[name](2)
    assert scenario.name == name
    readings = list(scenario.readings(5.0))
    assert len(readings) == int(scenario.duration_s / 5.0)
    assert T0 <= scenario.onset < T0 + scenario.duration_s
    if name == "sensor_goes_silent":
        assert all(a is None for t, a in readings if t >= scenario.onset)
        assert all(a is not None for t, a in readings if t < scenario.onset)
    else:
        assert all(a is not None for _, a in readings)
    if name == "current_with_door_open":
        assert scenario.door_changes == ((scenario.onset, True),)
        after = [a for t, a in readings if t > scenario.onset + 5]
        assert min(after[:60]) is not None and min(a for a in after[:60] if a is not None) > 0.5
