"""Washer and dryer models: door, cycle in progress, and the current drawn at any moment.

A model is a small state machine over simulated time. Actions (``start``, ``open_door``,
``close_door``) take the time they happen; ``current(t)`` is a pure function of the
model's state and ``t`` (noise included, drawn from a per-machine table indexed by
time, so asking twice gives the same answer). Transitions go into a ``TruthLog`` with the
time they really happened — a cycle's end is logged at its end time by whichever call
first looks past it. That end is the drum's stop, even on machines whose electronics
keep drawing for a while after it (a timeline's ``tail``): the student's "done" is the
truth a detector is scored against, not the moment the current falls to standby.

Machine traits follow measured clamps on real machines: a standby of up to 50 mA, 1-2 %
of relative noise and an absolute clamp noise of 10-20 mA (each machine its own), so
the quiet levels a detector must tell apart (standby, 24 W, the electronics' 0.12 A)
sit only a few noise widths from each other.

Door rules follow real machines: nothing starts with the door open; a running washer's
door is locked (``open_door`` refuses); opening a running dryer stops it (interrupted).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from firmware_sim.errors import UnknownProgramError
from firmware_sim.programs import (
    DRYER_PROGRAMS,
    WASHER_PROGRAMS,
    ProgramBuilder,
    Pulse,
    Timeline,
    anti_wrinkle_pulses,
)
from firmware_sim.truth import TruthLog

MachineStatus = Literal["idle", "running", "finished"]

_NOISE_TABLE = 4099
"""Prime, so the two strides through the table do not line up."""
_NOISE_BUCKETS_PER_S = 4


@dataclass(frozen=True)
class Traits:
    """How one physical machine differs from its siblings (drawn once from its seed)."""

    scale: float
    """Every load's current times this (+-10 %)."""
    offset: float
    """The clamp sensor's zero offset, in amps."""
    standby: float
    """Controller and display while idle, in amps (0-0.05)."""
    noise: float
    """Relative gaussian noise (1-2 %)."""
    clamp_noise: float
    """Standard deviation of the clamp's absolute gaussian noise, in amps (0.01-0.02)."""

    @classmethod
    def draw(cls, rng: random.Random) -> Traits:
        return cls(
            scale=rng.uniform(0.9, 1.1),
            offset=rng.uniform(0.0, 0.02),
            standby=rng.uniform(0.0, 0.05),
            noise=rng.uniform(0.01, 0.02),
            clamp_noise=rng.uniform(0.01, 0.02),
        )


@dataclass(frozen=True)
class Cycle:
    """One run of a program: when it started, its timeline and (dryers) anti-wrinkle pulses."""

    started: float
    timeline: Timeline
    detail: str
    pulses: tuple[Pulse, ...] = ()

    @property
    def ends(self) -> float:
        return self.started + self.timeline.duration


class SimMachine:
    """What washers and dryers share; subclasses name their programs and door rule."""

    kind: ClassVar[str]
    programs: ClassVar[Mapping[str, ProgramBuilder]]
    door_stops_cycle: ClassVar[bool]
    """True: opening the door mid-cycle stops it. False: the door is locked while running."""

    def __init__(self, machine_id: str, *, seed: int = 0, log: TruthLog | None = None) -> None:
        self.id = machine_id
        self.log = log if log is not None else TruthLog()
        self._rng = random.Random(f"{seed}:{self.kind}:{machine_id}")
        self.traits = Traits.draw(self._rng)
        self._noise = tuple(self._rng.gauss(0.0, 1.0) for _ in range(_NOISE_TABLE))
        self.door_open = False
        self._status: MachineStatus = "idle"
        self._cycle: Cycle | None = None
        self._last_action = -math.inf

    @property
    def cycle(self) -> Cycle | None:
        """The cycle running or just finished (None once the laundry is taken out)."""
        return self._cycle

    @property
    def cycle_end(self) -> float | None:
        return self._cycle.ends if self._cycle is not None else None

    def state(self, now: float) -> MachineStatus:
        self._settle(now)
        return self._status

    def running(self, now: float) -> bool:
        return self.state(now) == "running"

    def start(self, program: str, now: float, extra_minutes: int = 0) -> bool:
        """Press start: refused (False) with the door open or while already running."""
        builder = self.programs.get(program)
        if builder is None:
            raise UnknownProgramError(f"{self.kind} {self.id} has no program {program!r}; try {sorted(self.programs)}")
        if extra_minutes < 0:
            raise ValueError("extra_minutes must be >= 0")
        now = self._act(now)
        if self.door_open or self._status == "running":
            return False
        rng = random.Random(self._rng.getrandbits(64))
        detail = program if not extra_minutes else f"{program}+{extra_minutes}min"
        timeline = builder(rng, extra_minutes)
        self._cycle = Cycle(now, timeline, detail, self._pulses(rng, timeline))
        self._status = "running"
        self.log.record(now, self.id, "cycle_started", detail)
        return True

    def open_door(self, now: float) -> bool:
        """Open the door; False if it is already open or locked by a running cycle."""
        now = self._act(now)
        if self.door_open or (self._status == "running" and not self.door_stops_cycle):
            return False
        self.door_open = True
        self.log.record(now, self.id, "door_opened")
        if self._status == "running":
            self.log.record(now, self.id, "cycle_interrupted", "door opened")
        self._status = "idle"
        self._cycle = None
        return True

    def close_door(self, now: float) -> bool:
        now = self._act(now)
        if not self.door_open:
            return False
        self.door_open = False
        self.log.record(now, self.id, "door_closed")
        return True

    def nominal(self, now: float) -> float:
        """Current without noise or clamp offset: what the machine really draws."""
        self._settle(now)
        return self.traits.standby + self.traits.scale * self._load(now)

    def current(self, now: float) -> float:
        """What a clamp sensor reads at ``now``: nominal draw with noise and offset, >= 0."""
        k = math.floor(now * _NOISE_BUCKETS_PER_S)
        relative = self._noise[k % _NOISE_TABLE]
        absolute = self._noise[(k * 31 + 17) % _NOISE_TABLE]
        amps = self.nominal(now) * (1.0 + self.traits.noise * relative)
        return max(0.0, amps + self.traits.offset + self.traits.clamp_noise * absolute)

    def _load(self, now: float) -> float:
        cycle = self._cycle
        if cycle is None or now < cycle.started:
            return 0.0
        if self._status == "running":
            found = cycle.timeline.at(now - cycle.started)
            return found[0].amps(found[1]) if found else 0.0
        if self._status == "finished":
            return self._after_end(cycle, now - cycle.ends)
        return 0.0

    def _after_end(self, cycle: Cycle, since_end: float) -> float:
        """Load after the program ends, before the door opens: the timeline's tail (electronics on)."""
        found = cycle.timeline.after(since_end)
        return found[0].amps(found[1]) if found else 0.0

    def _pulses(self, rng: random.Random, timeline: Timeline) -> tuple[Pulse, ...]:
        return ()

    def _settle(self, now: float) -> None:
        """Notice a cycle that has run its course; log it at the time it really ended."""
        cycle = self._cycle
        if self._status == "running" and cycle is not None and now >= cycle.ends:
            self._status = "finished"
            self.log.record(cycle.ends, self.id, "cycle_finished", cycle.detail)

    def _act(self, now: float) -> float:
        """Actions never go back in time, even if a caller's clock reading is a little stale."""
        now = max(now, self._last_action)
        self._last_action = now
        self._settle(now)
        return now


class Washer(SimMachine):
    """Front loader: door locked while running (a delayed start too); normal (~45 min), quick, heavy, delayed,
    intensive (3-3.5 h), eco (2-3 h)."""

    kind = "washer"
    programs = WASHER_PROGRAMS
    door_stops_cycle = False


class Dryer(SimMachine):
    """Tumble dryer: timed normal, high, low (45 min + extra), sensor-dry, heatpump, electronics;
    anti-wrinkle after the end."""

    kind = "dryer"
    programs = DRYER_PROGRAMS
    door_stops_cycle = True

    def _after_end(self, cycle: Cycle, since_end: float) -> float:
        """A pulse's draw (motor and controller) while it turns, else the tail's (or nothing)."""
        for pulse in cycle.pulses:
            if pulse.offset <= since_end < pulse.offset + pulse.length:
                return pulse.amps
        return super()._after_end(cycle, since_end)

    def _pulses(self, rng: random.Random, timeline: Timeline) -> tuple[Pulse, ...]:
        return anti_wrinkle_pulses(rng, timeline.anti_wrinkle_s) if timeline.anti_wrinkle_s > 0 else ()


MACHINE_KINDS: Mapping[str, type[SimMachine]] = {"washer": Washer, "dryer": Dryer}


def make_machine(kind: str, machine_id: str, *, seed: int = 0, log: TruthLog | None = None) -> SimMachine:
    cls = MACHINE_KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown machine kind {kind!r}; expected one of {sorted(MACHINE_KINDS)}")
    return cls(machine_id, seed=seed, log=log)
