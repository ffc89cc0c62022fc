"""A door's reed switch, driving one gpiozero mock pin as the real contact would.

Wiring (the same on the Pi): one reed switch per door, between the door's GPIO pin
(BCM numbering) and ground, with the pin pulled up. A magnet on the door closes the
contact when the door shuts, so:

    door CLOSED = contact closed = pin LOW   (``pin.drive_low()``;  a pulled-up Button is pressed)
    door OPEN   = contact open   = pin HIGH  (``pin.drive_high()``; the pull-up wins)

A real contact bounces: on each change the pin toggles 2-6 times over 1-15 ms before it
settles, which is why the edge debounces on its own clock (mock pins ignore gpiozero's
``bounce_time``). The bounce sleeps on the simulator's clock; ``bounce=False`` gives one
clean edge, for benchmarks that time the edge's reaction.

gpiozero resets a mock pin to HIGH when a pulled-up ``Button`` is created on it, so the
pin is driven only from ``start()``, which the room calls after the edge made its
buttons; ``refresh()`` re-drives the level if the edge re-created a button later.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from kywash.clock import Clock

if TYPE_CHECKING:
    from gpiozero.pins.mock import MockFactory

BOUNCES = (2, 6)
BOUNCE_SPAN_S = (0.001, 0.015)


class SimDoor:
    """One door: ``open()``/``close()`` move it; the pin follows once ``start()`` was called."""

    def __init__(
        self,
        pin_factory: MockFactory,
        bcm: int,
        clock: Clock,
        *,
        bounce: bool = True,
        closed: bool = True,
        seed: int = 0,
    ) -> None:
        self.bcm = bcm
        self.clock = clock
        self.bounce = bounce
        self._factory = pin_factory
        self._closed = closed
        self._pin: Any = None
        self._rng = random.Random(f"door:{seed}:{bcm}")
        self.edges = 0
        """Pin level changes driven so far, bounce included."""

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def started(self) -> bool:
        return self._pin is not None

    def start(self) -> None:
        """Take the pin and drive the door's current position, cleanly (no bounce)."""
        self._pin = self._factory.pin(self.bcm)
        self._level(low=self._closed)

    def refresh(self) -> None:
        """Drive the current position again (after gpiozero reset the pin to its pull)."""
        if self._pin is not None:
            self._level(low=self._closed)

    def open(self) -> bool:
        return self._move(closed=False)

    def close(self) -> bool:
        return self._move(closed=True)

    def _move(self, *, closed: bool) -> bool:
        """Move the door; False if it was already there (nothing happens to the pin)."""
        if closed == self._closed:
            return False
        self._closed = closed
        if self._pin is not None:
            if self.bounce:
                self._bounce(final_low=closed)
            self._level(low=closed)
        return True

    def _bounce(self, *, final_low: bool) -> None:
        """Toggle final/previous level a few times over a few ms of clock time."""
        n = self._rng.randint(*BOUNCES)
        span = self._rng.uniform(*BOUNCE_SPAN_S)
        weights = [self._rng.random() + 0.1 for _ in range(2 * n)]
        total = sum(weights)
        for i, w in enumerate(weights):
            self._level(low=final_low if i % 2 == 0 else not final_low)
            self.clock.sleep(span * w / total)

    def _level(self, *, low: bool) -> None:
        before = self._pin.state
        if low:
            self._pin.drive_low()
        else:
            self._pin.drive_high()
        if self._pin.state != before:
            self.edges += 1
