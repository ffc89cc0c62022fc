"""``edge.tools.learn``: recordings chained into one machine's timeline, as a room would live them."""

from __future__ import annotations

from edge.thresholds import DEFAULT_THRESHOLDS
from edge.tools.learn import NEXT_FILE_AFTER_S, learn, legs
from edge.tools.trace import Trace
from kywash.contract import MachineKind

WASHER = DEFAULT_THRESHOLDS[MachineKind.WASHER]


def washer(minutes: int = 30, *, tail_s: int = 300, idle_s: int = 120) -> Trace:
    """Idle, drum turns (20 s at 1.5 A, 5 s resting), a 2-minute final spin at 4 A, then standby."""
    amps = [0.02] * idle_s + [1.5 if k % 25 < 20 else 0.1 for k in range(minutes * 60)] + [4.0] * 120
    amps += [0.02] * tail_s
    return Trace.of((float(t), a) for t, a in enumerate(amps))


def test_sessions_chain_the_files_a_minute_apart_and_end_when_asked() -> None:
    a, b = washer(20), Trace.of([(1000.0 + t, 0.02) for t in range(100)])
    first, second = legs([("a", a), ("b", b)], end_at=2_000_000_000.0)
    assert second.end == 2_000_000_000.0 and second.start - first.end == NEXT_FILE_AFTER_S
    assert not first.last and second.last
    detector, played = learn([("a", a)], MachineKind.WASHER, WASHER)
    assert detector.learned.learned == 1 and [p.transition.type.value for p in played][-1] == "cycle_finished"
