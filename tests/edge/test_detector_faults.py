"""Faults from the detector: current with the door open, a cycle that never ends, a silent sensor.

Scenarios as in ``test_detector``: 1 Hz samples from t = 0, and the exact events,
(at, type, state, cycle_seconds, reason).
"""

from __future__ import annotations

from typing import Any

import pytest
from _pytest.mark.structures import ParameterSet

from edge.detector import CycleDetector
from edge.thresholds import DEFAULT_THRESHOLDS, DRYER_THRESHOLDS, WASHER_THRESHOLDS
from kywash.contract import Door, EventType, MachineKind, MachineState
from tests.edge.fakes import Observed, Player, Step, door, ev, observed, silence, steady, tick

E, S = EventType, MachineState
WASHER, DRYER = MachineKind.WASHER, MachineKind.DRYER
DOOR_FAULT = "current_with_door_open"
TOO_LONG = "cycle_too_long"


def case(
    name: str,
    kind: MachineKind,
    script: list[Step],
    expected: list[Observed],
    *,
    bug: str | None = None,
    **thresholds: Any,
) -> ParameterSet:
    """``thresholds``: changes to the kind's defaults."""
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(kind, thresholds, script, expected, id=name, marks=marks)


CASES = [
    case(
        "activity with the door open for 60 s is a fault, once per episode; only a quiet minute ends the episode",
        WASHER,
        [
            door("open"),
            steady(2.0, 600),  # active at once (the first sample): fault 60 s later
            steady(0.02, 30) + steady(2.0, 70),  # a short rest: the same episode
            steady(0.02, 100) + steady(2.0, 100),  # a quiet minute and more: active again from 802
        ],
        [
            ev(0, E.DOOR_OPENED, S.DOOR_OPEN),
            ev(60, E.FAULT_DETECTED, S.DOOR_OPEN, None, DOOR_FAULT),
            ev(862, E.FAULT_DETECTED, S.DOOR_OPEN, None, DOOR_FAULT),
        ],
    ),
    case(
        "closing the door ends the episode and the cycle starts at once",
        WASHER,
        [door("open"), steady(2.0, 30), door("closed"), steady(2.0, 170)],
        [ev(0, E.DOOR_OPENED, S.DOOR_OPEN), ev(30, E.DOOR_CLOSED, S.IDLE), ev(30, E.CYCLE_STARTED, S.RUNNING)],
    ),
    case(
        "opening a running dryer interrupts it without a fault (the drum coasts for a moment)",
        DRYER,
        [steady(15.0, 600), door("open"), steady(15.0, 2) + steady(0.02, 600)],
        [ev(90, E.CYCLE_STARTED, S.RUNNING), ev(600, E.CYCLE_INTERRUPTED, S.DOOR_OPEN, 600, "door_opened")],
    ),
    case(
        "a running cycle longer than max_cycle_s (washer 5 h) is a fault once, and still ends by the rules",
        WASHER,
        [steady(1.0, 18100) + steady(0.02, 1600)],  # Q = 18100
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(18000, E.FAULT_DETECTED, S.RUNNING, 18000, TOO_LONG),
            ev(18160, E.CYCLE_ENDING, S.ENDING),
            ev(19600, E.CYCLE_FINISHED, S.FINISHED, 18100),
        ],
    ),
    case(
        "each cycle gets its own max_cycle_s check",
        WASHER,
        [steady(1.0, 1300) + steady(0.02, 1600), door("open"), door("closed"), steady(1.0, 1300)],  # door at 2900
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1200, E.FAULT_DETECTED, S.RUNNING, 1200, TOO_LONG),
            ev(1360, E.CYCLE_ENDING, S.ENDING),
            ev(2800, E.CYCLE_FINISHED, S.FINISHED, 1300),
            ev(2900, E.DOOR_OPENED, S.DOOR_OPEN),
            ev(2900, E.DOOR_CLOSED, S.IDLE),
            ev(2910, E.CYCLE_STARTED, S.RUNNING),
            ev(4100, E.FAULT_DETECTED, S.RUNNING, 1200, TOO_LONG),
        ],
        max_cycle_s=1200.0,
    ),
    case(
        "a paused cycle counts towards max_cycle_s, and a tick reports it",
        DRYER,
        [steady(15.0, 300) + steady(0.1, 100), tick(1799), tick(1800), tick(2400)],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(360, E.CYCLE_PAUSED, S.PAUSED),
            ev(1800, E.FAULT_DETECTED, S.PAUSED, 1800, TOO_LONG),
        ],
        max_cycle_s=1800.0,
        off_dwell_s=3600.0,
    ),
    case(
        "an ending cycle counts towards max_cycle_s, and a tick reports it",
        DRYER,
        [steady(15.0, 1200) + steady(0.1, 100), tick(1799), tick(1800)],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(1260, E.CYCLE_ENDING, S.ENDING),
            ev(1800, E.FAULT_DETECTED, S.ENDING, 1800, TOO_LONG),
        ],
        max_cycle_s=1800.0,
        off_dwell_s=3600.0,
    ),
    case(
        "a continued cycle is the same cycle: cycle_too_long is not reported again",
        WASHER,
        [steady(1.0, 1300) + steady(0.02, 1600) + steady(1.0, 120)],  # draw again from 2900
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1200, E.FAULT_DETECTED, S.RUNNING, 1200, TOO_LONG),
            ev(1360, E.CYCLE_ENDING, S.ENDING),
            ev(2800, E.CYCLE_FINISHED, S.FINISHED, 1300),
            ev(2990, E.CYCLE_CONTINUED, S.RUNNING, 2990, "current_after_finished"),
        ],
        max_cycle_s=1200.0,
    ),
    case(
        "zero turns both checks off",
        WASHER,
        [steady(1.0, 18100), door("open"), steady(2.0, 300)],
        [ev(10, E.CYCLE_STARTED, S.RUNNING), ev(18100, E.CYCLE_INTERRUPTED, S.DOOR_OPEN, 18100, "door_opened")],
        max_cycle_s=0.0,
        door_fault_dwell_s=0.0,
    ),
    case(
        "a sensor fault forgets the door draw count: the fault comes 60 s after the recovery",
        WASHER,
        [door("open"), steady(2.0, 50), silence(70, sensor_fault="no_current_reading"), steady(2.0, 70)],
        [
            ev(0, E.DOOR_OPENED, S.DOOR_OPEN),
            ev(50, E.SENSOR_FAULT, S.SENSOR_FAULT, None, "no_current_reading"),
            ev(120, E.SENSOR_RECOVERED, S.DOOR_OPEN),
            ev(180, E.FAULT_DETECTED, S.DOOR_OPEN, None, DOOR_FAULT),
        ],
    ),
    case(
        "after a sensor fault an ending dryer's quiet count starts afresh at the recovery",
        DRYER,
        [steady(3.5, 1200) + steady(0.1, 300), silence(200, sensor_fault="board_silent"), steady(0.1, 1200)],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(1260, E.CYCLE_ENDING, S.ENDING),
            ev(1500, E.SENSOR_FAULT, S.SENSOR_FAULT, None, "board_silent"),
            ev(1700, E.SENSOR_RECOVERED, S.ENDING),
            ev(2780, E.CYCLE_FINISHED, S.FINISHED, 1700),
        ],
    ),
]


@pytest.mark.parametrize(("kind", "changes", "script", "expected"), CASES)
def test_fault_scenarios(
    kind: MachineKind, changes: dict[str, Any], script: list[Step], expected: list[Observed]
) -> None:
    thresholds = DEFAULT_THRESHOLDS[kind].model_copy(update=changes)
    got = Player(CycleDetector(kind, thresholds, now=0.0)).play(*script)
    assert observed(got) == expected


def test_sensor_fault_overlays_the_cycle_state_and_recovers() -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=0.0)
    player = Player(detector)
    player.play(steady(5.0, 300))
    assert detector.state is S.RUNNING
    fault = detector.on_sensor_fault(400.0, "board_silent")
    assert observed(fault) == [ev(400, E.SENSOR_FAULT, S.SENSOR_FAULT, None, "board_silent")]
    assert detector.snapshot.cycle_state is S.RUNNING
    assert detector.on_sensor_fault(500.0) == []  # already silent
    assert detector.on_tick(2000.0) == []  # no evidence, no conclusions
    door_open = detector.on_door(2100.0, Door.OPEN)  # the door switch still works
    assert observed(door_open) == [ev(2100, E.CYCLE_INTERRUPTED, S.SENSOR_FAULT, 2100, "door_opened")]
    detector.on_door(2200.0, Door.CLOSED)
    back = detector.on_current(2300.0, 0.0)
    assert observed(back) == [ev(2300, E.SENSOR_RECOVERED, S.IDLE)]
    assert detector.snapshot.since == 2200.0  # idle since the door closed


def test_a_sensor_fault_survives_a_snapshot() -> None:
    detector = CycleDetector(DRYER, DRYER_THRESHOLDS, now=0.0)
    Player(detector).play(steady(3.5, 600))
    detector.on_sensor_fault(600.0)
    snap = detector.snapshot
    assert (snap.state, snap.since, snap.cycle_state, snap.fault) == (
        S.SENSOR_FAULT,
        600,
        S.RUNNING,
        "no_current_reading",
    )
    restored = CycleDetector(DRYER, DRYER_THRESHOLDS, now=700.0, restore=snap)
    assert restored.state is S.SENSOR_FAULT
    assert observed(restored.on_current(700.0, 3.5)) == [ev(700, E.SENSOR_RECOVERED, S.RUNNING)]
