"""Washer and dryer current models: the shapes a cycle detector must cope with."""

from __future__ import annotations

import itertools

import pytest

from firmware_sim.errors import UnknownProgramError
from firmware_sim.machines import Dryer, SimMachine, Washer, make_machine

T0 = 1_767_225_600.0
STANDBY_READING = 0.15
"""A clamp reading at standby stays below this: standby <= 0.05 A, offset <= 0.02 A, clamp noise sd <= 0.02 A."""


def trace(machine: SimMachine, start: float, end: float, step: float = 1.0) -> list[float]:
    n = int((end - start) / step)
    return [machine.current(start + i * step) for i in range(n)]


def longest_run(values: list[float], predicate: object) -> int:
    best = run = 0
    for v in values:
        run = run + 1 if predicate(v) else 0  # type: ignore[operator]
        best = max(best, run)
    return best


def started(cls: type[SimMachine], program: str = "normal", extra: int = 0, seed: int = 0) -> SimMachine:
    machine = cls(f"{cls.kind}-1", seed=seed)
    assert machine.start(program, T0, extra)
    return machine


def test_washer_normal_program_looks_like_a_real_one() -> None:
    washer = started(Washer)
    end = washer.cycle_end
    assert end is not None and 42 * 60 <= end - T0 <= 50 * 60
    amps = trace(washer, T0, end)
    heater_seconds = sum(a > 9.0 for a in amps)
    assert 4 * 60 <= heater_seconds <= 12 * 60, "two heater bursts of a few minutes"
    assert max(amps) < 15.0
    # A soak of >= 2 min mid-cycle with the current at standby level.
    soak = longest_run(amps[300:-300], lambda a: a < 0.1)
    assert soak >= 120
    spin = washer.cycle.timeline.windows("spin")[-1] if washer.cycle else (0.0, 0.0)
    assert 2.0 <= max(amps[int(spin[0]) : int(spin[1])]) <= 4.5, "final spin peaks at 2-4 A"
    # Most of the cycle is far below the heater: the "40-100 W stretches".
    assert sum(0.1 < a < 2.0 for a in amps) > len(amps) / 2
    after = trace(washer, end + 1, end + 600)
    assert washer.state(end + 1) == "finished"
    assert max(after) < 0.1, "back at standby after the end"


@pytest.mark.parametrize(
    ("program", "minutes", "heats"),
    [("normal", (42, 50), True), ("quick", (18, 25), False), ("heavy", (65, 80), True)],
)
def test_washer_programs(program: str, minutes: tuple[int, int], heats: bool) -> None:
    washer = started(Washer, program)
    end = washer.cycle_end
    assert end is not None
    assert minutes[0] * 60 <= end - T0 <= minutes[1] * 60
    assert (max(trace(washer, T0, end)) > 9.0) is heats


def test_heavy_program_soaks_a_quarter_of_an_hour() -> None:
    washer = started(Washer, "heavy")
    assert washer.cycle_end is not None
    assert longest_run(trace(washer, T0, washer.cycle_end), lambda a: a < 0.1) >= 15 * 60


@pytest.mark.parametrize(
    ("program", "extra", "low", "high"), [("normal", 0, 12, 20), ("low", 15, 9, 13), ("high", 30, 16, 22)]
)
def test_dryer_draws_heat_then_cools_down(program: str, extra: int, low: float, high: float) -> None:
    dryer = started(Dryer, program, extra)
    end = dryer.cycle_end
    assert end is not None and end - T0 == pytest.approx((45 + extra) * 60)
    amps = trace(dryer, T0, end)
    hot = [a for a in amps if a > 8.0]
    assert len(hot) > 0.7 * len(amps), "heating most of the cycle"
    assert low <= sorted(hot)[len(hot) // 2] <= high
    dips = longest_run(amps[: -6 * 60], lambda a: a < 2.0)
    assert 60 <= dips <= 130, "thermostat dips to motor only for 1-2 min"
    cooldown = amps[-290:]
    assert all(0.5 < a < 1.3 for a in cooldown), "cool-down tumble at the end"


def test_dryer_anti_wrinkle_pulses_until_the_door_opens() -> None:
    dryer = started(Dryer)
    end = dryer.cycle_end
    assert end is not None
    after = trace(dryer, end + 1, end + 40 * 60)
    assert dryer.state(end + 1) == "finished"
    pulses = sum(1 for prev, cur in itertools.pairwise(after) if prev < 0.4 <= cur)
    assert 3 <= pulses <= 12, "20-60 s tumbles 130-660 s apart for 30 min"
    assert dryer.cycle is not None and pulses == len(dryer.cycle.pulses)
    assert max(after) < 1.75 * 1.1 * 1.08 + STANDBY_READING, "150-400 W tumbles"
    assert max(after[31 * 60 :]) < STANDBY_READING, "nothing after 30 min"
    first_pulse = next(i for i, a in enumerate(after) if a > 0.4)
    assert dryer.open_door(end + first_pulse - 30)
    assert max(trace(dryer, end + first_pulse - 29, end + 40 * 60)) < STANDBY_READING
    assert dryer.state(end + 3600) == "idle"
    whats = [g.what for g in dryer.log.entries()]
    assert whats == ["cycle_started", "cycle_finished", "door_opened"]


@pytest.mark.parametrize("cls", [Washer, Dryer])
def test_nothing_starts_with_the_door_open(cls: type[SimMachine]) -> None:
    machine = cls("m", seed=1)
    assert machine.open_door(T0)
    assert not machine.start("normal", T0 + 1)
    assert machine.state(T0 + 2) == "idle"
    assert machine.close_door(T0 + 3)
    assert machine.start("normal", T0 + 4)
    assert not machine.start("normal", T0 + 5), "already running"


def test_a_running_washer_door_is_locked() -> None:
    washer = started(Washer)
    assert not washer.open_door(T0 + 600)
    assert washer.running(T0 + 601)
    end = washer.cycle_end
    assert end is not None
    assert washer.open_door(end + 60)
    assert [(g.what, g.ts) for g in washer.log.entries()] == [
        ("cycle_started", T0),
        ("cycle_finished", end),
        ("door_opened", end + 60),
    ]


def test_opening_a_running_dryer_interrupts_it() -> None:
    dryer = started(Dryer)
    assert dryer.current(T0 + 60) > 8.0
    assert dryer.open_door(T0 + 600)
    assert dryer.state(T0 + 601) == "idle"
    assert dryer.current(T0 + 602) < 0.1
    entries = dryer.log.entries()
    assert [(g.what, g.ts - T0) for g in entries] == [
        ("cycle_started", 0.0),
        ("door_opened", 600.0),
        ("cycle_interrupted", 600.0),
    ]


def test_cycle_finished_is_logged_at_the_true_end_time() -> None:
    washer = started(Washer, "quick")
    end = washer.cycle_end
    assert end is not None
    washer.current(end + 1234.0)  # noticed late
    finished = [g for g in washer.log.entries() if g.what == "cycle_finished"]
    assert [g.ts for g in finished] == [end]
    assert finished[0].detail == "quick"


def test_each_machine_is_a_little_different() -> None:
    traits = {make_machine("washer", "washer-1", seed=s).traits for s in range(5)}
    assert len(traits) == 5
    assert make_machine("washer", "washer-1", seed=3).traits == make_machine("washer", "washer-1", seed=3).traits
    assert make_machine("washer", "washer-1").traits != make_machine("washer", "washer-2").traits
    for t in traits:
        assert 0.9 <= t.scale <= 1.1 and 0.0 <= t.offset <= 0.02 and 0.0 <= t.standby <= 0.05
        assert 0.01 <= t.noise <= 0.02 and 0.01 <= t.clamp_noise <= 0.02


def test_standby_current_is_noisy_but_low_and_repeatable() -> None:
    washer = Washer("washer-1", seed=2)
    amps = trace(washer, T0, T0 + 600)
    assert all(0.0 <= a < 0.1 for a in amps)
    assert len({round(a, 3) for a in amps}) > 10, "noise, not a flat line"
    assert amps == trace(washer, T0, T0 + 600), "a pure function of time"


def test_unknown_program_is_refused_with_the_choices() -> None:
    with pytest.raises(UnknownProgramError, match="quick"):
        Washer("w").start("turbo", T0)
    with pytest.raises(ValueError, match="extra_minutes"):
        Dryer("d").start("normal", T0, extra_minutes=-5)
