"""The cycle detector's properties: whatever arrives, the states and events stay sensible."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.detector import CycleDetector, DetectorSnapshot, Transition
from edge.thresholds import DRYER_THRESHOLDS, WASHER_THRESHOLDS, Thresholds
from kywash.contract import Door, EventType, MachineKind, MachineState

E, S = EventType, MachineState
WASHER, DRYER = MachineKind.WASHER, MachineKind.DRYER

ALLOWED = {
    S.IDLE: {S.IDLE, S.RUNNING, S.DOOR_OPEN, S.SENSOR_FAULT},
    S.DOOR_OPEN: {S.DOOR_OPEN, S.IDLE, S.RUNNING, S.SENSOR_FAULT},
    S.RUNNING: {S.RUNNING, S.PAUSED, S.FINISHED, S.DOOR_OPEN, S.SENSOR_FAULT},
    S.PAUSED: {S.PAUSED, S.RUNNING, S.FINISHED, S.DOOR_OPEN, S.SENSOR_FAULT},
    S.FINISHED: {S.FINISHED, S.RUNNING, S.DOOR_OPEN, S.SENSOR_FAULT},
    S.SENSOR_FAULT: {S.SENSOR_FAULT, S.IDLE, S.RUNNING, S.PAUSED, S.FINISHED, S.DOOR_OPEN},
}
LEVELS = [0.0, 0.02, 0.08, 0.11, 0.13, 0.2, 0.24, 0.26, 0.35, 0.5, 0.9, 1.0, 4.0, 12.0]
op = st.one_of(
    st.tuples(st.just("amps"), st.floats(0, 90), st.sampled_from(LEVELS)),
    st.tuples(st.just("door"), st.floats(0, 600), st.sampled_from([Door.OPEN, Door.CLOSED])),
    st.tuples(st.just("tick"), st.floats(0, 600), st.none()),
    st.tuples(st.just("fault"), st.floats(0, 600), st.none()),
)


def run_ops(
    detector: CycleDetector, ops: list[tuple[str, float, Any]]
) -> list[tuple[Transition, list[tuple[float, float]]]]:
    """Apply ops; return each transition with the current samples seen so far."""
    t = 0.0
    samples: list[tuple[float, float]] = []
    out: list[tuple[Transition, list[tuple[float, float]]]] = []
    for kind, dt, value in ops:
        t += dt
        if kind == "amps":
            samples.append((t, value))
            changes = detector.on_current(t, value)
        elif kind == "door":
            changes = detector.on_door(t, value)
        elif kind == "tick":
            changes = detector.on_tick(t)
        else:
            changes = detector.on_sensor_fault(t)
        out += [(c, list(samples)) for c in changes]
    return out


def check_common(detector: CycleDetector, got: list[tuple[Transition, list[tuple[float, float]]]]) -> None:
    state, in_cycle = S.IDLE, False
    for change, _ in got:
        assert change.state in ALLOWED[state], f"{state} -> {change.state} by {change.type}"
        state = change.state
        if change.type in (E.CYCLE_PAUSED, E.CYCLE_RESUMED, E.CYCLE_FINISHED, E.CYCLE_INTERRUPTED):
            assert in_cycle, f"{change.type} without a cycle_started"
        if change.type is E.CYCLE_STARTED:
            assert not in_cycle
            in_cycle = True
        if change.type in (E.CYCLE_FINISHED, E.CYCLE_INTERRUPTED):
            in_cycle = False
        if change.state is S.DOOR_OPEN:
            assert change.door is Door.OPEN
        if change.state in (S.IDLE, S.FINISHED):
            assert change.door is Door.CLOSED
        if change.type is E.CYCLE_STARTED:
            assert change.current >= detector.thresholds.on_amps
        if change.type is E.CYCLE_FINISHED and change.reason == "door_opened":
            assert state in (S.FINISHED, S.SENSOR_FAULT) and change.door is Door.CLOSED  # next: door_opened
    snap: DetectorSnapshot = detector.snapshot
    assert snap.state is (S.SENSOR_FAULT if snap.fault else snap.cycle_state)


def quiet_since_off_dwell(
    t: float, samples: list[tuple[float, float]], thresholds: Thresholds, dwell: float | None = None
) -> bool:
    """No sample at or above off_amps in force at any time within [t - dwell, t] (default: off_dwell)."""
    start = t - (thresholds.off_dwell_s if dwell is None else dwell)
    in_force_at_start = [a for ts, a in samples if ts <= start][-1:]
    window = [a for ts, a in samples if start < ts <= t]
    return all(a < thresholds.off_amps for a in in_force_at_start + window)


def sustained_before(t: float, samples: list[tuple[float, float]], dwell: float, on: float) -> bool:
    """The sample in force at ``t - dwell`` and every later one up to ``t`` is at or above on_amps."""
    start = t - dwell
    in_force = [a for ts, a in samples if ts <= start][-1:]
    window = [a for ts, a in samples if start < ts <= t]
    return bool(in_force) and all(a >= on for a in in_force + window)


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=120))
def test_washer_properties(ops: list[tuple[str, float, Any]]) -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=0.0)
    got = run_ops(detector, ops)
    check_common(detector, got)
    for change, samples in got:
        if change.type is E.CYCLE_FINISHED and change.reason is None:  # resume_dwell 0: the strict form holds
            assert_quiet_long_enough(change.at, samples, WASHER_THRESHOLDS)


def assert_quiet_long_enough(t: float, samples: list[tuple[float, float]], thresholds: Thresholds) -> None:
    """Quiet for the off dwell, or for the end dwell right after a stretch in the end band."""
    if quiet_since_off_dwell(t, samples, thresholds):
        return
    assert quiet_since_off_dwell(t, samples, thresholds, thresholds.end_dwell_s)
    window = t - thresholds.end_dwell_s - thresholds.end_gap_s
    assert any(thresholds.in_end_band(a) for ts, a in samples if ts >= window), "short wait without an end stretch"


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=120))
def test_dryer_properties(ops: list[tuple[str, float, Any]]) -> None:
    t = DRYER_THRESHOLDS
    detector = CycleDetector(DRYER, t, now=0.0)
    got = run_ops(detector, ops)
    check_common(detector, got)
    last_running = 0.0
    for change, samples in got:
        if change.type is E.CYCLE_FINISHED and change.reason is None:
            assert change.current < t.off_amps
            if change.at - last_running < t.off_dwell_s:  # only right after a cool-down stretch
                assert_quiet_long_enough(change.at, samples, t)
            # else: quiet (but for short pulses) since running
        if change.state is S.RUNNING and change.type in (E.CYCLE_STARTED, E.CYCLE_RESUMED, E.SENSOR_RECOVERED):
            last_running = change.at


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=120))
def test_starts_need_sustained_current(ops: list[tuple[str, float, Any]]) -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=0.0)
    state = S.IDLE
    for change, samples in run_ops(detector, ops):
        if change.type is E.CYCLE_STARTED:
            t = WASHER_THRESHOLDS
            dwell = t.restart_dwell_s if state is S.FINISHED else t.start_dwell_s
            assert sustained_before(change.at, samples, dwell, t.on_amps)
        state = change.state
