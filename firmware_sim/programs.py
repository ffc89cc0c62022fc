"""Washer and dryer programs as timelines of phases, each with the current its parts draw.

Amps here are nominal: a machine adds its own standby, scale, clamp offset and noise
(machines.py). The shapes follow published measurements of 230 V appliances, because a
cycle detector is only as good as the data it was tried on:

- a washer heats in 2-3 kW bursts (10-13 A) but spends most of a cycle at 40-350 W
  (fill valve, drum tumbling and resting, drain pump), soaks with the drum still at
  standby level, and spins up to 2-4 A;
- a dryer draws 10-22 A (heater + drum), dips to motor only when its thermostat cuts the
  heater, ends with a cool-down tumble, and after the end tumbles briefly every few
  minutes (anti-wrinkle) until the door opens.

The library: washer ``normal``, ``quick``, ``heavy`` (a quarter-hour pre-soak at standby
level) and ``delayed`` (a normal wash after a delay of 30 min to 2 h at standby; the door
is locked from the press of the button); dryer ``normal``, ``high``, ``low`` (timed:
45 min + extra minutes, anti-wrinkle for 30 min) and ``sensor`` (runs until the moisture
sensor says dry, with minute-long drum rests at a few tens of watts mid-cycle, a 5-10 min
cool-down tumble and anti-wrinkle for up to an hour).

Each builder takes the random generator of one cycle, so two cycles of the same
program differ a little (fill time, heater time, soak length), as real ones do.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate

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
    """Spin: the motor current climbs from ``motor`` to this over the first 60 %."""

    def amps(self, t: float) -> float:
        motor = self.motor
        if self.ramp_to is not None:
            motor += (self.ramp_to - self.motor) * min(1.0, t / max(0.6 * self.duration, 1.0))
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ends", tuple(accumulate(p.duration for p in self.phases)))

    @property
    def duration(self) -> float:
        return self._ends[-1] if self._ends else 0.0

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


def anti_wrinkle_pulses(rng: random.Random, window_s: float = ANTI_WRINKLE_WINDOW_S) -> tuple[tuple[float, float], ...]:
    """(offset after the end, length) of each short tumble: 15-20 s every 3-5 min for ``window_s``."""
    pulses: list[tuple[float, float]] = []
    t = rng.uniform(180, 300)
    while t < window_s:
        length = rng.uniform(15, 20)
        pulses.append((t, length))
        t += length + rng.uniform(180, 300)
    return tuple(pulses)


WASHER_PROGRAMS: Mapping[str, ProgramBuilder] = {
    "normal": washer_normal,
    "quick": washer_quick,
    "heavy": washer_heavy,
    "delayed": washer_delayed,
}
DRYER_PROGRAMS: Mapping[str, ProgramBuilder] = {
    "normal": _dryer("normal", 15.5),
    "high": _dryer("high", 18.5),
    "low": _dryer("low", 9.8),
    "sensor": dryer_sensor,
}
