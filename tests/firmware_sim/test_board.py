"""The board emulator over a real pty and a real TCP socket, read with pyserial."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import serial

from firmware_sim.board import BoardEmulator, ChannelReader
from firmware_sim.transports import PtyTransport, TcpTransport
from kywash.clock import FakeClock, ScaledClock
from tests.firmware_sim.kwb_check import Frame, check

TRANSPORTS = ["pty", "tcp"]


def constant(amps: float) -> ChannelReader:
    return lambda t: amps


def read_frames(port: serial.Serial, n: int) -> list[Frame | None]:
    lines = []
    for _ in range(n):
        line = port.readline()
        assert line.endswith(b"\r\n"), f"timed out or partial line: {line!r}"
        lines.append(check(line))
    return lines


@pytest.fixture(params=TRANSPORTS)
def manual_board(request: pytest.FixtureRequest) -> Iterator[tuple[BoardEmulator, serial.Serial, FakeClock]]:
    """A board driven frame by frame (no thread) on a FakeClock, with a reader attached."""
    clock = FakeClock()
    amps = [0.03, 12.5, 0.85]
    with BoardEmulator([constant(a) for a in amps], clock, transport=request.param, seed=1) as board:
        port = serial.serial_for_url(board.url, timeout=1)
        try:
            yield board, port, clock
        finally:
            port.close()


def emit(board: BoardEmulator, clock: FakeClock, n: int = 1) -> None:
    for _ in range(n):
        clock.advance(1.0)
        board.emit_frame()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_frames_arrive_hello_first_with_increasing_seq(transport: str) -> None:
    clock = ScaledClock(speed=50)  # a 1 s period is 20 ms of real time
    board = BoardEmulator([constant(1.5), constant(0.02)], clock, transport=transport)  # type: ignore[arg-type]
    with board, serial.serial_for_url(board.url, timeout=1) as port:
        board.start()
        frames = read_frames(port, 6)
    assert all(f is not None for f in frames)
    hello, *data = [f for f in frames if f is not None]
    assert (hello.kind, hello.fields) == ("H", ["1.4.2-sim", "2", "1000"])
    assert [f.seq for f in data] == [0, 1, 2, 3, 4]
    assert all(f.amps == [1.5, 0.02] for f in data)


def test_hello_every_60_frames_and_period_widens_on_a_fast_clock() -> None:
    clock = ScaledClock(speed=600)  # the 10 ms real-time floor is 6 s of clock time
    with BoardEmulator([lambda t: 0.5], clock, transport="pty") as board:
        assert board.period == pytest.approx(6.0)
        with serial.serial_for_url(board.url, timeout=1) as port:
            board.start()
            began = time.monotonic()
            frames = read_frames(port, 63)
            elapsed = time.monotonic() - began
    kinds = [f.kind if f else "?" for f in frames]
    assert kinds[0] == kinds[61] == "H" and kinds.count("H") == 2 and "?" not in kinds
    assert frames[0] is not None and frames[0].fields[-1] == "6000"
    assert elapsed >= 0.5, "never faster than one frame per 10 ms of real time"


def test_rms_over_a_widened_period_shows_short_pulses() -> None:
    clock = FakeClock()
    pulse = lambda t: 1.0 if (t % 60) < 15 else 0.0  # noqa: E731
    board = BoardEmulator([pulse], clock, period=60.0)  # as a 1 s period widens on a 6000x clock
    try:
        board.emit_frame()
        clock.advance(60.0)
        frame = check(board.emit_frame() or b"")
    finally:
        board.close()
    assert frame is not None and 0.4 <= frame.amps[0] <= 0.6  # sqrt(15/60) = 0.5


def test_corrupt_next_damages_exactly_the_next_frames(
    manual_board: tuple[BoardEmulator, serial.Serial, FakeClock],
) -> None:
    board, port, clock = manual_board
    emit(board, clock)
    board.corrupt_next(2)
    emit(board, clock, 3)
    frames = read_frames(port, 5)
    assert [f is not None for f in frames] == [True, True, False, False, True]
    assert frames[4] is not None and frames[4].seq == 3


def test_truncate_next_and_garbage(manual_board: tuple[BoardEmulator, serial.Serial, FakeClock]) -> None:
    board, port, clock = manual_board
    emit(board, clock)
    board.truncate_next()
    emit(board, clock)
    assert board.inject_garbage(b"\x00\xffboot v1\r\n")
    emit(board, clock)
    lines = [port.readline() for _ in range(5)]
    assert check(lines[0]) is not None and check(lines[1]) is not None  # hello, seq 0
    assert b"*" not in lines[2] and lines[2].startswith(b"$KWB")
    assert lines[3] == b"\x00\xffboot v1\r\n"
    last = check(lines[4])
    assert last is not None and last.seq == 2


def test_truncated_frame_without_line_end_runs_into_the_next(
    manual_board: tuple[BoardEmulator, serial.Serial, FakeClock],
) -> None:
    board, port, clock = manual_board
    emit(board, clock)
    board.truncate_next(keep_line_end=False)
    emit(board, clock, 2)
    lines = [port.readline() for _ in range(3)]
    assert lines[2].count(b"$") == 2 and check(lines[2]) is None


def test_pause_makes_the_board_silent_and_resume_continues(
    manual_board: tuple[BoardEmulator, serial.Serial, FakeClock],
) -> None:
    board, port, clock = manual_board
    emit(board, clock, 2)
    board.pause()
    emit(board, clock, 5)
    port.timeout = 0.3
    assert len(read_frames(port, 3)) == 3
    assert port.read(1000) == b""
    board.resume()
    port.timeout = 1
    emit(board, clock)
    (frame,) = read_frames(port, 1)
    assert frame is not None and frame.seq == 2, "the sequence stood still while silent"


def test_reboot_says_hello_and_restarts_the_sequence(
    manual_board: tuple[BoardEmulator, serial.Serial, FakeClock],
) -> None:
    board, port, clock = manual_board
    emit(board, clock, 3)
    board.reboot()
    emit(board, clock)
    frames = read_frames(port, 6)
    assert [(f.kind, f.seq if f.kind == "D" else None) for f in frames if f] == [
        ("H", None),
        ("D", 0),
        ("D", 1),
        ("D", 2),
        ("H", None),
        ("D", 0),
    ]


def test_pty_without_a_reader_never_blocks() -> None:
    transport = PtyTransport()
    board = BoardEmulator([lambda t: 1.0] * 12, FakeClock(), transport=transport)
    try:
        began = time.monotonic()
        for _ in range(3000):
            board.emit_frame()
        assert time.monotonic() - began < 5
        assert transport.dropped >= 3000
        with serial.serial_for_url(board.url, timeout=0.2) as port:  # a reader that never reads
            for _ in range(3000):
                board.emit_frame()
            assert port.read(10) != b""
        board.emit_frame()  # the reader went away: no crash
    finally:
        board.close()
        board.close()


def test_pty_reader_can_go_away_and_come_back() -> None:
    clock = ScaledClock(speed=100)
    with BoardEmulator([lambda t: 2.0], clock) as board:
        board.start()
        for _ in range(2):
            with serial.serial_for_url(board.url, timeout=1) as port:
                port.readline()  # perhaps a partial line
                assert all(f is not None for f in read_frames(port, 3))
            time.sleep(0.05)
        assert any(t.name == "kywash-sim-board" for t in threading.enumerate())
    assert not any(t.name == "kywash-sim-board" for t in threading.enumerate())


def test_tcp_drops_frames_with_no_client_and_serves_the_newest_client() -> None:
    transport = TcpTransport()
    clock = FakeClock()
    board = BoardEmulator([lambda t: 3.0], clock, transport=transport)
    try:
        assert board.url == f"socket://127.0.0.1:{transport.port}"
        board.emit_frame()
        assert transport.dropped == 2  # the hello and frame 0
        old = serial.serial_for_url(board.url, timeout=1)
        emit(board, clock)
        assert check(old.readline()) is not None
        new = serial.serial_for_url(board.url, timeout=1)
        emit(board, clock)
        (frame,) = read_frames(new, 1)
        assert frame is not None and frame.seq == 2
        new.close()
        emit(board, clock, 3)  # the client hung up: dropped, no crash
        old.close()
    finally:
        board.close()
