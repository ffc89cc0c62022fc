"""Door switches: a reed switch per machine on a GPIO pin, debounced on the agent's clock.

Wiring: the reed switch closes to ground and the pin is pulled up, so LOW means the door
is CLOSED and HIGH means OPEN (a broken wire reads as open: the safe side).

gpiozero calls back in whatever thread drives the pin (a real edge thread, or the
simulator), so the callback only stamps the edge and puts it on the agent's queue. The
agent's sensor loop is the single consumer: it feeds edges to ``on_edge`` and calls
``tick`` regularly. Mock pins ignore ``bounce_time``, and real bounce is easier to reason
about on an injected clock, so debouncing is ours (``Debouncer``).

The lockout lasts ``debounce_s`` of the agent's clock *and* of real time. On the Pi the
two are the same; under a simulation clock running 600 times faster, a contact bounce
the simulator spreads over a millisecond of real time (the shortest sleep an OS
grants) spans most of a clock second, and the real-time half keeps it one change.
"""

from __future__ import annotations

import logging
import math
import queue
import time
from collections.abc import Callable
from typing import Any

from gpiozero import Button
from gpiozero.exc import GPIOZeroError
from gpiozero.pins import Factory

from edge.errors import GpioUnavailable
from edge.sensors.readings import DoorEdge
from kywash.clock import Clock
from kywash.contract import Door

log = logging.getLogger(__name__)


class Debouncer:
    """Leading-edge debounce: report a change at once, then ignore edges for ``debounce_s``.

    Reacting on the first edge keeps door events prompt; the lockout swallows the bounce.
    Because edges during the lockout are ignored, the last one may be the real level:
    ``tick(now)`` after the lockout compares the raw level with the reported one and
    reports a correction when they differ. Pure: times come in as arguments (``mono``,
    real time, defaults to the clock time when the two are one).
    """

    def __init__(self, initial: Door, debounce_s: float) -> None:
        self.reported = initial
        self.raw = initial
        self.debounce_s = debounce_s
        self._until = self._until_mono = -math.inf

    def edge(self, door: Door, ts: float, mono: float | None = None) -> Door | None:
        """A raw edge; returns the door's new debounced state if this edge reports a change."""
        self.raw = door
        if self._unlocked(ts, mono) and door != self.reported:
            return self._report(door, ts, mono)
        return None

    def tick(self, now: float, mono: float | None = None) -> Door | None:
        """After the lockout, report the raw level if it differs from what was reported."""
        if self._unlocked(now, mono) and self.raw != self.reported:
            return self._report(self.raw, now, mono)
        return None

    def reset(self, level: Door) -> None:
        self.reported = self.raw = level
        self._until = self._until_mono = -math.inf

    def _unlocked(self, ts: float, mono: float | None) -> bool:
        return ts >= self._until and (ts if mono is None else mono) >= self._until_mono

    def _report(self, door: Door, ts: float, mono: float | None) -> Door:
        self.reported = door
        self._until = ts + self.debounce_s
        self._until_mono = (ts if mono is None else mono) + self.debounce_s
        return door


class DoorSwitch:
    """One machine's door switch on a BCM pin; edges go to ``edges`` as ``DoorEdge``."""

    def __init__(
        self,
        machine_id: str,
        pin: int,
        *,
        edges: queue.Queue[Any],
        clock: Clock,
        debounce_s: float = 0.03,
        pin_factory: Factory | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.machine_id = machine_id
        self.pin = pin
        self._edges = edges
        self._clock = clock
        self._monotonic = monotonic
        try:
            # when_held is unused; a short hold_time stops close() waiting up to a second on
            # the hold thread of a pressed (door closed) button.
            self._button = Button(pin, pull_up=True, bounce_time=None, hold_time=0.05, pin_factory=pin_factory)
        except (GPIOZeroError, OSError) as exc:
            raise GpioUnavailable(f"door switch of {machine_id} on GPIO {pin}: {exc}") from exc
        self._debouncer = Debouncer(self.read(), debounce_s)
        self._button.when_pressed = self._closed
        self._button.when_released = self._opened

    # gpiozero's thread: stamp and hand over, nothing else.
    def _closed(self) -> None:
        self._edges.put(DoorEdge(self.machine_id, Door.CLOSED, self._clock.now(), self._monotonic()))

    def _opened(self) -> None:
        self._edges.put(DoorEdge(self.machine_id, Door.OPEN, self._clock.now(), self._monotonic()))

    # The sensor loop's thread from here on.
    def read(self) -> Door:
        """The raw level right now (not debounced)."""
        return Door.CLOSED if self._button.is_pressed else Door.OPEN

    @property
    def door(self) -> Door:
        """The debounced door state last reported."""
        return self._debouncer.reported

    def resync(self) -> Door:
        """Take the pin's current level as the reported state (at start, without an event)."""
        level = self.read()
        self._debouncer.reset(level)
        return level

    def on_edge(self, edge: DoorEdge) -> Door | None:
        return self._debouncer.edge(edge.door, edge.ts, edge.mono)

    def tick(self, now: float) -> Door | None:
        return self._debouncer.tick(now, self._monotonic())

    def close(self) -> None:
        self._button.close()

    def __enter__(self) -> DoorSwitch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
