"""``kywash edge record`` and live calibration, against the board emulator on a pty and a socket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.cli import edge_command
from edge.config import RoomConfig, demo_room_config
from edge.config_toml import write_room_config
from edge.errors import BoardUnavailable, ConfigError
from edge.tools.calibrate import calibrate
from edge.tools.record import channel_samples, record_cycles, record_trace
from edge.tools.trace import load_trace
from firmware_sim.board import BoardEmulator
from kywash.clock import Clock, ScaledClock, SystemClock
from kywash.contract import MachineKind


def room(tmp_path: Path, board_url: str) -> RoomConfig:
    """The demo room (washer-1 on channel 1, washer-2 on channel 2, ...) reading ``board_url``."""
    config = demo_room_config("north", "r1", "mqtt://127.0.0.1:1883", board_url, tmp_path / "data")
    board = config.board.model_copy(update={"reopen_min_s": 0.05, "reopen_max_s": 0.2})
    return config.model_copy(update={"board": board})


@pytest.fixture(params=["pty", "tcp"])
def board(request: pytest.FixtureRequest) -> Iterator[BoardEmulator]:
    emulator = BoardEmulator([lambda t: 0.04, lambda t: 5.0], SystemClock(), transport=request.param, period=0.02)
    emulator.start()  # frames sent before the reader opens the port are dropped, as on a real UART
    yield emulator
    emulator.close()


def test_record_command_writes_the_machines_channel_as_csv(board: BoardEmulator, tmp_path: Path) -> None:
    config = write_room_config(room(tmp_path, board.url), tmp_path / "room.toml")
    out = tmp_path / "trace.csv"
    result = CliRunner().invoke(
        edge_command,
        ["record", "--config", str(config), "--machine", "washer-2", "--out", str(out), "--seconds", "0.4"],
    )
    assert result.exit_code == 0, result.output
    trace = load_trace(out)
    assert out.read_text().startswith("t_s,amps\n")
    assert trace.start == 0.0 and 0.2 < trace.end <= 0.4 and len(trace.times) >= 8
    assert set(trace.amps) == {5.0}
    assert f"samples of washer-2 to {out}" in result.output


def test_record_stops_on_the_stop_event(board: BoardEmulator, tmp_path: Path) -> None:
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    count = record_trace(room(tmp_path, board.url), "washer-1", tmp_path / "t.csv", stop=stop)
    assert count > 3 and set(load_trace(tmp_path / "t.csv").amps) == {0.04}


def test_unknown_machine_or_channel_is_a_config_error(board: BoardEmulator, tmp_path: Path) -> None:
    config = write_room_config(room(tmp_path, board.url), tmp_path / "room.toml")
    result = CliRunner().invoke(edge_command, ["record", "--config", str(config), "--machine", "x", "--out", "o.csv"])
    assert result.exit_code == 2 and "no machine 'x' in the room config; it has washer-1, washer-2" in result.output
    with pytest.raises(ConfigError, match="channel 9 is not on the board: it reports 2 channels"):
        next(channel_samples(room(tmp_path, board.url), 9))


def test_a_board_that_never_answers_is_reported(tmp_path: Path) -> None:
    with pytest.raises(BoardUnavailable, match=r"no readings from the board on socket://127\.0\.0\.1:9 "):
        next(channel_samples(room(tmp_path, "socket://127.0.0.1:9"), 1, no_frames_s=0.4))


def short_cycles(clock: Clock) -> list[object]:
    """A washer that runs ~18 min every 40 min of clock time (quiet, tumbling, spinning)."""
    t0 = clock.now()

    def amps(t: float) -> float:
        x = (t - t0) % 2400
        if x < 120:
            return 0.03
        if x < 1140:
            return 1.1 if x % 14 < 10 else 0.1
        return 3.0 if x < 1200 else 0.03

    return [amps]


def test_record_cycles_stops_after_n_cycles_and_calibrates(tmp_path: Path) -> None:
    clock = ScaledClock(1000)  # the board widens its period to 10 s of clock time
    with BoardEmulator(short_cycles(clock), clock, transport="pty", period=1.0) as emulator:  # type: ignore[arg-type]
        emulator.start()
        trace = record_cycles(room(tmp_path, emulator.url), "washer-1", 1, clock=clock, max_seconds=3 * 3600)
    assert 1200 < trace.end < 2400  # the first cycle and its end, not the next one nor the time limit
    result = calibrate([trace], MachineKind.WASHER)
    assert len(result.cycles) == 1 and result.levels.idle_amps < 0.1 < result.levels.running_amps
