"""The programs written from measured machines: intensive and eco washes, heat-pump and
electronics-on dryers, anti-wrinkle pulses, and the noise of a machine's clamp.

Shapes are checked on the program's nominal draw sampled at 1 Hz (what the measurements
were), machine behaviour (tail after the end, pulses, noise) on simulated machines.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections.abc import Callable, Mapping
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_sim.machines import Dryer, SimMachine, Washer
from firmware_sim.programs import (
    ANTI_WRINKLE_WINDOW_S,
    DRYER_PROGRAMS,
    SENSOR_ANTI_WRINKLE_WINDOW_S,
    WASHER_PROGRAMS,
    Phase,
    ProgramBuilder,
    Timeline,
    anti_wrinkle_pulses,
)
from firmware_sim.scenarios import T0

H = 3600.0
SEEDS = range(20)


def load(timeline: Timeline, t: float) -> float:
    found = timeline.at(t)
    return found[0].amps(found[1]) if found else 0.0


def tail_load(timeline: Timeline, since_end: float) -> float:
    found = timeline.after(since_end)
    return found[0].amps(found[1]) if found else 0.0


def samples(timeline: Timeline) -> list[float]:
    """The nominal load once a second from the start to the end."""
    return [load(timeline, float(t)) for t in range(math.ceil(timeline.duration))]


def runs(values: list[float], predicate: Callable[[float], bool]) -> list[tuple[int, int]]:
    """(first index, length) of every run of consecutive values for which ``predicate`` holds."""
    found: list[tuple[int, int]] = []
    i = 0
    for ok, group in itertools.groupby(values, key=predicate):
        n = len(list(group))
        if ok:
            found.append((i, n))
        i += n
    return found


def build(programs: Mapping[str, ProgramBuilder], name: str, seed: int, extra: int = 0) -> Timeline:
    return programs[name](random.Random(seed), extra)


@pytest.mark.parametrize("seed", SEEDS)
def test_intensive_heats_soaks_two_hours_in_and_ends_with_short_spins(seed: int) -> None:
    timeline = build(WASHER_PROGRAMS, "intensive", seed)
    amps = samples(timeline)
    assert 3 * H <= timeline.duration <= 3.5 * H
    assert timeline.delay == 0
    assert statistics.fmean(amps[: 25 * 60]) >= 12.0
    assert all(13.0 <= a <= 15.0 for a in amps[: 25 * 60]), "heater + tumbling"
    soaks = [r for r in runs(amps, lambda a: a == 0.0) if r[1] >= 60]
    assert len(soaks) == 1, "one soak at standby level"
    soak, soak_s = soaks[0]
    assert 14 * 60 <= soak_s <= 17 * 60
    assert 1.5 * H <= soak <= 2.5 * H
    assert max(amps[soak - 600 : soak]) <= 1.0, "after the long ~0.4 A stretch, not after a spin"
    assert sum(0.3 <= a <= 0.5 for a in amps) > 0.55 * len(amps), "hours at ~0.4 A"
    dips = [r for r in runs(amps, lambda a: 0.1 <= a < 0.3) if r[1] >= 60]
    assert len(dips) == 1 and 3 * 60 <= dips[0][1] <= 4 * 60 and dips[0][0] > soak + soak_s
    spins = [r for r in runs(amps, lambda a: a > 2.0) if r[0] > soak]
    assert 3 <= len(spins) <= 5
    assert any(n < 60 for _, n in spins), "some spins shorter than a minute"
    assert all(max(amps[s : s + n]) <= 4.0 for s, n in spins)
    for (s1, n1), (s2, _) in itertools.pairwise(spins):
        between = amps[s1 + n1 : s2]
        assert 19 <= len(between) <= 61 and all(0.5 <= a <= 1.0 for a in between), "redistribution tumbles"
    assert spins[-1][0] + spins[-1][1] == len(amps), "the last spin is the end"
    assert timeline.tail == () and load(timeline, timeline.duration) == 0.0, "then standby"


@pytest.mark.parametrize("seed", SEEDS)
def test_eco_idles_low_between_spikes_and_heater_bursts_and_ends_with_a_spin(seed: int) -> None:
    timeline = build(WASHER_PROGRAMS, "eco", seed)
    amps = samples(timeline)
    assert 2 * H <= timeline.duration <= 3 * H
    assert timeline.delay == 0 and amps[0] >= 0.1, "drawing from the first second"
    assert max((n for _, n in runs(amps, lambda a: a < 0.10)), default=0) <= 30, "never quiet for long"
    assert sum(0.19 <= a <= 0.30 for a in amps) > 0.75 * len(amps), "long stretches at 45-70 W"
    high = runs(amps, lambda a: a > 8.0)
    spikes = [s for s, n in high if n == 1]
    heats = [(s, n) for s, n in high if n > 1]
    assert all(8.4 <= amps[s] <= 9.0 for s in spikes), "~2 kW"
    assert 2 <= len(heats) <= 4
    assert all(60 <= n <= 182 and 9.0 <= statistics.median(amps[s : s + n]) <= 10.0 for s, n in heats)
    assert len(spikes) > 60
    for a, b in itertools.pairwise(spikes):
        if not any(a < s < b for s, _ in heats):
            assert 20 <= b - a <= 90, "a spike every 20-90 s"
    spin = runs(amps, lambda a: 2.0 <= a <= 4.0)[-1]
    assert spin[0] + spin[1] == len(amps) and 4 * 60 <= spin[1] <= 8 * 60, "final spin of 4-8 min"
    rinses = timeline.windows("rinse")
    assert len(rinses) == 1 and rinses[0][1] < spin[0]
    assert timeline.tail == () and load(timeline, timeline.duration) == 0.0, "then standby"


@pytest.mark.parametrize("extra", [0, 45])
@pytest.mark.parametrize("seed", SEEDS)
def test_heatpump_runs_at_3_5_amps_idles_at_24_watts_and_stops_dead(seed: int, extra: int) -> None:
    timeline = build(DRYER_PROGRAMS, "heatpump", seed, extra)
    amps = samples(timeline)
    total = timeline.duration
    assert 3 * H + extra * 60 <= total <= 5 * H + extra * 60
    assert 3.3 <= statistics.median(amps) <= 3.7
    lows = [r for r in runs(amps, lambda a: 0.08 <= a <= 0.15) if r[1] >= 60]
    assert len(lows) == 1
    low, low_s = lows[0]
    assert 11 * 60 <= low_s <= 13 * 60
    assert 0.5 * total <= low and low + low_s <= 0.7 * total, "at about 60 % of the cycle"
    below = next(s for s, n in runs(amps, lambda a: a < 3.0) if s <= low < s + n)
    decay = amps[below:low]
    assert 2 * 60 <= len(decay) <= 4 * 60 and 1.8 <= decay[0] <= 2.2, "decays over 2-4 min from ~2 A"
    assert all(a >= b for a, b in itertools.pairwise(decay))
    assert max(amps[low + low_s : low + low_s + 150]) >= 3.3, "climbs back"
    assert min(amps[-15 * 60 :]) >= 3.0 and 3.5 <= amps[-1] <= 3.7, "no cool-down: ~3.6 A to the end"
    assert timeline.tail == () and load(timeline, total) == 0.0
    assert timeline.anti_wrinkle_s == SENSOR_ANTI_WRINKLE_WINDOW_S


@pytest.mark.parametrize("seed", range(4))
def test_heatpump_dryer_drops_straight_to_standby(seed: int) -> None:
    dryer = Dryer("dryer-1", seed=seed)
    assert dryer.start("heatpump", T0)
    end = dryer.cycle_end
    assert end is not None
    scale, standby = dryer.traits.scale, dryer.traits.standby
    assert all(dryer.nominal(end - 60 + i) >= standby + scale * 3.0 for i in range(60))
    assert {dryer.nominal(end + i) for i in range(120)} == {standby}, "the first pulse comes 130 s on at the soonest"


@pytest.mark.parametrize("extra", [0, 30])
@pytest.mark.parametrize("seed", SEEDS)
def test_electronics_dryer_ends_when_the_drum_stops_and_draws_after(seed: int, extra: int) -> None:
    timeline = build(DRYER_PROGRAMS, "electronics", seed, extra)
    amps = samples(timeline)
    assert 60 * 60 + extra * 60 <= timeline.duration <= 122 * 60 + extra * 60
    last = runs(amps, lambda a: 1.2 <= a <= 1.4)[-1]
    assert last[0] + last[1] == len(amps) and 50 <= last[1] <= 70, "~1 min at ~1.3 A, then the drum stops"
    assert 3.3 <= statistics.median(amps[: last[0]]) <= 3.7
    after = [tail_load(timeline, float(t)) for t in range(45 * 60)]
    on = runs(after, lambda a: 0.11 <= a <= 0.13)
    assert len(on) == 1 and on[0][0] == 0 and 26 * 60 <= on[0][1] <= 32 * 60, "electronics on after the end"
    assert set(after[on[0][1] :]) == {0.0}, "then standby"
    assert on[0][1] == math.ceil(timeline.tail_duration)
    assert timeline.anti_wrinkle_s == SENSOR_ANTI_WRINKLE_WINDOW_S


@pytest.mark.parametrize("seed", range(4))
def test_electronics_dryer_logs_its_end_at_the_drum_stop_and_draws_until_the_door_opens(seed: int) -> None:
    dryer = Dryer("dryer-1", seed=seed)
    assert dryer.start("electronics", T0)
    cycle = dryer.cycle
    assert cycle is not None
    end, tail = cycle.ends, cycle.timeline.tail_duration
    assert end == T0 + cycle.timeline.duration
    scale, standby = dryer.traits.scale, dryer.traits.standby

    def in_pulse(since_end: float) -> bool:
        return any(p.offset <= since_end < p.offset + p.length for p in cycle.pulses)

    quiet = [dryer.nominal(end + t) for t in range(int(tail)) if not in_pulse(t)]
    assert all(standby + scale * 0.11 <= a <= standby + scale * 0.13 for a in quiet)
    later = [dryer.nominal(end + t) for t in range(math.ceil(tail), 70 * 60) if not in_pulse(t)]
    assert set(later) == {standby}
    assert [(g.what, g.ts) for g in dryer.log.entries()] == [("cycle_started", T0), ("cycle_finished", end)]
    assert dryer.open_door(end + 300)
    assert {dryer.nominal(end + 301 + t) for t in range(600)} == {standby}, "the door cuts the tail"


def _tailed(rng: random.Random, extra_minutes: int = 0) -> Timeline:
    return Timeline("tailed", (Phase("wash", 600.0, base=1.0),), tail=(Phase("electronics", 300.0, base=0.12),))


class TailedWasher(Washer):
    programs: ClassVar[Mapping[str, ProgramBuilder]] = {"tailed": _tailed}


def test_a_washer_plays_its_tail_after_the_end_too() -> None:
    washer = TailedWasher("washer-1", seed=3)
    assert washer.start("tailed", T0)
    scale, standby = washer.traits.scale, washer.traits.standby
    assert washer.cycle_end == T0 + 600
    assert washer.state(T0 + 601) == "finished"
    assert all(washer.nominal(T0 + 600 + t) == pytest.approx(standby + scale * 0.12) for t in range(300))
    assert {washer.nominal(T0 + 900 + t) for t in range(300)} == {standby}
    assert washer.open_door(T0 + 700)
    assert washer.nominal(T0 + 701) == standby


@given(seed=st.integers(0, 2**32 - 1), window=st.sampled_from([ANTI_WRINKLE_WINDOW_S, SENSOR_ANTI_WRINKLE_WINDOW_S]))
def test_anti_wrinkle_pulses_are_short_tumbles_of_150_to_400_watts(seed: int, window: float) -> None:
    pulses = anti_wrinkle_pulses(random.Random(seed), window)
    assert pulses and 130 <= pulses[0].offset <= 660
    assert all(20 <= p.length <= 60 and 0.65 <= p.amps <= 1.75 and p.offset < window for p in pulses)
    assert all(130 <= b.offset - (a.offset + a.length) <= 660 for a, b in itertools.pairwise(pulses))
    assert pulses[-1].offset + pulses[-1].length + 660 >= window, "for the whole window"


@pytest.mark.parametrize(
    ("program", "window"),
    [("normal", 30), ("high", 30), ("low", 30), ("sensor", 60), ("heatpump", 60), ("electronics", 60)],
)
@pytest.mark.parametrize("seed", range(5))
def test_each_dryer_pulses_for_its_window_at_each_pulses_own_draw(program: str, window: int, seed: int) -> None:
    dryer = Dryer("dryer-1", seed=seed)
    assert dryer.start(program, T0)
    cycle = dryer.cycle
    assert cycle is not None
    assert cycle.timeline.anti_wrinkle_s == window * 60
    assert cycle.pulses and cycle.pulses[-1].offset < window * 60
    assert len({p.amps for p in cycle.pulses}) == len(cycle.pulses), "drawn per pulse"
    scale, standby = dryer.traits.scale, dryer.traits.standby
    for pulse in cycle.pulses:
        mid = cycle.ends + pulse.offset + pulse.length / 2
        assert dryer.nominal(mid) == pytest.approx(standby + scale * pulse.amps)


@pytest.mark.parametrize("cls", [Washer, Dryer])
@pytest.mark.parametrize("seed", SEEDS)
def test_clamp_noise_at_standby(cls: type[SimMachine], seed: int) -> None:
    machine = cls(f"{cls.kind}-1", seed=seed)
    amps = [machine.current(T0 + t) for t in range(3600)]
    assert min(amps) >= 0.0
    assert amps == [machine.current(T0 + t) for t in range(3600)], "a pure function of time"
    sd = statistics.pstdev(amps)
    traits = machine.traits
    assert 0.008 <= sd <= 0.03, "~0.02 A of clamp noise (a little less where readings clip at 0)"
    if traits.standby + traits.offset >= 3 * traits.clamp_noise:  # far enough from 0 not to clip
        assert 0.9 * traits.clamp_noise <= sd <= 1.1 * traits.clamp_noise
