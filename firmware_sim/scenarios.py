"""Fault scenarios: machines and sensors misbehaving the way laundry rooms see them.

Each scenario is one machine over a stretch of simulated time, described by what its
current clamp reads (``reading(t)``; None while the sensor is silent) and what its door
switch reports (``door_changes``). ``expect`` names what a detector fed with it should
report: a ``fault_detected`` reason, or ``sensor_fault`` (the agent's silence check).

- ``current_with_door_open``: a dryer whose door interlock is broken keeps heating after
  its door is opened mid-cycle (or a door switch knocked off its magnet).
- ``cycle_never_ends``: a washer stuck in its wash phase (a blocked drain makes it retry
  for hours): tumbling with heater bursts, never a final spin.
- ``sensor_goes_silent``: the current clamp's cable is knocked loose twenty minutes into
  a normal wash: the board stops reporting the channel.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from firmware_sim.machines import Dryer, SimMachine, Washer
from firmware_sim.programs import WASHER_PROGRAMS, Phase, ProgramBuilder, Timeline, _fill, _heat, _tumble

ScenarioKind = Literal["washer", "dryer"]
T0 = 1_767_225_600.0
"""Scenarios start at this clock time (a fixed day), like the bench."""


def _stuck(rng: random.Random, extra_minutes: int = 0) -> Timeline:
    """Wash and heat for ten hours: a program that never reaches its spin."""
    phases: list[Phase] = [_fill(rng, 120)]
    while sum(p.duration for p in phases) < 10 * 3600:
        phases += [_tumble(rng, "wash", 600), _heat(rng, 120)]
    return Timeline("stuck", tuple(phases))


class StuckWasher(Washer):
    """A washer whose every program loops in the wash phase."""

    programs: ClassVar[Mapping[str, ProgramBuilder]] = {**WASHER_PROGRAMS, "stuck": _stuck}


@dataclass(frozen=True)
class Scenario:
    """One machine misbehaving; times are clock seconds from ``T0``."""

    name: str
    kind: ScenarioKind
    duration_s: float
    expect: str
    """The ``fault_detected`` reason (or ``sensor_fault``) a detector must report."""
    reading: Callable[[float], float | None]
    onset: float
    """Clock time the fault begins: the door opens, the program starts, the cable comes loose."""
    door_changes: tuple[tuple[float, bool], ...] = ()
    """(clock time, door open?) as the door switch reports it."""

    def readings(self, period: float = 1.0) -> Iterator[tuple[float, float | None]]:
        """(time, amps or None) every ``period`` seconds over the scenario."""
        n = int(self.duration_s / period)
        for i in range(n):
            t = T0 + i * period
            yield t, self.reading(t)


def _started(machine: SimMachine, program: str) -> SimMachine:
    if not machine.start(program, T0):
        raise RuntimeError(f"{machine.id} refused to start {program}")
    return machine


def current_with_door_open(seed: int = 0) -> Scenario:
    dryer = _started(Dryer("dryer-1", seed=seed), "normal")
    opened = T0 + random.Random(seed).uniform(10, 30) * 60
    return Scenario(
        "current_with_door_open",
        "dryer",
        3600.0,
        "current_with_door_open",
        dryer.current,  # the interlock is broken: the drum and heater go on
        opened,
        ((opened, True),),
    )


def cycle_never_ends(seed: int = 0) -> Scenario:
    washer = _started(StuckWasher("washer-1", seed=seed), "stuck")
    return Scenario("cycle_never_ends", "washer", 6 * 3600.0, "cycle_too_long", washer.current, T0)


def sensor_goes_silent(seed: int = 0) -> Scenario:
    washer = _started(Washer("washer-1", seed=seed), "normal")
    cut = T0 + random.Random(seed).uniform(15, 25) * 60

    def reading(t: float) -> float | None:
        return washer.current(t) if t < cut else None

    return Scenario("sensor_goes_silent", "washer", 3600.0, "sensor_fault", reading, cut)


SCENARIOS: Mapping[str, Callable[[int], Scenario]] = {
    "current_with_door_open": current_with_door_open,
    "cycle_never_ends": cycle_never_ends,
    "sensor_goes_silent": sensor_goes_silent,
}
