"""Washer and dryer programs as timelines of phases, each with the current its parts draw.

Amps here are nominal: a machine adds its own standby, scale, clamp offset and noise
(machines.py). The shapes follow measurements of 230 V appliances sampled at 1 Hz,
because a cycle detector is only as good as the data it was tried on, and the cases that
fool one are the ones real machines produce:

- a washer heats in 2-3 kW bursts (10-15 A) but spends most of a cycle at 40-350 W
  (fill valve, drum tumbling and resting, drain pump), soaks with the drum still at
  standby level, and spins up to 2-4 A; an eco wash idles at 45-70 W for hours with
  one-second 2 kW spikes, so "low" is not "done"; an intensive wash soaks for a quarter
  of an hour two hours in, after a long stretch at 0.4 A rather than after a spin, and
  ends with short spins split by redistribution tumbles;
- a dryer draws 10-22 A (heater + drum), dips to motor only when its thermostat cuts the
  heater, ends with a cool-down tumble, and after the end tumbles briefly every few
  minutes (anti-wrinkle, 150-400 W) until the door opens; a heat-pump dryer draws only
  3.5 A for hours, sinks to 24 W for a quarter of an hour mid-cycle and stops dead with
  no cool-down; some dryers keep their electronics on (~0.12 A) for half an hour after
  the drum stops, which is after the end a student cares about (``Timeline.tail``).

The library: washer ``normal``, ``quick``, ``heavy`` (a quarter-hour pre-soak at standby
level), ``delayed`` (a normal wash after a delay of 30 min to 2 h at standby; the door
is locked from the press of the button), ``intensive`` (3-3.5 h) and ``eco`` (2-3 h);
dryer ``normal``, ``high``, ``low`` (timed: 45 min + extra minutes, anti-wrinkle for
30 min), ``sensor`` (runs until the moisture sensor says dry, with minute-long drum rests
at a few tens of watts mid-cycle, a 5-10 min cool-down tumble and anti-wrinkle for up to
an hour), ``heatpump`` (3-5 h) and ``electronics`` (electronics on after the end). The
multi-hour programs are for benches and tests that ask for them by name: the room's
students (students.py) pick only the short ones.

Each builder takes the random generator of one cycle, so two cycles of the same
program differ a little (fill time, heater time, soak length), as real ones do.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import NamedTuple

VALVE_AMPS = 0.38
"""Fill: inlet valve, controller and display."""
CONTROLLER_AMPS = 0.10
"""Controller awake between tumbles (above standby)."""
PUMP_AMPS = 0.30
WASH_MOTOR_AMPS = 1.0
"""Drum motor while tumbling wet laundry (0.5-1.5 A)."""
WASHER_HEATER_AMPS = 10.8
DRYER_MOTOR_AMPS = 0.85
DRYER_COOLDOWN_S = 300.0
DRYER_BASE_MINUTES = 45
ANTI_WRINKLE_WINDOW_S = 30 * 60.0
SENSOR_ANTI_WRINKLE_WINDOW_S = 60 * 60.0
"""Anti-wrinkle window of the dryers that decide for themselves when they are done."""
HEATPUMP_AMPS = 3.5
"""Heat-pump dryer: compressor + drum, steady for hours."""
ECO_SPIKE_AMPS = 8.7
"""Eco wash: the one-second ~2 kW spikes between its long low stretches."""


@dataclass(frozen=True)
class Phase:
    """One stretch of a program; ``amps(t)`` is its nominal draw ``t`` seconds into it."""

    name: str
    duration: float
    base: float = 0.0
    """Steady load: valve, pump, heater, controller."""
    motor: float = 0.0
    """Drum motor current while it turns."""
    on_s: float = 0.0
    """With ``off_s``: the tumble rhythm (motor on, then resting); 0 = turning steadily."""
    off_s: float = 0.0
    ramp_to: float | None = None
    """Spin: the motor current climbs from ``motor`` to this over the first 60 % (or ``ramp_s``)."""
    ramp_s: float | None = None
    """How long the ramp to ``ramp_to`` takes (None: 60 % of the phase); a ramp may fall too."""

    def amps(self, t: float) -> float:
        motor = self.motor
        if self.ramp_to is not None:
            ramp = self.ramp_s if self.ramp_s is not None else 0.6 * self.duration
            motor += (self.ramp_to - self.motor) * min(1.0, t / max(ramp, 1.0))
        elif self.on_s > 0 and t % (self.on_s + self.off_s) >= self.on_s:
            motor = 0.0
        return self.base + motor


@dataclass(frozen=True)
class Timeline:
    """A program as one concrete run will execute it."""

    program: str
    phases: tuple[Phase, ...]
    _ends: tuple[float, ...] = field(init=False, repr=False, compare=False)
    anti_wrinkle_s: float = 0.0
    """How long after the end the machine keeps tumbling briefly (dryers), 0 = never."""
    tail: tuple[Phase, ...] = ()
    """Load after the end, played from the end on while the door stays closed (alongside any
    anti-wrinkle pulses): the drum has stopped, so it is not part of ``duration``."""
    _tail_ends: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ends", tuple(accumulate(p.duration for p in self.phases)))
        object.__setattr__(self, "_tail_ends", tuple(accumulate(p.duration for p in self.tail)))

    @property
    def duration(self) -> float:
        """Seconds from the start to the drum's stop: the end a student waits for."""
        return self._ends[-1] if self._ends else 0.0

    @property
    def tail_duration(self) -> float:
        """Seconds of ``tail`` load after the end (0 = straight to standby)."""
        return self._tail_ends[-1] if self._tail_ends else 0.0

    def after(self, since_end: float) -> tuple[Phase, float] | None:
        """The tail phase running ``since_end`` seconds after the end and how far into it, or None."""
        if since_end < 0 or since_end >= self.tail_duration:
            return None
        i = bisect.bisect_right(self._tail_ends, since_end)
        start = self._tail_ends[i - 1] if i else 0.0
        return self.tail[i], since_end - start

    def at(self, t: float) -> tuple[Phase, float] | None:
        """The phase running ``t`` seconds after the start and how far into it, or None."""
        if t < 0 or t >= self.duration:
            return None
        i = bisect.bisect_right(self._ends, t)
        start = self._ends[i - 1] if i else 0.0
        return self.phases[i], t - start

    @property
    def delay(self) -> float:
        """Seconds from pressing start to the first draw of a delayed start (0 otherwise)."""
        total = 0.0
        for phase in self.phases:
            if phase.name != "delay":
                break
            total += phase.duration
        return total

    def windows(self, name: str) -> list[tuple[float, float]]:
        """(start, end) offsets of every phase called ``name``: for tests and plots."""
        starts = (0.0, *self._ends[:-1])
        return [(s, e) for s, e, p in zip(starts, self._ends, self.phases, strict=True) if p.name == name]


ProgramBuilder = Callable[[random.Random, int], Timeline]
"""(cycle rng, extra minutes) -> the timeline of one run."""


def _about(rng: random.Random, seconds: float, spread: float = 0.1) -> float:
    return seconds * rng.uniform(1 - spread, 1 + spread)


def _fill(rng: random.Random, seconds: float) -> Phase:
    return Phase("fill", _about(rng, seconds, 0.2), base=VALVE_AMPS)


def _tumble(rng: random.Random, name: str, seconds: float, heater: float = 0.0) -> Phase:
    return Phase(
        name,
        _about(rng, seconds),
        base=CONTROLLER_AMPS + heater,
        motor=WASH_MOTOR_AMPS * rng.uniform(0.8, 1.2),
        on_s=rng.uniform(8.0, 12.0),
        off_s=rng.uniform(3.0, 6.0),
    )


def _heat(rng: random.Random, seconds: float) -> Phase:
    return _tumble(rng, "heat", seconds, heater=WASHER_HEATER_AMPS)


def _soak(seconds: float) -> Phase:
    return Phase("soak", seconds)


def _drain(rng: random.Random, seconds: float) -> Phase:
    return Phase("drain", _about(rng, seconds), base=PUMP_AMPS)


def _spin(rng: random.Random, seconds: float, peak: float) -> Phase:
    return Phase("spin", seconds, base=PUMP_AMPS, motor=0.8, ramp_to=peak * rng.uniform(0.95, 1.05))


def _rinse(rng: random.Random) -> list[Phase]:
    return [_fill(rng, 90), _tumble(rng, "rinse", 240), _drain(rng, 60)]


def washer_normal(rng: random.Random, extra_minutes: int = 0) -> Timeline:
    """~45 min: two heater bursts around a 2-5 min soak, two rinses, a final spin."""
    return Timeline(
        "normal",
        (
            _fill(rng, 120),
            _heat(rng, 240),
            _tumble(rng, "wash", 360),
            _soak(rng.uniform(120, 300)),
            _heat(rng, 150),
            _tumble(rng, "wash", 300),
            _drain(rng, 90),
            _spin(rng, 120, 2.2),
            *_rinse(rng),
            *_rinse(rng),
            _spin(rng, 360, 3.4),
        ),
    )


def washer_delayed(rng: random.Random, extra_minutes: int = 0) -> Timeline:
    """A normal wash after a delay of 30 min to 2 h with nothing but standby drawing."""
    delay = Phase("delay", rng.uniform(30, 120) * 60.0)
    return Timeline("delayed", (delay, *washer_normal(rng).phases))


def washer_quick(rng: random.Random, extra_minutes: int = 0) -> Timeline:
    """~20 min, cold: no heater, one rinse."""
    return Timeline(
        "quick",
        (
            _fill(rng, 90),
            _tumble(rng, "wash", 420),
            _drain(rng, 60),
            _spin(rng, 90, 2.0),
            *_rinse(rng)[:2],
            _drain(rng, 60),
            _spin(rng, 240, 3.0),
        ),
    )


def washer_heavy(rng: random.Random, extra_minutes: int = 0) -> Timeline:
    """~70 min with a 15-min pre-soak at standby level: the case naive detectors call "done"."""
    return Timeline(
        "heavy",
        (
            _fill(rng, 120),
            _tumble(rng, "wash", 240),
            _soak(rng.uniform(900, 1080)),
            _heat(rng, 300),
            _tumble(rng, "wash", 480),
            _soak(rng.uniform(150, 240)),
            _heat(rng, 120),
            _tumble(rng, "wash", 300),
            _drain(rng, 90),
            _spin(rng, 120, 2.4),
            *_rinse(rng),
            *_rinse(rng),
            _spin(rng, 480, 3.5),
        ),
    )


def _low_stretch(rng: random.Random, name: str, seconds: float, low: float, high: float) -> list[Phase]:
    """``seconds`` of steady low draw in 2-8 min pieces, each at its own level in ``low``..``high``."""
    phases: list[Phase] = []
    done = 0.0
    while seconds - done > 1e-9:
        seg = min(rng.uniform(120, 480), seconds - done)
        phases.append(Phase(name, seg, base=rng.uniform(low, high)))
        done += seg
    return phases


def washer_intensive(rng: random.Random, extra_minutes: int = 0) -> Timeline:
    """3-3.5 h: 25 min of heat, then hours at ~0.4 A with a 14-17 min soak at standby two
    hours in and a 3-4 min dip later; ends with 3-5 spins split by redistribution tumbles."""
    total = rng.uniform(3.05, 3.45) * 3600.0
    heat = Phase(
        "heat",
        rng.uniform(25.5, 27.0) * 60.0,
        base=CONTROLLER_AMPS + rng.uniform(12.9, 13.5),
        motor=WASH_MOTOR_AMPS * rng.uniform(0.8, 1.2),
        on_s=rng.uniform(8.0, 12.0),
        off_s=rng.uniform(3.0, 6.0),
    )
    soak_at = rng.uniform(110, 125) * 60.0
    soak = _soak(rng.uniform(14.2, 16.8) * 60.0)
    dip = Phase("dip", rng.uniform(3.1, 3.9) * 60.0, base=rng.uniform(0.12, 0.28))
    spins: list[Phase] = []
    count = rng.randint(3, 5)
    for i in range(count):
        if i:
            redistribute = rng.uniform(20, 60)
            spins.append(Phase("redistribute", redistribute, base=CONTROLLER_AMPS, motor=rng.uniform(0.45, 0.85)))
        if i == count - 1:
            length = rng.uniform(180, 300)
        elif i == 0 or rng.random() < 0.5:
            length = rng.uniform(30, 55)
        else:
            length = rng.uniform(90, 240)
        spins.append(Phase("spin", length, base=PUMP_AMPS, motor=rng.uniform(1.9, 3.5)))
    drain = _drain(rng, 90)
    before = _low_stretch(rng, "tumble", soak_at - heat.duration, 0.3, 0.5)
    rest = total - soak_at - soak.duration - dip.duration - drain.duration - sum(p.duration for p in spins)
    split = rest * rng.uniform(0.3, 0.7)
    return Timeline(
        "intensive",
        (
            heat,
            *before,
            soak,
            *_low_stretch(rng, "tumble", split, 0.3, 0.5),
            dip,
            *_low_stretch(rng, "tumble", rest - split, 0.3, 0.5),
            drain,
            *spins,
        ),
    )


def washer_eco(rng: random.Random, extra_minutes: int = 0) -> Timeline:
    """2-3 h, drawing from the first second: long stretches at 45-70 W broken by one-second
    2 kW spikes every 20-90 s and by 1-3 min heater bursts; a rinse and a 4-8 min spin."""
    total = rng.uniform(2.1, 2.9) * 3600.0
    rinse = [_fill(rng, 90), _tumble(rng, "rinse", 300), _drain(rng, 60)]
    spin = Phase("spin", rng.uniform(4.2, 7.8) * 60.0, base=PUMP_AMPS, motor=1.9, ramp_to=rng.uniform(3.0, 3.5))
    fill = _fill(rng, 120)
    body = total - fill.duration - sum(p.duration for p in rinse) - spin.duration
    count = rng.randint(2, 4)
    bursts = [(0.1 + 0.75 * (i + rng.uniform(0.2, 0.8)) / count) * body for i in range(count)]
    phases: list[Phase] = [fill]
    done = 0.0
    while body - done > 1e-9:
        if bursts and done >= bursts[0]:
            bursts.pop(0)
            burst = min(rng.uniform(60, 180), body - done)
            phases.append(Phase("heat", burst, base=rng.uniform(9.2, 9.8)))
            done += burst
            continue
        seg = min(rng.uniform(19, 89), body - done)
        phases.append(Phase("wash", seg, base=rng.uniform(0.19, 0.30)))
        done += seg
        if body - done >= 1.0:
            phases.append(Phase("spike", 1.0, base=ECO_SPIKE_AMPS * rng.uniform(0.97, 1.03)))
            done += 1.0
    return Timeline("eco", (*phases, *rinse, spin))


def _heatpump_dry(rng: random.Random, seconds: float) -> list[Phase]:
    """Compressor and drum at ~3.5 A, the level wandering a little every 10-30 min."""
    phases: list[Phase] = []
    done = 0.0
    while seconds - done > 1e-9:
        seg = min(rng.uniform(10, 30) * 60.0, seconds - done)
        phases.append(Phase("dry", seg, base=HEATPUMP_AMPS * rng.uniform(0.97, 1.03) - 0.5, motor=0.5))
        done += seg
    return phases


def dryer_heatpump(rng: random.Random, extra_minutes: int = 0) -> Timeline:
    """Heat pump, 3-5 h (+ extra) at ~3.5 A; at about 60 % the compressor winds down over
    2-4 min to 24 W for 11-13 min, then back up; stops dead from ~3.6 A, no cool-down."""
    total = rng.uniform(3, 5) * 3600.0 + extra_minutes * 60.0
    idle_amps = rng.uniform(0.09, 0.12)
    decay_s = rng.uniform(2.2, 3.8) * 60.0
    decay = Phase("decay", decay_s, motor=rng.uniform(1.9, 2.1), ramp_to=idle_amps, ramp_s=decay_s)
    idle = Phase("idle", rng.uniform(11.1, 12.8) * 60.0, base=idle_amps)
    climb_s = rng.uniform(60, 120)
    climb = Phase("climb", climb_s, motor=idle_amps, ramp_to=HEATPUMP_AMPS, ramp_s=climb_s)
    final = Phase("dry", rng.uniform(5, 15) * 60.0, base=rng.uniform(3.05, 3.15), motor=0.5)
    first = total * rng.uniform(0.55, 0.59)
    second = total - first - decay.duration - idle.duration - climb.duration - final.duration
    return Timeline(
        "heatpump",
        (*_heatpump_dry(rng, first), decay, idle, climb, *_heatpump_dry(rng, second), final),
        anti_wrinkle_s=SENSOR_ANTI_WRINKLE_WINDOW_S,
    )


def dryer_electronics(rng: random.Random, extra_minutes: int = 0) -> Timeline:
    """1-2 h (+ extra) of heat-pump drying, a minute at ~1.3 A, then the drum stops (the
    end) but the electronics stay on at 0.11-0.13 A for 26-32 min before standby."""
    heat = rng.uniform(60, 120) * 60.0 + extra_minutes * 60.0
    settle = Phase("settle", rng.uniform(50, 70), base=CONTROLLER_AMPS, motor=rng.uniform(1.15, 1.25))
    electronics = Phase("electronics", rng.uniform(26.2, 31.8) * 60.0, base=rng.uniform(0.112, 0.128))
    return Timeline(
        "electronics",
        (*_heatpump_dry(rng, heat), settle),
        anti_wrinkle_s=SENSOR_ANTI_WRINKLE_WINDOW_S,
        tail=(electronics,),
    )


def _dryer(program: str, heater: float) -> ProgramBuilder:
    """A timed dryer program: 45 min (+ extra) of heat with thermostat dips, then cool-down."""

    def build(rng: random.Random, extra_minutes: int = 0) -> Timeline:
        heat_total = (DRYER_BASE_MINUTES + extra_minutes) * 60.0 - DRYER_COOLDOWN_S
        phases: list[Phase] = []
        done = 0.0
        while done < heat_total:
            seg = min(rng.uniform(9, 15) * 60.0, heat_total - done)
            phases.append(Phase("dry", seg, base=heater * rng.uniform(0.97, 1.03), motor=DRYER_MOTOR_AMPS))
            done += seg
            if heat_total - done > 300:
                dip = rng.uniform(60, 120)
                phases.append(Phase("dip", dip, motor=DRYER_MOTOR_AMPS))
                done += dip
        phases.append(Phase("cooldown", DRYER_COOLDOWN_S, motor=DRYER_MOTOR_AMPS))
        return Timeline(program, tuple(phases), anti_wrinkle_s=ANTI_WRINKLE_WINDOW_S)

    return build


def dryer_sensor(rng: random.Random, extra_minutes: int = 0) -> Timeline:
    """Sensor-dry: heats until dry (35-70 min), with thermostat dips to motor only and one
    or two drum rests at controller level (a few tens of watts, 1-4 min); then a 5-10 min
    cool-down tumble and anti-wrinkle tumbles for up to an hour."""
    heat_total = rng.uniform(35, 70) * 60.0 + extra_minutes * 60.0
    heater = 15.5 * rng.uniform(0.95, 1.05)
    rests = sorted(rng.uniform(0.25, 0.75) * heat_total for _ in range(rng.randint(1, 2)))
    phases: list[Phase] = []
    done = 0.0
    while done < heat_total:
        seg = min(rng.uniform(6, 12) * 60.0 * (1.0 - 0.5 * done / heat_total), heat_total - done)
        phases.append(Phase("dry", seg, base=heater * rng.uniform(0.97, 1.03), motor=DRYER_MOTOR_AMPS))
        done += seg
        if heat_total - done <= 300:
            continue
        if rests and done >= rests[0]:
            rests.pop(0)
            rest = rng.uniform(60, 240)
            phases.append(Phase("rest", rest, base=CONTROLLER_AMPS))
        else:
            rest = rng.uniform(60, 120)
            phases.append(Phase("dip", rest, motor=DRYER_MOTOR_AMPS))
        done += rest
    phases.append(Phase("cooldown", rng.uniform(300, 600), motor=DRYER_MOTOR_AMPS))
    return Timeline("sensor", tuple(phases), anti_wrinkle_s=SENSOR_ANTI_WRINKLE_WINDOW_S)


class Pulse(NamedTuple):
    """One anti-wrinkle tumble after a dryer's end."""

    offset: float
    """Seconds after the end it begins."""
    length: float
    amps: float
    """Nominal draw while it turns (drum motor and controller)."""


def anti_wrinkle_pulses(rng: random.Random, window_s: float = ANTI_WRINKLE_WINDOW_S) -> tuple[Pulse, ...]:
    """The short tumbles after the end: 20-60 s at 150-400 W, 130-660 s apart, for ``window_s``."""
    pulses: list[Pulse] = []
    t = rng.uniform(130, 660)
    while t < window_s:
        pulse = Pulse(t, rng.uniform(20, 60), rng.uniform(0.65, 1.75))
        pulses.append(pulse)
        t += pulse.length + rng.uniform(130, 660)
    return tuple(pulses)


WASHER_PROGRAMS: Mapping[str, ProgramBuilder] = {
    "normal": washer_normal,
    "quick": washer_quick,
    "heavy": washer_heavy,
    "delayed": washer_delayed,
    "intensive": washer_intensive,
    "eco": washer_eco,
}
DRYER_PROGRAMS: Mapping[str, ProgramBuilder] = {
    "normal": _dryer("normal", 15.5),
    "high": _dryer("high", 18.5),
    "low": _dryer("low", 9.8),
    "sensor": dryer_sensor,
    "heatpump": dryer_heatpump,
    "electronics": dryer_electronics,
}
