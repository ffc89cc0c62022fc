"""Replaying a recorded current trace (CSV ``t_s,amps``) into the edge's cycle detector.

A technician tunes thresholds and checks a learned profile against what a machine really
drew, so the replay must see exactly what the agent would: the real ``CurrentBoard`` reader
and ``CycleDetector``, fed the way the board feeds them. That is why the simulator's board
emulator is used here (the edge's technician tools are the only part of ``edge`` allowed to
import ``firmware_sim``; the agent on a Pi runs without it).

A trace may have any sample rate; ``board_reader`` resamples it to the board's period,
each reading the RMS of the samples in the period before it, as the board's firmware
measures it, so a 10 Hz smart-plug export and a 1 Hz recording give the same readings.

``replay_over_serial`` sends the KWB/1 frames across a real pty (or TCP socket): it is the
check that framing, sequence numbers and the reader agree with the detector. The emulator
runs on a ``FakeClock`` stepped one period per frame, in lock-step with the reader (a
bounded window of frames in flight), so ``speed=0`` replays an hour in about a second
without ever dropping a frame, and ``speed > 0`` paces it for watching. ``detect`` feeds
the same readings straight into the detector, for plots and tests that need no port.

``replay_session`` plays several recordings as one machine (``edge.tools.learn``): one
detector, so what it learned from A is what it knows in B, the way a room lives them.
Each change is stamped with its file and the seconds from that file's first sample,
because those are the times a technician can find in the CSV.
"""

from __future__ import annotations

import bisect
import math
import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from edge.detector import CycleDetector, Transition
from edge.errors import EdgeError
from edge.sensors.board import CurrentBoard
from edge.sensors.readings import BoardReading
from edge.thresholds import Thresholds
from edge.tools.learn import NEXT_FILE_AFTER_S, Leg, Played, door_break, play
from edge.tools.trace import Trace
from firmware_sim.board import BoardEmulator
from firmware_sim.transports import TransportKind
from kywash.clock import FakeClock
from kywash.contract import MachineKind

BOARD_PERIOD_S = 1.0
"""The board's default sample period (docs/board-protocol.md)."""
WINDOW = 32
"""Frames in flight between the emulator and the reader (a pty buffers far more)."""
FRAME_TIMEOUT_S = 5.0


class ReplayError(EdgeError, RuntimeError):
    """The serial replay lost its way (no reader, or frames that never arrived)."""


def board_times(trace: Trace, period: float = BOARD_PERIOD_S) -> list[float]:
    """When the board takes its readings: every ``period`` from the trace's first sample on."""
    count = math.floor((trace.end - trace.start) / period + 1e-9) + 1
    return [trace.start + k * period for k in range(count)]


def board_reader(trace: Trace, period: float = BOARD_PERIOD_S) -> Callable[[float], float]:
    """Amps the board reads at ``t``: RMS of the samples in ``(t - period, t]`` (else the last one)."""
    times, amps = trace.times, trace.amps

    def read(t: float) -> float:
        hi = bisect.bisect_right(times, t + 1e-9)
        lo = bisect.bisect_right(times, t - period + 1e-9)
        window = amps[lo:hi] or amps[max(hi - 1, 0) : max(hi, 1)]
        return math.sqrt(sum(a * a for a in window) / len(window))

    return read


def board_readings(trace: Trace, period: float = BOARD_PERIOD_S) -> list[tuple[float, float]]:
    """(time, amps) as the board would report them, in its 0.01 A steps."""
    read = board_reader(trace, period)
    return [(t, round(min(read(t), 99.99), 2)) for t in board_times(trace, period)]


@dataclass(frozen=True)
class StateChange:
    """One detected transition, stamped in trace time."""

    t_s: float
    state: str
    event: str
    reason: str | None = None
    cycle_s: float | None = None
    file: str | None = None
    """The recording it belongs to (a session of several; ``t_s`` then counts from its first sample)."""

    @classmethod
    def of(cls, transition: Transition) -> StateChange:
        seconds = None if transition.cycle_seconds is None else round(transition.cycle_seconds, 3)
        return cls(round(transition.at, 3), transition.state.value, transition.type.value, transition.reason, seconds)

    @classmethod
    def played(cls, played: Played) -> StateChange:
        tr = played.transition
        seconds = None if tr.cycle_seconds is None else round(tr.cycle_seconds, 3)
        return cls(played.t_s, tr.state.value, tr.type.value, tr.reason, seconds, played.file)

    def line(self) -> dict[str, Any]:
        """What ``kywash edge replay`` prints: file, t_s, state, event and reason always (cycle_s if any)."""
        out: dict[str, Any] = {"file": self.file, "t_s": self.t_s, "state": self.state, "event": self.event,
                               "reason": self.reason}  # fmt: skip
        if self.cycle_s is not None:
            out["cycle_s"] = self.cycle_s
        return out

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t_s": self.t_s, "state": self.state, "event": self.event}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.cycle_s is not None:
            out["cycle_s"] = self.cycle_s
        return out


def detect(
    trace: Trace, kind: MachineKind, thresholds: Thresholds, *, period: float = BOARD_PERIOD_S
) -> list[StateChange]:
    """The detector's state changes for the trace, without the serial port (same readings)."""
    detector = CycleDetector(kind, thresholds, now=trace.start)
    changes: list[StateChange] = []
    for t, amps in board_readings(trace, period):
        changes += [StateChange.of(tr) for tr in detector.on_current(t, amps)]
    return changes


def replay_over_serial(
    trace: Trace,
    kind: MachineKind,
    thresholds: Thresholds,
    *,
    speed: float = 0.0,
    period: float = BOARD_PERIOD_S,
    transport: TransportKind = "pty",
) -> Iterator[StateChange]:
    """Play the trace through the board emulator, a serial port and the edge's reader.

    Yields each state change as the detector makes it. ``speed`` 0 runs flat out.
    """
    detector = CycleDetector(kind, thresholds, now=trace.start)
    for transition in serial_transitions(trace, detector, speed=speed, period=period, transport=transport):
        yield StateChange.of(transition)


def replay_session(
    detector: CycleDetector, session: list[Leg], *, serial: bool, speed: float = 0.0,
    period: float = BOARD_PERIOD_S, transport: TransportKind = "pty",
) -> Iterator[StateChange]:  # fmt: skip
    """Play the legs (``edge.tools.learn.legs``) one after another into one detector."""
    if not serial:
        for played in play(detector, session, lambda trace: board_readings(trace, period)):
            yield StateChange.played(played)
        return
    for leg in session:
        for transition in serial_transitions(
            leg.trace, detector, offset=leg.offset, speed=speed, period=period, transport=transport
        ):
            yield StateChange.played(Played(leg.name, round(transition.at - leg.start, 3), transition))
        for played in door_break(detector, leg):
            yield StateChange.played(played)
        if speed > 0 and not leg.last:
            time.sleep(NEXT_FILE_AFTER_S / speed)


def serial_transitions(
    trace: Trace, detector: CycleDetector, *, offset: float = 0.0, speed: float = 0.0,
    period: float = BOARD_PERIOD_S, transport: TransportKind = "pty",
) -> Iterator[Transition]:  # fmt: skip
    """The trace over the serial port into ``detector``, at detector time = trace time + ``offset``."""
    times = board_times(trace, period)
    if len(times) > 65536:  # the frame sequence number wraps there (18 h at 1 s)
        raise ReplayError("traces longer than 65536 board periods are not supported; split them")
    clock = FakeClock(start=trace.start)
    readings: queue.Queue[Any] = queue.Queue()
    with (
        BoardEmulator([board_reader(trace, period)], clock, transport=transport, period=period) as board,
        CurrentBoard(board.url, readings=readings, clock=clock, reopen_min_s=0.05, reopen_max_s=0.2) as reader,
    ):
        _wait_connected(reader)
        real_start = time.monotonic()
        received = 0
        for sent, t in enumerate(times, start=1):
            if speed > 0:
                time.sleep(max(0.0, real_start + (t - trace.start) / speed - time.monotonic()))
            clock.advance(t - clock.now())
            board.emit_frame()
            while sent - received > WINDOW or (sent == len(times) and received < sent):
                reading = _next_reading(readings)
                received += 1
                yield from detector.on_current(trace.start + offset + reading.seq * period, reading.amps[0])


def _wait_connected(reader: CurrentBoard) -> None:
    deadline = time.monotonic() + FRAME_TIMEOUT_S
    while not reader.health().connected:
        if time.monotonic() > deadline:
            raise ReplayError(f"the board reader could not open {reader.url}: {reader.health().last_error}")
        time.sleep(0.005)


def _next_reading(readings: queue.Queue[Any]) -> BoardReading:
    try:
        reading: BoardReading = readings.get(timeout=FRAME_TIMEOUT_S)
    except queue.Empty:
        raise ReplayError("a board frame never reached the reader (dropped on the serial port?)") from None
    return reading
