"""``edge.tools.replay``: resampling a trace to the board's period, and the trip over a real serial port."""

from __future__ import annotations

import math
import time

import pytest

from edge.thresholds import DEFAULT_THRESHOLDS
from edge.tools.replay import StateChange, board_readings, detect, replay_over_serial
from edge.tools.trace import Trace
from kywash.contract import MachineKind

WASHER = DEFAULT_THRESHOLDS[MachineKind.WASHER]


def square_cycle(rate_hz: float, *, start: float = 0.0) -> Trace:
    """Idle 2 min, 23 min of drum turns (20 s on at 1.5 A, 5 s resting), a 2-minute final spin, idle 15 min."""
    samples = []
    for k in range(int(42 * 60 * rate_hz)):
        t = k / rate_hz
        amps = 1.5 if 120 <= t < 1620 and t % 25 < 20 else (0.1 if 120 <= t < 1620 else 0.02)
        amps = 4.0 if 1500 <= t < 1620 else amps
        samples.append((start + t, amps))
    return Trace.of(samples)


@pytest.mark.parametrize(
    ("trace", "expected"),
    [
        (Trace.of([(k / 10, 3.0) for k in range(31)]), [3.0, 3.0, 3.0, 3.0]),  # 10 Hz: averaged per second
        (Trace.of([(k / 10, 4.0 * (k % 2)) for k in range(21)]), [0.0, round(math.sqrt(8), 2), round(math.sqrt(8), 2)]),
        (Trace.of([(0.0, 1.0), (2.5, 2.0), (5.0, 3.0)]), [1.0, 1.0, 1.0, 2.0, 2.0, 3.0]),  # 0.4 Hz: step-hold
    ],
)
def test_board_readings_resample_any_rate_to_one_per_period(trace: Trace, expected: list[float]) -> None:
    readings = board_readings(trace)
    assert [t for t, _ in readings] == [trace.start + k for k in range(len(expected))]
    assert [a for _, a in readings] == expected


@pytest.mark.parametrize("rate_hz", [0.5, 1.0, 4.0])
def test_serial_replay_reports_what_the_detector_sees_in_trace_time(rate_hz: float) -> None:
    trace = square_cycle(rate_hz, start=1000.0)
    direct = detect(trace, MachineKind.WASHER, WASHER)
    started = time.monotonic()
    over_serial = list(replay_over_serial(trace, MachineKind.WASHER, WASHER))
    assert time.monotonic() - started < 10  # 42 minutes of trace through a pty, flat out
    assert over_serial == direct
    assert direct[0].event == "cycle_started" and direct[-1].event == "cycle_finished"
    assert 1120 <= direct[0].t_s <= 1160  # trace time, not wall-clock time
    assert direct[-1].state == "finished" and direct[-1].t_s > 1000 + 1620


def test_serial_replay_over_tcp_and_at_a_given_speed() -> None:
    trace = Trace.of([(t, 2.0 if 5 <= t < 60 else 0.0) for t in range(0, 90)])
    started = time.monotonic()
    changes = list(replay_over_serial(trace, MachineKind.WASHER, WASHER, transport="tcp", speed=300))
    assert time.monotonic() - started >= 89 / 300 * 0.9
    assert changes[0] == StateChange(15.0, "running", "cycle_started")
    assert changes[0].as_json() == {"t_s": 15.0, "state": "running", "event": "cycle_started"}
