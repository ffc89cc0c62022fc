"""The whole simulated room, read the way the edge reads it: mock pins and a serial URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import serial
from gpiozero import DigitalInputDevice
from gpiozero.pins.mock import MockFactory

from firmware_sim.errors import BadRoomLayoutError, UnknownMachineError
from firmware_sim.room import RoomSimulator, SimMachineSpec, demo_machines
from kywash.clock import FakeClock, ScaledClock
from tests.firmware_sim.kwb_check import Frame, check

EVENING = 1_767_225_600.0 + 18 * 3600  # 18:00 UTC


def sim_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("kywash-sim")]


def next_data_frame(port: serial.Serial) -> Frame:
    for _ in range(200):
        frame = check(port.readline())
        if frame is not None and frame.kind == "D":
            return frame
    raise AssertionError("no data frame")


@pytest.fixture
def buttons(mock_factory: MockFactory) -> Iterator[dict[str, DigitalInputDevice]]:
    """The edge's door inputs, created before the room starts, as the edge agent does.

    Pulled-up inputs like the edge's buttons, without a Button's hold thread (whose
    close() takes 0.1 s each): active = pin LOW = door closed.
    """
    made = {s.id: DigitalInputDevice(s.door_pin, pull_up=True, pin_factory=mock_factory) for s in demo_machines()}
    yield made
    for b in made.values():
        b.close()


def test_demo_machines_layout() -> None:
    specs = demo_machines()
    assert [(s.id, s.door_pin, s.channel) for s in specs[:6]] == [
        (f"washer-{i + 1}", pin, i + 1) for i, pin in enumerate((5, 6, 12, 13, 16, 17))
    ]
    assert [(s.id, s.door_pin, s.channel) for s in specs[6:]] == [
        (f"dryer-{i + 1}", pin, i + 7) for i, pin in enumerate((19, 20, 21, 22, 23, 24))
    ]
    assert [s.channel for s in demo_machines(2, 3)] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([], "at least one"),
        ([SimMachineSpec("w", "washer", 5, 1), SimMachineSpec("w", "dryer", 6, 2)], "duplicate id"),
        ([SimMachineSpec("a", "washer", 5, 1), SimMachineSpec("b", "dryer", 5, 2)], "duplicate door pin"),
        ([SimMachineSpec("a", "washer", 5, 1), SimMachineSpec("b", "dryer", 6, 1)], "duplicate channel"),
        ([SimMachineSpec("a", "oven", 5, 1)], "unknown kind"),
        ([SimMachineSpec("a", "washer", 5, 33)], "channel 33"),
    ],
)
def test_impossible_rooms_are_refused(mock_factory: MockFactory, specs: list[SimMachineSpec], message: str) -> None:
    with pytest.raises(BadRoomLayoutError, match=message):
        RoomSimulator(specs, ScaledClock(), mock_factory)


def test_students_start_and_finish_cycles_on_a_fast_clock(
    mock_factory: MockFactory, buttons: dict[str, DigitalInputDevice]
) -> None:
    clock = ScaledClock(speed=600, start=EVENING)
    room = RoomSimulator(demo_machines(), clock, mock_factory, seed=4, student_rate_per_hour=30)
    try:
        assert room.serial_url.startswith("/dev/"), "readable before start()"
        assert not any(b.is_active for b in buttons.values())
        with serial.serial_for_url(room.serial_url, timeout=1) as port:
            room.start()
            room.start()  # once only
            assert all(b.is_active for b in buttons.values()), "every door starts closed"
            first = check(port.readline())
            assert first is not None and first.kind == "H" and first.fields[1] == "12"
            assert len(next_data_frame(port).amps) == 12
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline and not any(g.what == "cycle_finished" for g in room.ground_truth):
            time.sleep(0.1)
        whats = {g.what for g in room.ground_truth}
        assert {"door_opened", "door_closed", "cycle_started", "cycle_finished"} <= whats
    finally:
        room.close()
        room.close()
    assert sim_threads() == []
    for machine, button in buttons.items():
        assert button.is_active is not room.door_is_open(machine), f"{machine}: pin follows the door"


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_manual_control_and_forced_current(
    mock_factory: MockFactory, buttons: dict[str, DigitalInputDevice], transport: str
) -> None:
    clock = ScaledClock(speed=60)
    room = RoomSimulator(
        demo_machines(),
        clock,
        mock_factory,
        students=False,
        serial=transport,  # type: ignore[arg-type]
        door_bounce=False,
    )
    with room, serial.serial_for_url(room.serial_url, timeout=1) as port:
        room.start()
        assert room.open_door("washer-1") and not buttons["washer-1"].is_active
        assert not room.open_door("washer-1")
        assert not room.start_cycle("washer-1"), "door open"
        assert room.close_door("washer-1") and buttons["washer-1"].is_active
        assert room.start_cycle("washer-1", "quick")
        assert room.machine_state("washer-1") == "running"
        assert not room.open_door("washer-1"), "locked while running"
        assert buttons["washer-1"].is_active

        assert room.start_cycle("dryer-2", "normal", extra_minutes=15)
        assert room.open_door("dryer-2") and room.machine_state("dryer-2") == "idle"

        room.set_current("washer-2", 7.5)
        port.reset_input_buffer()
        next_data_frame(port)
        assert next_data_frame(port).amps[1] == 7.5
        room.set_current("washer-2", None)
        next_data_frame(port)
        assert next_data_frame(port).amps[1] < 0.1
        with pytest.raises(ValueError, match="amps"):
            room.set_current("washer-2", -1.0)

    truth = [(g.machine, g.what, g.detail) for g in room.ground_truth]
    assert truth == [
        ("washer-1", "door_opened", None),
        ("washer-1", "door_closed", None),
        ("washer-1", "cycle_started", "quick"),
        ("dryer-2", "cycle_started", "normal+15min"),
        ("dryer-2", "door_opened", None),
        ("dryer-2", "cycle_interrupted", "door opened"),
    ]
    assert sim_threads() == []


def test_unknown_machine(mock_factory: MockFactory) -> None:
    with RoomSimulator(demo_machines(1, 1), ScaledClock(), mock_factory, students=False) as room:
        with pytest.raises(UnknownMachineError, match="washer-9"):
            room.open_door("washer-9")
        with pytest.raises(KeyError):
            room.machine_state("dryer-7")


def test_a_fake_clock_room_moves_only_when_ticked(
    mock_factory: MockFactory, buttons: dict[str, DigitalInputDevice]
) -> None:
    clock = FakeClock(EVENING)
    with RoomSimulator(demo_machines(), clock, mock_factory, seed=2, student_rate_per_hour=20) as room:
        with serial.serial_for_url(room.serial_url, timeout=1) as port:
            room.start(threads=False)
            assert sim_threads() == []
            assert all(b.is_active for b in buttons.values())
            room.tick()
            assert [check(port.readline()) is not None for _ in range(2)] == [True, True]
            seqs = []
            for _ in range(3 * 60):  # three hours, a minute at a time
                clock.advance(60)
                room.tick()
                seqs.append(next_data_frame(port).seq)
        assert seqs == list(range(1, 3 * 60 + 1))
        truth = room.ground_truth
        assert {"cycle_started", "cycle_finished"} <= {g.what for g in truth}
        assert max(g.ts for g in truth) <= clock.now()
