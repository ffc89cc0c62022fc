"""The cycle detector's properties: whatever arrives, the states and events stay sensible."""

from __future__ import annotations

import statistics
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.detector import REST_HOLD_S, CycleDetector, DetectorSnapshot, Transition
from edge.thresholds import DRYER_THRESHOLDS, WASHER_THRESHOLDS
from kywash.contract import Door, EventType, MachineKind, MachineState

E, S = EventType, MachineState
WASHER, DRYER = MachineKind.WASHER, MachineKind.DRYER

ALLOWED = {
    S.IDLE: {S.IDLE, S.RUNNING, S.DOOR_OPEN, S.SENSOR_FAULT},
    S.DOOR_OPEN: {S.DOOR_OPEN, S.IDLE, S.RUNNING, S.SENSOR_FAULT},
    S.RUNNING: {S.RUNNING, S.PAUSED, S.ENDING, S.FINISHED, S.DOOR_OPEN, S.SENSOR_FAULT},
    S.PAUSED: {S.PAUSED, S.ENDING, S.RUNNING, S.FINISHED, S.DOOR_OPEN, S.SENSOR_FAULT},
    S.ENDING: {S.ENDING, S.PAUSED, S.RUNNING, S.FINISHED, S.DOOR_OPEN, S.SENSOR_FAULT},
    S.FINISHED: {S.FINISHED, S.RUNNING, S.DOOR_OPEN, S.SENSOR_FAULT},
    S.SENSOR_FAULT: {S.SENSOR_FAULT, S.IDLE, S.RUNNING, S.PAUSED, S.ENDING, S.FINISHED, S.DOOR_OPEN},
}
CYCLE_ONLY = (E.CYCLE_PAUSED, E.CYCLE_ENDING, E.CYCLE_RESUMED, E.CYCLE_FINISHED, E.CYCLE_INTERRUPTED)
STARTS = (E.CYCLE_STARTED, E.CYCLE_CONTINUED)
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
        if change.type in CYCLE_ONLY:
            assert in_cycle, f"{change.type} without a cycle_started"
        if change.type in STARTS:
            assert not in_cycle
            in_cycle = True
        if change.type in (E.CYCLE_FINISHED, E.CYCLE_INTERRUPTED):
            in_cycle = False
        if change.state is S.DOOR_OPEN:
            assert change.door is Door.OPEN
        if change.state in (S.IDLE, S.FINISHED):
            assert change.door is Door.CLOSED
        if change.type is E.CYCLE_FINISHED and change.reason == "door_opened":
            assert state in (S.FINISHED, S.SENSOR_FAULT) and change.door is Door.CLOSED  # next: door_opened
    snap: DetectorSnapshot = detector.snapshot
    assert snap.state is (S.SENSOR_FAULT if snap.fault else snap.cycle_state)


def trailing_median(samples: list[tuple[float, float]], i: int) -> float:
    """What the detector calls the level at sample ``i``: the median of it and the four before."""
    return statistics.median(a for _, a in samples[max(i - 4, 0) : i + 1])


def quiet_for(t: float, samples: list[tuple[float, float]], seconds: float, on: float) -> bool:
    """No sample within ``(t - seconds, t]`` was active (trailing median at or above ``on``)."""
    return all(trailing_median(samples, i) < on for i, (ts, _) in enumerate(samples) if t - seconds < ts <= t)


def active_now_and_since(t: float, samples: list[tuple[float, float]], dwell: float, on: float) -> bool:
    """A sample at or above ``on`` came within a tumble's rest (``REST_HOLD_S``) of ``t``, and one
    at least ``dwell`` before it."""
    recent = any(a >= on for ts, a in samples if t - REST_HOLD_S < ts <= t)
    return recent and any(a >= on for ts, a in samples if ts <= t - dwell)


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=120))
def test_washer_properties(ops: list[tuple[str, float, Any]]) -> None:
    t = WASHER_THRESHOLDS
    detector = CycleDetector(WASHER, t, now=0.0)
    got = run_ops(detector, ops)
    check_common(detector, got)
    for change, samples in got:
        if change.type is E.CYCLE_FINISHED and change.reason is None:  # resume_dwell 0: no pulse is ignored
            assert quiet_for(change.at, samples, t.learned_end_dwell_s, t.on_amps)


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=120))
def test_dryer_properties(ops: list[tuple[str, float, Any]]) -> None:
    t = DRYER_THRESHOLDS
    detector = CycleDetector(DRYER, t, now=0.0)
    got = run_ops(detector, ops)
    check_common(detector, got)
    for change, samples in got:
        if change.type is E.CYCLE_FINISHED and change.reason is None:
            level = trailing_median(samples, len(samples) - 1)
            assert level < t.on_amps, "a dryer is never called finished while its drum turns"


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=120), st.sampled_from([WASHER, DRYER]))
def test_starts_need_sustained_current(ops: list[tuple[str, float, Any]], kind: MachineKind) -> None:
    t = WASHER_THRESHOLDS if kind is WASHER else DRYER_THRESHOLDS
    detector = CycleDetector(kind, t, now=0.0)
    state = S.IDLE
    for change, samples in run_ops(detector, ops):
        if change.type in STARTS:
            dwell = t.restart_dwell_s if state is S.FINISHED else t.start_dwell_s
            assert active_now_and_since(change.at, samples, dwell, t.on_amps)
        state = change.state
