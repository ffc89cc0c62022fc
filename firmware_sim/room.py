"""A simulated laundry room: machines, door switches, the current board and students.

The public face of firmware_sim for the edge agent, the demo and tests. The room meets
the edge only through real interfaces: each door drives a gpiozero mock pin (LOW =
closed, see doors.py) and the board writes KWB/1 frames to a serial port opened by URL.

Order of use::

    sim = RoomSimulator(demo_machines(), clock, factory)   # serial_url is valid already
    agent = EdgeAgent(serial_url=sim.serial_url, ...)      # creates its Buttons on the pins
    sim.start()                                             # drives doors closed, powers the board
    ...
    sim.close()

``start()`` comes after the edge created its buttons, because gpiozero resets a mock pin
to HIGH (door open) when a pulled-up ``Button`` is made on it; ``refresh_doors()``
re-drives every pin if the edge re-creates its buttons later. The room's threads sleep
on ``clock``: use a ``SystemClock`` or a ``ScaledClock``; with a ``FakeClock`` (which only
advances when told) call ``start(threads=False)`` and then ``tick()`` after each advance.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from firmware_sim.board import BoardEmulator, ChannelReader
from firmware_sim.doors import SimDoor
from firmware_sim.errors import UnknownMachineError
from firmware_sim.layout import SimMachineSpec, check_layout, demo_machines
from firmware_sim.machines import SimMachine, make_machine
from firmware_sim.students import Students
from firmware_sim.truth import GroundTruth, TruthLog
from kywash.clock import Clock

if TYPE_CHECKING:
    from gpiozero.pins.mock import MockFactory

log = logging.getLogger(__name__)

__all__ = ["GroundTruth", "RoomSimulator", "SimMachineSpec", "demo_machines"]

_TICK_S = 0.2
"""Longest clock sleep of the room's thread, so ``close()`` is prompt."""
_REAL_FLOOR_S = 0.005
"""Shortest real-time step of the room's thread, so a fast clock never makes it spin."""


@dataclass
class _Unit:
    spec: SimMachineSpec
    machine: SimMachine
    door: SimDoor
    forced: float | None = None


class RoomSimulator:
    """Machines, doors, board and students of one room, on one clock."""

    def __init__(
        self,
        machines: Sequence[SimMachineSpec],
        clock: Clock,
        pin_factory: MockFactory,
        *,
        seed: int = 0,
        serial: Literal["pty", "tcp"] = "pty",
        students: bool = True,
        sample_period: float = 1.0,
        door_bounce: bool = True,
        student_rate_per_hour: float = 6.0,
        truth_path: Path | None = None,
    ) -> None:
        check_layout(machines)
        self.clock = clock
        self._lock = threading.RLock()
        # With ``truth_path`` the ground truth is also an fsync'd file that outlives this
        # process; a file written by an earlier run gets a ``restarted`` line first.
        restarted = truth_path is not None and truth_path.exists() and truth_path.stat().st_size > 0
        self._log = TruthLog(truth_path)
        if restarted:
            self._log.mark_restarted(clock.now())
        self._units = {
            spec.id: _Unit(
                spec,
                make_machine(spec.kind, spec.id, seed=seed, log=self._log),
                SimDoor(pin_factory, spec.door_pin, clock, bounce=door_bounce, seed=seed),
            )
            for spec in machines
        }
        by_channel = {u.spec.channel: u for u in self._units.values()}
        readers = [self._reader(by_channel.get(ch)) for ch in range(1, max(by_channel) + 1)]
        self.board = BoardEmulator(readers, clock, transport=serial, period=sample_period, seed=seed)
        self.serial_url: str = self.board.url
        self._seed = seed
        self._students_on = students
        self._student_rate = student_rate_per_hour
        self.students: Students | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, *, threads: bool = True) -> None:
        """Drive every door closed, power the board, let the students in (once).

        ``threads=False`` starts nothing in the background: call ``tick()`` to move on
        (for a ``FakeClock``, which only advances when told).
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("a closed room cannot be started again")
            if self._started:
                return
            self._started = True
            for unit in self._units.values():
                unit.door.start()
            if self._students_on:
                self.students = Students(
                    self, start=self.clock.now(), seed=self._seed, rate_per_hour=self._student_rate
                )
            if threads:
                self.board.start()
                self._thread = threading.Thread(target=self._run, name="kywash-sim-room", daemon=True)
                self._thread.start()

    def tick(self) -> None:
        """One step by hand (after ``start(threads=False)``): students act, the board sends a frame."""
        self._step(self.clock.now())
        self.board.emit_frame()

    def close(self) -> None:
        """Stop the threads and close the serial port; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.board.close()
        self._log.close()

    def __enter__(self) -> RoomSimulator:
        """Does not start the room: create the edge's buttons, then call ``start()``."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def refresh_doors(self) -> None:
        """Drive every door pin to its door's position again (after buttons were re-created)."""
        with self._lock:
            for unit in self._units.values():
                unit.door.refresh()

    # -- what tests and the demo do --------------------------------------------------------

    @property
    def ground_truth(self) -> list[GroundTruth]:
        """Everything that really happened so far (a snapshot, in the order noticed)."""
        return self._log.entries()

    def open_door(self, machine_id: str) -> bool:
        return self.open_door_at(machine_id, self.clock.now())

    def close_door(self, machine_id: str) -> bool:
        return self.close_door_at(machine_id, self.clock.now())

    def start_cycle(self, machine_id: str, program: str = "normal", extra_minutes: int = 0) -> bool:
        """Press start; False if the door is open or it is already running."""
        return self.start_cycle_at(machine_id, program, extra_minutes, self.clock.now())

    def set_current(self, machine_id: str, amps: float | None) -> None:
        """Force the machine's channel to read ``amps`` (None: back to the model)."""
        if amps is not None and not amps >= 0:
            raise ValueError("amps must be >= 0 or None")
        unit = self._unit(machine_id)
        with self._lock:
            unit.forced = amps

    def machine_state(self, machine_id: str) -> str:
        """The model's view: "idle", "running" or "finished"."""
        return self.state_at(machine_id, self.clock.now())

    # -- the same at a given simulated time (students act on their own schedule) --------

    def machines_of(self, kind: str) -> list[str]:
        return [u.spec.id for u in self._units.values() if u.spec.kind == kind]

    def state_at(self, machine_id: str, ts: float) -> str:
        unit = self._unit(machine_id)
        with self._lock:
            return unit.machine.state(ts)

    def door_is_open(self, machine_id: str) -> bool:
        unit = self._unit(machine_id)
        with self._lock:
            return unit.machine.door_open

    def cycle_end(self, machine_id: str) -> float | None:
        unit = self._unit(machine_id)
        with self._lock:
            return unit.machine.cycle_end

    def open_door_at(self, machine_id: str, ts: float) -> bool:
        """Open the door (refused while a washer runs); the pin follows, with bounce."""
        unit = self._unit(machine_id)
        with self._lock:
            if not unit.machine.open_door(ts):
                return False
            unit.door.open()
            return True

    def close_door_at(self, machine_id: str, ts: float) -> bool:
        unit = self._unit(machine_id)
        with self._lock:
            if not unit.machine.close_door(ts):
                return False
            unit.door.close()
            return True

    def start_cycle_at(self, machine_id: str, program: str, extra_minutes: int, ts: float) -> bool:
        unit = self._unit(machine_id)
        with self._lock:
            return unit.machine.start(program, ts, extra_minutes)

    def machine(self, machine_id: str) -> SimMachine:
        """The model behind a machine (for tests: traits, cycle timeline)."""
        return self._unit(machine_id).machine

    # -- internals ---------------------------------------------------------------------

    def _unit(self, machine_id: str) -> _Unit:
        try:
            return self._units[machine_id]
        except KeyError:
            raise UnknownMachineError(f"no machine {machine_id!r} in this room; have {sorted(self._units)}") from None

    def _reader(self, unit: _Unit | None) -> ChannelReader:
        """What the board's channel sees: the model's current, or a forced value."""

        def read(t: float) -> float:
            if unit is None:
                return 0.0
            with self._lock:
                return unit.forced if unit.forced is not None else unit.machine.current(t)

        return read

    def _step(self, now: float) -> float:
        """Students due by ``now`` act; cycle ends are logged. Returns when the next action is due."""
        due = math.inf
        if self.students is not None:
            try:
                self.students.run_until(now)
            except Exception:  # one confused student must not empty the room
                log.exception("student action failed")
            due = self.students.next_due()
        with self._lock:
            for unit in self._units.values():
                unit.machine.state(now)
        return due

    def _run(self) -> None:
        """The room's thread: steps on schedule, logging cycle ends even while the board is paused."""
        while not self._stop.is_set():
            now = self.clock.now()
            due = self._step(now)
            began = time.monotonic()
            self.clock.sleep(max(0.0, min(due - now, _TICK_S)))
            self._stop.wait(max(0.0, _REAL_FLOOR_S - (time.monotonic() - began)))
