"""Automatic faults from the detector: current with the door open, a cycle that never ends."""

from __future__ import annotations

from edge.detector import CycleDetector, Transition
from edge.thresholds import DRYER_THRESHOLDS, WASHER_THRESHOLDS
from kywash.contract import Door, EventType, MachineKind, MachineState

E, S = EventType, MachineState
WASHER, DRYER = MachineKind.WASHER, MachineKind.DRYER


def feed(detector: CycleDetector, start: float, end: float, amps: float, step: float = 1.0) -> list[Transition]:
    out: list[Transition] = []
    t = start
    while t < end:
        out += detector.on_current(t, amps)
        t += step
    return out


def faults(got: list[Transition]) -> list[tuple[float, str | None, MachineState]]:
    return [(t.at, t.reason, t.state) for t in got if t.type is E.FAULT_DETECTED]


def test_current_with_the_door_open_is_a_fault_once_per_episode() -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=0.0)
    got = detector.on_door(0.0, Door.OPEN)
    got += feed(detector, 0, 600, 2.0)
    assert faults(got) == [(60.0, "current_with_door_open", S.DOOR_OPEN)]
    assert all(t.type is not E.CYCLE_STARTED for t in got), "nothing starts with the door open"
    # Short rests (a tumble's rhythm) do not end the episode; a quiet minute does.
    got = feed(detector, 600, 630, 0.02) + feed(detector, 630, 700, 2.0)
    assert faults(got) == []
    got = feed(detector, 700, 800, 0.02) + feed(detector, 800, 900, 2.0)
    assert faults(got) == [(860.0, "current_with_door_open", S.DOOR_OPEN)]


def test_closing_the_door_ends_the_episode_and_the_cycle_starts() -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=0.0)
    detector.on_door(0.0, Door.OPEN)
    got = feed(detector, 0, 30, 2.0) + detector.on_door(30.0, Door.CLOSED) + feed(detector, 30, 200, 2.0)
    assert faults(got) == []
    assert [t.type for t in got] == [E.DOOR_CLOSED, E.CYCLE_STARTED]


def test_opening_a_running_dryer_stops_it_without_a_fault() -> None:
    detector = CycleDetector(DRYER, DRYER_THRESHOLDS, now=0.0)
    got = feed(detector, 0, 600, 15.0)
    got += detector.on_door(600.0, Door.OPEN)
    got += feed(detector, 600, 602, 15.0)  # the drum coasts for a moment
    got += feed(detector, 602, 1200, 0.02)
    assert [t.type for t in got] == [E.CYCLE_STARTED, E.CYCLE_INTERRUPTED]


def test_a_cycle_longer_than_its_maximum_is_a_fault_once() -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=0.0)
    got = feed(detector, 0, 6 * 3600, 1.0, step=5.0)
    assert [t.type for t in got] == [E.CYCLE_STARTED, E.FAULT_DETECTED]
    fault = got[1]
    assert fault.reason == "cycle_too_long" and fault.state is S.RUNNING
    assert fault.at == WASHER_THRESHOLDS.max_cycle_s
    assert fault.cycle_seconds == WASHER_THRESHOLDS.max_cycle_s
    # The cycle still ends normally; the next one gets its own check.
    got = feed(detector, 6 * 3600, 7 * 3600, 0.02, step=5.0)
    assert [t.type for t in got] == [E.CYCLE_PAUSED, E.CYCLE_FINISHED]


def test_a_paused_cycle_counts_towards_its_maximum_and_ticks_report_it() -> None:
    thresholds = DRYER_THRESHOLDS.model_copy(update={"max_cycle_s": 1800.0, "off_dwell_s": 3600.0})
    detector = CycleDetector(DRYER, thresholds, now=0.0)
    feed(detector, 0, 1000, 15.0, step=5.0)
    feed(detector, 1000, 1200, 0.1, step=5.0)
    assert detector.state is S.PAUSED
    assert detector.on_tick(1799.0) == []
    got = detector.on_tick(1800.0)
    assert faults(got) == [(1800.0, "cycle_too_long", S.PAUSED)]


def test_zero_turns_the_checks_off() -> None:
    thresholds = WASHER_THRESHOLDS.model_copy(update={"max_cycle_s": 0.0, "door_fault_dwell_s": 0.0})
    detector = CycleDetector(WASHER, thresholds, now=0.0)
    got = feed(detector, 0, 6 * 3600, 1.0, step=10.0)
    got += detector.on_door(6 * 3600.0, Door.OPEN) + feed(detector, 6 * 3600, 7 * 3600, 2.0, step=10.0)
    assert faults(got) == []


def test_sensor_fault_forgets_the_door_draw_count() -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=0.0)
    detector.on_door(0.0, Door.OPEN)
    feed(detector, 0, 50, 2.0)
    detector.on_sensor_fault(50.0)
    got = feed(detector, 120, 170, 2.0)
    assert faults(got) == []
    got = feed(detector, 170, 190, 2.0)
    assert faults(got) == [(180.0, "current_with_door_open", S.DOOR_OPEN)]
