"""Door switches: a reed contact on a pulled-up mock pin, with realistic bounce."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from gpiozero import Button
from gpiozero.pins.mock import MockFactory

from firmware_sim.doors import SimDoor
from kywash.clock import FakeClock


@pytest.fixture
def button(mock_factory: MockFactory) -> Iterator[Button]:
    """The edge's side, created first (as the edge does): a pulled-up button on BCM 5."""
    b = Button(5, pull_up=True, pin_factory=mock_factory)
    yield b
    b.close()


def test_start_drives_the_door_closed_after_the_button_reset_the_pin(mock_factory: MockFactory, button: Button) -> None:
    assert not button.is_pressed, "a new pulled-up button reads HIGH (door open)"
    door = SimDoor(mock_factory, 5, FakeClock())
    assert not door.started and door.is_closed
    door.start()
    assert button.is_pressed, "closed door = contact closed = LOW = pressed"
    assert button.pin.state == 0


@pytest.mark.parametrize("seed", range(5))
def test_each_change_bounces_then_settles(mock_factory: MockFactory, button: Button, seed: int) -> None:
    clock = FakeClock()
    door = SimDoor(mock_factory, 5, clock, seed=seed)
    door.start()
    pin = button.pin
    for opening in (True, False, True):
        pin.clear_states()
        began = clock.now()
        assert (door.open() if opening else door.close()) is True
        levels = [s.state for s in pin.states[1:]]
        assert 5 <= len(levels) <= 13, "2-6 bounces: 5-13 edges"
        assert all(a != b for a, b in itertools.pairwise(levels)), "every drive is an edge"
        assert levels[-1] is opening, "settles HIGH when open, LOW when closed"
        assert 0.001 <= clock.now() - began <= 0.015 + 1e-9, "within 1-15 ms of clock time"
        assert button.is_pressed is not opening


def test_bounce_can_be_turned_off(mock_factory: MockFactory, button: Button) -> None:
    clock = FakeClock()
    door = SimDoor(mock_factory, 5, clock, bounce=False)
    door.start()
    button.pin.clear_states()
    assert door.open()
    assert [s.state for s in button.pin.states[1:]] == [True]
    assert clock.now() == FakeClock().now(), "no clock time spent"


def test_edges_reach_the_buttons_callbacks(mock_factory: MockFactory, button: Button) -> None:
    seen: list[str] = []
    button.when_pressed = lambda: seen.append("closed")
    button.when_released = lambda: seen.append("opened")
    door = SimDoor(mock_factory, 5, FakeClock(), seed=3)
    door.start()
    door.open()
    assert seen[0] == "closed" and seen[-1] == "opened"
    assert len(seen) >= 6, "the edge sees the bounce and must debounce it"


def test_moves_before_start_touch_no_pin_and_repeated_moves_do_nothing(
    mock_factory: MockFactory, button: Button
) -> None:
    door = SimDoor(mock_factory, 5, FakeClock())
    assert door.open()
    assert not door.open()
    assert not button.is_pressed and door.edges == 0
    door.start()
    assert not button.is_pressed, "starts in the position it was left in: open"
    assert door.close() and not door.close()
    assert button.is_pressed


def test_refresh_redrives_after_the_edge_recreates_its_button(mock_factory: MockFactory, button: Button) -> None:
    door = SimDoor(mock_factory, 5, FakeClock())
    door.start()
    button.close()
    again = Button(5, pull_up=True, pin_factory=mock_factory)
    try:
        assert not again.is_pressed
        door.refresh()
        assert again.is_pressed
    finally:
        again.close()
