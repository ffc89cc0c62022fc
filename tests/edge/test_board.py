"""The board reader over real serial plumbing: a pty and a socket that goes away and returns."""

from __future__ import annotations

import contextlib
import os
import pty
import queue
import tty
from collections.abc import Iterator
from typing import Any

import pytest

from edge.sensors.board import CurrentBoard
from edge.sensors.board_protocol import DataFrame, HelloFrame, format_frame
from edge.sensors.readings import BoardReading
from kywash.clock import FakeClock
from tests.edge.fakes import FrameServer, wait_until


def data(seq: int, *amps: float) -> bytes:
    return format_frame(DataFrame(seq, amps))


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    yield master, path
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


def take(readings: queue.Queue[Any], count: int, timeout: float = 5) -> list[BoardReading]:
    return [readings.get(timeout=timeout) for _ in range(count)]


def test_pty_good_frames_flow_and_damaged_ones_are_counted(pty_pair: tuple[int, str], fake_clock: FakeClock) -> None:
    master, path = pty_pair
    readings: queue.Queue[Any] = queue.Queue()
    with CurrentBoard(path, readings=readings, clock=fake_clock) as board:
        wait_until(lambda: board.health().connected, what="the pty to open")
        os.write(master, format_frame(HelloFrame("1.4.2", 3, 1000)) + data(0, 0.05, 12.4, 0.0) + data(1, 1, 2, 3))
        first = take(readings, 2)
        assert first[0] == BoardReading((0.05, 12.4, 0.0), fake_clock.now(), 0)
        assert first[1].amps == (1.0, 2.0, 3.0)
        corrupt = data(2, 9.99).replace(b"9.99", b"9.98")
        truncated = data(3, 1.0)[:9] + b"\r\n"
        garbage = b"\x00\xff\x13garbage\r\n"
        noise_then_good = b"boot noise " + data(4, 4.0)
        os.write(master, corrupt + truncated + garbage + noise_then_good + data(5, 5.0))
        assert [r.amps for r in take(readings, 2)] == [(4.0,), (5.0,)]
        health = board.health()
    assert health.frames_ok == 4 and health.hellos == 1 and health.firmware == "1.4.2"
    assert health.frames_bad == {"crc_mismatch": 1, "no_checksum": 1, "no_start": 1}
    assert health.seq_gaps == 1 and health.frames_lost == 2  # 2 and 3 never arrived whole
    assert health.last_good_frame_at == fake_clock.now()


def test_overlong_line_is_dropped_without_growing(pty_pair: tuple[int, str], fake_clock: FakeClock) -> None:
    master, path = pty_pair
    readings: queue.Queue[Any] = queue.Queue()
    with CurrentBoard(path, readings=readings, clock=fake_clock) as board:
        wait_until(lambda: board.health().connected, what="the pty to open")
        os.write(master, b"$" + b"9" * 2000 + b"\r\n" + data(10, 0.5))
        assert take(readings, 1)[0].amps == (0.5,)
        assert board.health().frames_bad == {"too_long": 1}


def test_socket_board_that_vanishes_is_reopened(fake_clock: FakeClock) -> None:
    server = FrameServer().listen()
    readings: queue.Queue[Any] = queue.Queue()
    board = CurrentBoard(server.url, readings=readings, clock=fake_clock, reopen_min_s=0.05, reopen_max_s=0.2)
    try:
        board.start()
        server.wait_connected()
        wait_until(lambda: board.health().connected, what="the port to open")  # opening flushes input
        server.send(data(1, 1.0) + data(2, 2.0))
        assert [r.seq for r in take(readings, 2)] == [1, 2]
        server.stop()  # unplugged: the reader sees the socket close, then cannot connect
        wait_until(lambda: board.health().open_failures >= 2, what="failed reopen attempts")
        assert not board.health().connected
        server.listen()  # plugged back in on the same port
        server.wait_connected()
        wait_until(lambda: board.health().connected, what="the port to reopen")
        server.send(data(3, 3.0))
        assert take(readings, 1)[0].amps == (3.0,)
        health = board.health()
        assert health.opens == 2 and health.port_errors >= 1 and health.connected
        assert health.seq_gaps == 0  # sequence tracking restarts with the port
    finally:
        board.close()
        server.stop()


def test_bad_url_never_kills_the_reader(fake_clock: FakeClock) -> None:
    board = CurrentBoard("nosuchscheme://x", readings=queue.Queue(), clock=fake_clock, reopen_min_s=0.01)
    with board:
        wait_until(lambda: board.health().open_failures >= 3, what="repeated open failures")
        assert board.health().last_error
