"""The cycle detector: table-driven scenarios from real machines, and properties that always hold."""

from __future__ import annotations

import queue
from collections.abc import Iterable
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from edge.detector import CycleDetector, Transition
from edge.sensors.door import DoorSwitch
from edge.thresholds import DRYER_THRESHOLDS, WASHER_THRESHOLDS
from kywash.clock import FakeClock
from kywash.contract import Door, EventType, MachineKind, MachineState

E, S = EventType, MachineState
WASHER, DRYER = MachineKind.WASHER, MachineKind.DRYER
STEP = 5.0  # seconds between current samples in the scenarios (a board sends one a second)

# A script is a list of steps: ("amps", start, end, amps) samples every STEP seconds in
# [start, end); ("door", t, "open"|"closed"); ("tick", t).
Step = tuple[Any, ...]


def play(detector: CycleDetector, script: Iterable[Step]) -> list[Transition]:
    out: list[Transition] = []
    for step in script:
        if step[0] == "amps":
            _, start, end, amps = step
            t = float(start)
            while t < end:
                out += detector.on_current(t, amps)
                t += STEP
        elif step[0] == "door":
            out += detector.on_door(float(step[1]), Door(step[2]))
        else:
            out += detector.on_tick(float(step[1]))
    return out


def minutes(m: float) -> float:
    return m * 60


CASES: list[tuple[str, MachineKind, list[Step], list[tuple[float, EventType, MachineState]]]] = [
    (
        "blip shorter than start dwell is nothing",
        WASHER,
        [("amps", 0, 60, 0.02), ("amps", 60, 65, 3.0), ("amps", 65, 300, 0.02)],
        [],
    ),
    (
        "between thresholds never starts (hysteresis)",
        WASHER,
        [("amps", 0, 600, 0.2)],
        [],
    ),
    (
        "plain washer cycle without a final spin waits the off dwell",
        WASHER,
        [("amps", 0, 10, 0.0), ("amps", 10, 1810, 1.2), ("amps", 1810, 2400, 0.03)],
        [(20, E.CYCLE_STARTED, S.RUNNING), (1870, E.CYCLE_PAUSED, S.PAUSED), (2290, E.CYCLE_FINISHED, S.FINISHED)],
    ),
    (
        "washer ending with its final spin: finished 40 s after the drum stops",
        WASHER,
        [("amps", 0, 1500, 1.0), ("amps", 1500, 1800, 3.0), ("amps", 1800, 2400, 0.03)],
        [(10, E.CYCLE_STARTED, S.RUNNING), (1840, E.CYCLE_FINISHED, S.FINISHED)],
    ),
    (
        "a spin shorter than end_min_s does not shorten the wait",
        WASHER,
        [("amps", 0, 1500, 1.0), ("amps", 1500, 1550, 3.0), ("amps", 1550, 2400, 0.03)],
        [(10, E.CYCLE_STARTED, S.RUNNING), (1610, E.CYCLE_PAUSED, S.PAUSED), (2030, E.CYCLE_FINISHED, S.FINISHED)],
    ),
    (
        "quiet that begins long after the spin (a tumble came between) is a soak",
        WASHER,
        [
            ("amps", 0, 1500, 1.0),
            ("amps", 1500, 1800, 3.0),
            ("amps", 1800, 1900, 1.0),
            ("amps", 1900, 2200, 0.03),
            ("amps", 2200, 2500, 1.0),
        ],
        [(10, E.CYCLE_STARTED, S.RUNNING), (1960, E.CYCLE_PAUSED, S.PAUSED), (2200, E.CYCLE_RESUMED, S.RUNNING)],
    ),
    (
        "dryer cool-down tumble then quiet: finished 40 s later, pulses start nothing",
        DRYER,
        [
            ("amps", 0, minutes(40), 15.0),
            ("amps", minutes(40), minutes(45), 0.9),
            ("amps", minutes(45), minutes(49), 0.05),
            ("amps", minutes(49), minutes(49) + 20, 0.95),
            ("amps", minutes(49) + 20, minutes(60), 0.05),
        ],
        [(30, E.CYCLE_STARTED, S.RUNNING), (minutes(45) + 40, E.CYCLE_FINISHED, S.FINISHED)],
    ),
    (
        "dryer thermostat dip (motor only for 2 min) then a drum stop is a pause",
        DRYER,
        [
            ("amps", 0, minutes(20), 15.0),
            ("amps", minutes(20), minutes(22), 0.9),
            ("amps", minutes(22), minutes(25), 0.15),
            ("amps", minutes(25), minutes(40), 15.0),
        ],
        [
            (30, E.CYCLE_STARTED, S.RUNNING),
            (minutes(23), E.CYCLE_PAUSED, S.PAUSED),
            (minutes(26), E.CYCLE_RESUMED, S.RUNNING),
        ],
    ),
    (
        "washer soak: 4 minutes at standby mid-cycle pauses, not finishes",
        WASHER,
        [
            ("amps", 0, minutes(20), 1.2),
            ("amps", minutes(20), minutes(24), 0.05),
            ("amps", minutes(24), minutes(40), 12.0),
            ("amps", minutes(40), minutes(50), 0.05),
        ],
        [
            (10, E.CYCLE_STARTED, S.RUNNING),
            (minutes(21), E.CYCLE_PAUSED, S.PAUSED),
            (minutes(24), E.CYCLE_RESUMED, S.RUNNING),
            (minutes(41), E.CYCLE_PAUSED, S.PAUSED),
            (minutes(48), E.CYCLE_FINISHED, S.FINISHED),
        ],
    ),
    (
        "washer idling at 40-100 W between heating bursts stays running",
        WASHER,
        [("amps", 0, 300, 12.0), ("amps", 300, 1500, 0.2), ("amps", 1500, 1800, 12.0)],
        [(10, E.CYCLE_STARTED, S.RUNNING)],
    ),
    (
        "door opened mid-cycle interrupts it",
        WASHER,
        [("amps", 0, 600, 2.0), ("door", 600, "open"), ("amps", 600, 700, 0.0), ("door", 700, "closed")],
        [
            (10, E.CYCLE_STARTED, S.RUNNING),
            (600, E.CYCLE_INTERRUPTED, S.DOOR_OPEN),
            (700, E.DOOR_CLOSED, S.IDLE),
        ],
    ),
    (
        "door opened while paused: the program had ended",
        DRYER,
        [("amps", 0, 1200, 8.0), ("amps", 1200, 1300, 0.1), ("door", 1300, "open")],
        [
            (30, E.CYCLE_STARTED, S.RUNNING),
            (1260, E.CYCLE_PAUSED, S.PAUSED),
            (1300, E.CYCLE_FINISHED, S.FINISHED),
            (1300, E.DOOR_OPENED, S.DOOR_OPEN),
        ],
    ),
    (
        "door opened seconds after the drum stopped: finished, not interrupted",
        DRYER,
        [("amps", 0, 1200, 8.0), ("amps", 1200, 1220, 0.1), ("door", 1220, "open")],
        [(30, E.CYCLE_STARTED, S.RUNNING), (1220, E.CYCLE_FINISHED, S.FINISHED), (1220, E.DOOR_OPENED, S.DOOR_OPEN)],
    ),
    (
        "washer pre-soak: 17 quiet minutes after 6 busy ones is a soak, not the end",
        WASHER,
        [
            ("amps", 0, minutes(6), 1.0),
            ("amps", minutes(6), minutes(23), 0.03),
            ("amps", minutes(23), minutes(70), 1.2),
            ("amps", minutes(70), minutes(80), 0.03),
        ],
        [
            (10, E.CYCLE_STARTED, S.RUNNING),
            (minutes(7), E.CYCLE_PAUSED, S.PAUSED),
            (minutes(23), E.CYCLE_RESUMED, S.RUNNING),
            (minutes(71), E.CYCLE_PAUSED, S.PAUSED),
            (minutes(78), E.CYCLE_FINISHED, S.FINISHED),
        ],
    ),
    (
        "washer stopped after 5 minutes: the end waits for the soak dwell, or the door",
        WASHER,
        [("amps", 0, minutes(5), 1.0), ("amps", minutes(5), minutes(40), 0.03), ("door", minutes(40), "open")],
        [
            (10, E.CYCLE_STARTED, S.RUNNING),
            (minutes(6), E.CYCLE_PAUSED, S.PAUSED),
            (minutes(30), E.CYCLE_FINISHED, S.FINISHED),
            (minutes(40), E.DOOR_OPENED, S.DOOR_OPEN),
        ],
    ),
    (
        "washer cancelled early and unloaded: the door ends it at once",
        WASHER,
        [("amps", 0, minutes(5), 1.0), ("amps", minutes(5), minutes(8), 0.03), ("door", minutes(8), "open")],
        [
            (10, E.CYCLE_STARTED, S.RUNNING),
            (minutes(6), E.CYCLE_PAUSED, S.PAUSED),
            (minutes(8), E.CYCLE_FINISHED, S.FINISHED),
            (minutes(8), E.DOOR_OPENED, S.DOOR_OPEN),
        ],
    ),
    (
        "no cycle starts with the door open; it starts once the door shuts",
        WASHER,
        [("door", 0, "open"), ("amps", 0, 60, 2.0), ("door", 60, "closed"), ("amps", 60, 70, 2.0)],
        [(0, E.DOOR_OPENED, S.DOOR_OPEN), (60, E.DOOR_CLOSED, S.IDLE), (60, E.CYCLE_STARTED, S.RUNNING)],
    ),
    (
        "door open and close while idle",
        DRYER,
        [("door", 5, "open"), ("door", 30, "closed"), ("door", 30, "closed")],
        [(5, E.DOOR_OPENED, S.DOOR_OPEN), (30, E.DOOR_CLOSED, S.IDLE)],
    ),
    (
        "finished, unloaded, next cycle",
        WASHER,
        [
            ("amps", 0, 1200, 1.0),
            ("amps", 1200, 1800, 0.0),
            ("door", 1900, "open"),
            ("door", 1960, "closed"),
            ("amps", 2000, 2100, 2.0),
        ],
        [
            (10, E.CYCLE_STARTED, S.RUNNING),
            (1260, E.CYCLE_PAUSED, S.PAUSED),
            (1680, E.CYCLE_FINISHED, S.FINISHED),
            (1900, E.DOOR_OPENED, S.DOOR_OPEN),
            (1960, E.DOOR_CLOSED, S.IDLE),
            (2010, E.CYCLE_STARTED, S.RUNNING),
        ],
    ),
    (
        "ticks confirm the end without new samples",
        WASHER,
        [("amps", 0, 1200, 1.0), ("amps", 1200, 1205, 0.0), *[("tick", t) for t in (1259, 1260, 1679, 1680)]],
        [(10, E.CYCLE_STARTED, S.RUNNING), (1260, E.CYCLE_PAUSED, S.PAUSED), (1680, E.CYCLE_FINISHED, S.FINISHED)],
    ),
    (
        "dryer anti-wrinkle pulses after finished start nothing",
        DRYER,
        [
            ("amps", 0, minutes(60), 10.0),
            ("amps", minutes(60), minutes(66), 0.1),
            *[
                step
                for k in range(12)  # 20 s at 1 A every 4 minutes for 48 minutes
                for step in (
                    ("amps", minutes(66 + 4 * k), minutes(66 + 4 * k) + 20, 1.0),
                    ("amps", minutes(66 + 4 * k) + 20, minutes(70 + 4 * k), 0.1),
                )
            ],
        ],
        [
            (30, E.CYCLE_STARTED, S.RUNNING),
            (minutes(61), E.CYCLE_PAUSED, S.PAUSED),
            (minutes(65), E.CYCLE_FINISHED, S.FINISHED),
        ],
    ),
    (
        "dryer anti-wrinkle pulses once paused do not delay finished",
        DRYER,
        [
            ("amps", 0, minutes(60), 10.0),
            ("amps", minutes(60), minutes(62), 0.1),
            *[
                step
                for k in range(6)  # 15 s at 1.1 A every 2 minutes from minute 62
                for step in (
                    ("amps", minutes(62 + 2 * k), minutes(62 + 2 * k) + 15, 1.1),
                    ("amps", minutes(62 + 2 * k) + 15, minutes(64 + 2 * k), 0.1),
                )
            ],
        ],
        [
            (30, E.CYCLE_STARTED, S.RUNNING),
            (minutes(61), E.CYCLE_PAUSED, S.PAUSED),
            (minutes(65), E.CYCLE_FINISHED, S.FINISHED),  # 300 s after the heat stopped, pulses or not
        ],
    ),
    (
        "a pulse before the pause is confirmed counts as activity",
        DRYER,
        [
            ("amps", 0, minutes(60), 10.0),
            ("amps", minutes(60), minutes(61), 0.1),
            ("amps", minutes(61), 3675, 1.1),
            ("amps", 3675, minutes(70), 0.1),
        ],
        [(30, E.CYCLE_STARTED, S.RUNNING), (3735, E.CYCLE_PAUSED, S.PAUSED), (3975, E.CYCLE_FINISHED, S.FINISHED)],
    ),
    (
        "dryer mid-cycle dip then heat again resumes after the resume dwell",
        DRYER,
        [("amps", 0, 1800, 15.0), ("amps", 1800, 1980, 0.15), ("amps", 1980, 3000, 15.0)],
        [(30, E.CYCLE_STARTED, S.RUNNING), (1860, E.CYCLE_PAUSED, S.PAUSED), (2040, E.CYCLE_RESUMED, S.RUNNING)],
    ),
    (
        "a real new dryer cycle without opening the door needs the restart dwell",
        DRYER,
        [("amps", 0, 1800, 15.0), ("amps", 1800, 2200, 0.1), ("amps", 2200, 2500, 15.0)],
        [
            (30, E.CYCLE_STARTED, S.RUNNING),
            (1860, E.CYCLE_PAUSED, S.PAUSED),
            (2100, E.CYCLE_FINISHED, S.FINISHED),
            (2380, E.CYCLE_STARTED, S.RUNNING),
        ],
    ),
]


@pytest.mark.parametrize(("kind", "script", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_scenarios(
    kind: MachineKind, script: list[Step], expected: list[tuple[float, EventType, MachineState]]
) -> None:
    thresholds = WASHER_THRESHOLDS if kind is WASHER else DRYER_THRESHOLDS
    got = play(CycleDetector(kind, thresholds, now=0.0), script)
    assert [(t.at, t.type, t.state) for t in got] == expected


def test_cycle_seconds_and_reasons() -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=0.0)
    got = play(detector, [("amps", 0, 1800, 2.0), ("amps", 1800, 2400, 0.0)])
    finished = got[-1]
    assert finished.type is E.CYCLE_FINISHED and finished.cycle_seconds == 1800  # first high to first quiet
    got = play(detector, [("amps", 2400, 2500, 3.0)])
    assert got[-1].type is E.CYCLE_STARTED and got[-1].reason == "restarted_door_closed"
    interrupted = play(detector, [("door", 2600, "open")])[0]
    assert interrupted.type is E.CYCLE_INTERRUPTED
    assert interrupted.reason == "door_opened" and interrupted.cycle_seconds == 200
    assert interrupted.current == 3.0 and interrupted.door is Door.OPEN


def test_sensor_fault_overlays_and_recovers() -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=0.0)
    play(detector, [("amps", 0, 300, 5.0)])
    assert detector.state is S.RUNNING
    fault = detector.on_sensor_fault(400.0, "board_silent")
    assert [(t.type, t.state, t.reason) for t in fault] == [(E.SENSOR_FAULT, S.SENSOR_FAULT, "board_silent")]
    assert detector.on_sensor_fault(500.0) == []
    assert detector.on_tick(2000.0) == []  # no evidence, no conclusions
    door = detector.on_door(2100.0, Door.OPEN)  # the door switch still works
    assert [(t.type, t.state) for t in door] == [(E.CYCLE_INTERRUPTED, S.SENSOR_FAULT)]
    detector.on_door(2200.0, Door.CLOSED)
    back = detector.on_current(2300.0, 0.0)
    assert [(t.type, t.state) for t in back] == [(E.SENSOR_RECOVERED, S.IDLE)]
    assert detector.snapshot.since == 2200.0  # idle since the door closed


def test_snapshot_restores_the_detector() -> None:
    detector = CycleDetector(DRYER, DRYER_THRESHOLDS, now=0.0)
    play(detector, [("amps", 0, 600, 9.0), ("amps", 600, 700, 0.1)])
    snap = detector.snapshot
    assert snap.state is S.PAUSED and snap.cycle_started_at == 0.0
    restored = CycleDetector(DRYER, DRYER_THRESHOLDS, now=800.0, restore=snap)
    assert restored.snapshot == snap
    got = play(restored, [("amps", 800, 1200, 0.1)])
    # What happened while the agent was down is unknown: the off count restarts at the restore.
    assert [(t.at, t.type) for t in got] == [(1100.0, E.CYCLE_FINISHED)]
    assert got[0].cycle_seconds == 800


def test_time_never_runs_backwards() -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=100.0)
    assert detector.on_current(200.0, 3.0) == []
    assert detector.on_current(150.0, 3.0) == []  # an older sample from another thread counts as "now"
    assert detector.on_current(205.0, 3.0) == []
    started = detector.on_current(210.0, 3.0)
    assert [(t.type, t.at) for t in started] == [(E.CYCLE_STARTED, 210.0)]
    assert detector.on_door(190.0, Door.OPEN)[0].at == 210.0


def test_bouncing_door_through_the_switch(mock_factory: MockFactory) -> None:
    """Contact bounce on the real pin path yields exactly one door_opened and one door_closed."""
    clock = FakeClock()
    edges: queue.Queue[Any] = queue.Queue()
    pin = mock_factory.pin(5)
    switch = DoorSwitch(
        "washer-1", 5, edges=edges, clock=clock, debounce_s=0.03, pin_factory=mock_factory, monotonic=clock.now
    )
    pin.drive_low()
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=clock.now(), door=switch.resync())
    got: list[Transition] = []

    def pump() -> None:
        while not edges.empty():
            edge = edges.get_nowait()
            if (door := switch.on_edge(edge)) is not None:
                got.extend(detector.on_door(edge.ts, door))
        if (door := switch.tick(clock.now())) is not None:
            got.extend(detector.on_door(clock.now(), door))

    for levels in (["high", "low", "high", "low", "high"], ["low", "high", "low", "high", "low"]):
        for level in levels:
            getattr(pin, f"drive_{level}")()
            clock.advance(0.002)
            pump()
        clock.advance(1.0)
        pump()
    switch.close()
    assert [(t.type, t.state) for t in got] == [(E.DOOR_OPENED, S.DOOR_OPEN), (E.DOOR_CLOSED, S.IDLE)]
