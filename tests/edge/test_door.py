"""Door switches: wiring polarity, and leading-edge debounce on a fake clock over mock pins."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from edge.errors import GpioUnavailable
from edge.sensors.door import Debouncer, DoorSwitch
from edge.sensors.readings import DoorEdge
from kywash.clock import FakeClock
from kywash.contract import Door

OPEN, CLOSED = Door.OPEN, Door.CLOSED
DEBOUNCE = 0.03


@pytest.fixture
def switch(mock_factory: MockFactory, fake_clock: FakeClock) -> Iterator[tuple[DoorSwitch, queue.Queue[Any]]]:
    edges: queue.Queue[Any] = queue.Queue()
    door = DoorSwitch(
        "washer-1",
        5,
        edges=edges,
        clock=fake_clock,
        debounce_s=DEBOUNCE,
        pin_factory=mock_factory,
        monotonic=fake_clock.now,  # real time moves with the fake clock here
    )
    yield door, edges
    door.close()


def test_pin_low_is_closed_and_callbacks_only_queue(
    switch: tuple[DoorSwitch, queue.Queue[Any]], mock_factory: MockFactory, fake_clock: FakeClock
) -> None:
    door, edges = switch
    pin = mock_factory.pin(5)
    assert door.read() is OPEN  # pulled up, reed switch open
    pin.drive_low()
    assert door.read() is CLOSED
    assert edges.get_nowait() == DoorEdge("washer-1", CLOSED, fake_clock.now(), fake_clock.now())
    assert door.door is OPEN  # nothing is decided in the callback
    pin.drive_high()
    assert edges.get_nowait().door is OPEN


# Each case: a list of (time offset in ms, raw level) edges, then the debounced changes
# expected (ms, level), checking with a tick after every edge and a final tick at +100 ms.
BOUNCES = [
    ("clean open", [(0, OPEN)], [(0, OPEN)]),
    ("bounce settles open", [(0, OPEN), (2, CLOSED), (4, OPEN), (6, CLOSED), (9, OPEN)], [(0, OPEN)]),
    (
        "bounce settles back closed: corrected after lockout",
        [(0, OPEN), (2, CLOSED), (5, OPEN), (8, CLOSED)],
        [(0, OPEN), (30, CLOSED)],
    ),
    ("two real changes far apart", [(0, OPEN), (500, CLOSED)], [(0, OPEN), (500, CLOSED)]),
    ("change right after lockout", [(0, OPEN), (29, CLOSED), (31, CLOSED)], [(0, OPEN), (30, CLOSED)]),
    ("edge repeating current level ignored", [(0, CLOSED), (10, CLOSED)], []),
    (
        "open/close/open bursts",
        [(0, OPEN), (1, CLOSED), (2, OPEN), (100, CLOSED), (101, OPEN), (102, CLOSED)],
        [(0, OPEN), (100, CLOSED)],
    ),
]


@pytest.mark.parametrize(("edges", "expected"), [c[1:] for c in BOUNCES], ids=[c[0] for c in BOUNCES])
def test_debounce_table(edges: list[tuple[int, Door]], expected: list[tuple[int, Door]]) -> None:
    debouncer = Debouncer(CLOSED, DEBOUNCE)
    reported: list[tuple[int, Door]] = []
    t0 = 1000.0
    times = sorted({ms for ms, _ in edges} | {ms + step for ms, _ in edges for step in (10, 20, 30, 40)})
    pending = list(edges)
    for ms in times:
        while pending and pending[0][0] <= ms:
            edge_ms, level = pending.pop(0)
            if (change := debouncer.edge(level, t0 + edge_ms / 1000)) is not None:
                reported.append((edge_ms, change))
        if (change := debouncer.tick(t0 + ms / 1000)) is not None:
            reported.append((ms, change))
    assert reported == expected
    assert debouncer.reported == debouncer.raw == (edges[-1][1] if edges else CLOSED)


def test_bouncing_mock_pin_through_the_switch(
    switch: tuple[DoorSwitch, queue.Queue[Any]], mock_factory: MockFactory, fake_clock: FakeClock
) -> None:
    door, edges = switch
    pin = mock_factory.pin(5)
    pin.drive_low()
    door.resync()
    assert door.door is CLOSED
    changes = []
    # The door opens with contact bounce, 1 ms apart, ending open.
    for level in ("high", "low", "high", "low", "high"):
        getattr(pin, f"drive_{level}")()
        fake_clock.advance(0.001)
    while not edges.empty():
        if (change := door.on_edge(edges.get_nowait())) is not None:
            changes.append(change)
    fake_clock.advance(0.1)
    assert door.tick(fake_clock.now()) is None
    assert changes == [OPEN]
    # Closes with bounce ending closed, one edge inside the lockout of the first.
    for level in ("low", "high", "low"):
        getattr(pin, f"drive_{level}")()
        fake_clock.advance(0.002)
    while not edges.empty():
        if (change := door.on_edge(edges.get_nowait())) is not None:
            changes.append(change)
    fake_clock.advance(0.05)
    if (change := door.tick(fake_clock.now())) is not None:
        changes.append(change)
    assert changes == [OPEN, CLOSED]
    assert door.door is CLOSED


def test_pin_in_use_is_a_gpio_error(
    switch: tuple[DoorSwitch, queue.Queue[Any]], mock_factory: MockFactory, fake_clock: FakeClock
) -> None:
    with pytest.raises(GpioUnavailable, match="washer-2 on GPIO 5"):
        DoorSwitch("washer-2", 5, edges=queue.Queue(), clock=fake_clock, pin_factory=mock_factory)


def test_lockout_also_lasts_in_real_time() -> None:
    """Under a fast simulated clock a bounce spans clock seconds but microseconds of real time."""
    debouncer = Debouncer(CLOSED, DEBOUNCE)
    t, mono = 1000.0, 50.0
    assert debouncer.edge(OPEN, t, mono) is OPEN
    # 600x clock: each bounce edge 0.1 ms real apart is 60 ms of clock time apart.
    for k, level in enumerate([CLOSED, OPEN, CLOSED, OPEN], start=1):
        assert debouncer.edge(level, t + 0.06 * k, mono + 0.0001 * k) is None
    assert debouncer.tick(t + 1.0, mono + 0.001) is None  # clock says later, real time says not yet
    assert debouncer.tick(t + 20.0, mono + DEBOUNCE) is None  # settled on OPEN: nothing to correct
    assert debouncer.reported is OPEN
