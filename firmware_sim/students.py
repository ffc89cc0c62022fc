"""Students who use the room: arrive at random, start machines, come back late for laundry.

A discrete-event simulation on the room's clock, deterministic for a given seed and
start time: arrivals are a Poisson process whose rate follows the hour of day (quiet at
night, busiest in the evening; ``rate_per_hour`` is the daily average). Each student is
a generator that performs an action and yields how long until the next one; actions are
applied at their scheduled time, not at the moment a thread gets round to them.

What a student does (the habits that make laundry monitoring hard):

- wash (two in three) or dry only; picks a free machine of that kind, opens the door,
  loads for 30-90 s, closes it, starts a program 5-20 s later; finds none free: tries
  again in 10-20 min, twice, then gives up;
- comes back after the end: usually 0-30 min late, sometimes one to three hours;
  opens the door, unloads, and closes it again (not always: one in seven leaves it open);
- after washing, usually moves the laundry to a dryer straight away;
- now and then opens a running dryer to check whether it is dry (which stops it),
  closes it and starts it again.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Generator
from typing import Protocol, TypeVar

T = TypeVar("T")
Process = Generator[float, None, None]
"""A student's life: performs actions, yields seconds to wait before the next."""
Step = Generator[float, None, str | None]
"""Part of a life that ends with a result (the machine used, or None)."""

# Relative arrival rate per hour of day (UTC + offset): night, morning, day, evening.
HOURLY_PROFILE = (
    0.15, 0.1, 0.1, 0.1, 0.1, 0.15, 0.3, 0.6, 0.8, 0.9, 1.0, 1.0,
    1.0, 1.0, 1.0, 1.1, 1.3, 1.7, 2.2, 2.4, 2.4, 2.0, 1.4, 0.6,
)  # fmt: skip
_MEAN_PROFILE = sum(HOURLY_PROFILE) / len(HOURLY_PROFILE)

# Short programs only, by name: the multi-hour ones of the library (washer intensive and eco,
# dryer heatpump and electronics) run only where a bench or test asks for them, because the
# room simulation and the chaos suite's timing assume cycles of about an hour.
WASHER_PROGRAMS = (("normal", 0.55), ("quick", 0.35), ("heavy", 0.10))
DRYER_PROGRAMS = (("normal", 0.6), ("high", 0.2), ("low", 0.2))
DRYER_EXTRA_MINUTES = ((0, 0.5), (15, 0.3), (30, 0.2))


class RoomControls(Protocol):
    """What a student can see and do in the room, at a given simulated time."""

    def machines_of(self, kind: str) -> list[str]: ...

    def state_at(self, machine_id: str, ts: float) -> str: ...

    def door_is_open(self, machine_id: str) -> bool: ...

    def cycle_end(self, machine_id: str) -> float | None: ...

    def open_door_at(self, machine_id: str, ts: float) -> bool: ...

    def close_door_at(self, machine_id: str, ts: float) -> bool: ...

    def start_cycle_at(self, machine_id: str, program: str, extra_minutes: int, ts: float) -> bool: ...


def _pick(rng: random.Random, table: tuple[tuple[T, float], ...]) -> T:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


class Students:
    """The students of one room, from ``start`` on; call ``run_until`` as time passes."""

    def __init__(
        self,
        room: RoomControls,
        *,
        start: float,
        seed: int = 0,
        rate_per_hour: float = 6.0,
        utc_offset_hours: float = 0.0,
    ) -> None:
        if rate_per_hour < 0:
            raise ValueError("rate_per_hour must be >= 0")
        self.room = room
        self.rate_per_hour = rate_per_hour
        self.utc_offset_hours = utc_offset_hours
        self.now = start
        self.arrived = 0
        self._rng = random.Random(f"students:{seed}")
        self._queue: list[tuple[float, int, Process]] = []
        self._order = itertools.count()
        self._in_use: set[str] = set()
        if rate_per_hour > 0:
            self._schedule(start, self._arrivals())

    def next_due(self) -> float:
        """When the next action is due (infinity if nothing is planned)."""
        return self._queue[0][0] if self._queue else math.inf

    def run_until(self, ts: float) -> int:
        """Perform every action due at or before ``ts``, in time order; returns how many."""
        done = 0
        while self._queue and self._queue[0][0] <= ts:
            when, _, process = heapq.heappop(self._queue)
            self.now = when
            done += 1
            try:
                wait = next(process)
            except StopIteration:
                continue
            self._schedule(when + max(wait, 0.0), process)
        return done

    def _schedule(self, when: float, process: Process) -> None:
        heapq.heappush(self._queue, (when, next(self._order), process))

    def rate_at(self, ts: float) -> float:
        """Arrivals per hour at ``ts`` (UTC + offset hour of day)."""
        hour = int(((ts / 3600.0) + self.utc_offset_hours) % 24)
        return self.rate_per_hour * HOURLY_PROFILE[hour] / _MEAN_PROFILE

    def _arrivals(self) -> Process:
        """Non-homogeneous Poisson arrivals by thinning a process at the peak rate."""
        peak = self.rate_per_hour * max(HOURLY_PROFILE) / _MEAN_PROFILE / 3600.0
        while True:
            wait = 0.0
            while True:
                wait += self._rng.expovariate(peak)
                if self._rng.random() * peak * 3600.0 <= self.rate_at(self.now + wait):
                    break
            yield wait
            self.arrived += 1
            self._schedule(self.now, self._student(random.Random(self._rng.getrandbits(64))))

    def _student(self, rng: random.Random) -> Process:
        if rng.random() < 2 / 3:
            washer = yield from self._load(rng, "washer")
            if washer is None:
                return
            yield from self._collect(rng, washer)
            if rng.random() >= 0.75:
                return
        dryer = yield from self._load(rng, "dryer")
        if dryer is None:
            return
        if rng.random() < 0.08:
            yield from self._check_dryer(rng, dryer)
        yield from self._collect(rng, dryer)

    def _free(self, kind: str) -> list[str]:
        return [
            m
            for m in self.room.machines_of(kind)
            if m not in self._in_use and self.room.state_at(m, self.now) == "idle"
        ]

    def _load(self, rng: random.Random, kind: str) -> Step:
        """Find a free machine, load it and start a program; the machine, or None."""
        for attempt in range(3):
            free = self._free(kind)
            if free:
                break
            if attempt == 2:
                return None
            yield rng.uniform(600, 1200)
        machine = rng.choice(free)
        self._in_use.add(machine)
        if not self.room.door_is_open(machine) and not self.room.open_door_at(machine, self.now):
            self._in_use.discard(machine)
            return None
        yield rng.uniform(30, 90)
        self.room.close_door_at(machine, self.now)
        yield rng.uniform(5, 20)
        if kind == "washer":
            program, extra = _pick(rng, WASHER_PROGRAMS), 0
        else:
            program, extra = _pick(rng, DRYER_PROGRAMS), _pick(rng, DRYER_EXTRA_MINUTES)
        if not self.room.start_cycle_at(machine, program, extra, self.now):
            self._in_use.discard(machine)
            return None
        return machine

    def _collect(self, rng: random.Random, machine: str) -> Step:
        """Come back after the end (late, as students do), unload, usually close the door."""
        try:
            for _ in range(5):
                end = self.room.cycle_end(machine)
                if end is None or self.room.state_at(machine, self.now) != "running":
                    break
                late = rng.uniform(3600, 10800) if rng.random() < 0.1 else min(rng.expovariate(1 / 480), 1800)
                yield max(end - self.now, 0.0) + late
            if not self.room.open_door_at(machine, self.now):
                return None
            yield rng.uniform(30, 60)
            if rng.random() < 6 / 7:
                self.room.close_door_at(machine, self.now)
            return machine
        finally:
            self._in_use.discard(machine)

    def _check_dryer(self, rng: random.Random, dryer: str) -> Step:
        """Open a running dryer to feel the laundry (it stops), close it, start it again."""
        yield rng.uniform(900, 1800)
        if self.room.state_at(dryer, self.now) == "running" and self.room.open_door_at(dryer, self.now):
            yield rng.uniform(20, 40)
            self.room.close_door_at(dryer, self.now)
            yield rng.uniform(3, 10)
            self.room.start_cycle_at(dryer, "normal", 0, self.now)
        return dryer
