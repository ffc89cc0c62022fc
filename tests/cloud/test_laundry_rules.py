"""The pure claim and usage rules, as tables and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.domain.laundry.rules import (
    LIVE,
    Category,
    ClaimMove,
    ClaimStatus,
    claim_after_sensors,
    is_free,
    student_may_end,
)
from cloud.domain.machines.usage import Usage, usage_of

P, A, F, E = ClaimStatus.PENDING, ClaimStatus.ACTIVE, ClaimStatus.FINISHED, ClaimStatus.ENDED
SENSOR_STATES = ["idle", "running", "paused", "ending", "finished", "door_open", "sensor_fault", "out_of_service"]


@pytest.mark.parametrize(
    ("claim", "sensor", "before", "expected"),
    [
        (P, "idle", "idle", None),
        (P, "door_open", "idle", None),
        (P, "running", "idle", ClaimMove(A, "started")),
        (P, "paused", "door_open", ClaimMove(A, "started")),
        (P, "finished", "idle", ClaimMove(F, "finished")),
        (P, "sensor_fault", "idle", None),
        (A, "running", "running", None),
        (A, "paused", "running", None),
        (A, "finished", "paused", ClaimMove(F, "finished")),
        (A, "door_open", "running", ClaimMove(E, "interrupted")),
        (A, "idle", None, ClaimMove(E, "interrupted")),
        (A, "door_open", "finished", ClaimMove(E, "unloaded")),
        (A, "sensor_fault", "running", None),
        (P, "ending", "idle", ClaimMove(A, "started")),  # the start was missed: it ran
        (A, "ending", "running", None),  # quiet, maybe done: still running, nobody told anything
        (A, "running", "ending", None),  # not done after all (cycle_resumed)
        (A, "finished", "ending", ClaimMove(F, "finished")),
        (A, "door_open", "ending", ClaimMove(E, "unloaded")),  # a quiet machine opened: its end, not "stopped early"
        (F, "finished", "finished", None),
        (F, "door_open", "finished", ClaimMove(E, "unloaded")),
        (F, "idle", "finished", ClaimMove(E, "unloaded")),
        (F, "running", "finished", ClaimMove(E, "restarted")),
        (E, "running", "idle", None),
        (ClaimStatus.EXPIRED, "running", "idle", None),
    ],
)
def test_claim_follows_the_sensors(claim: ClaimStatus, sensor: str, before: str | None, expected: object) -> None:
    assert claim_after_sensors(claim, sensor, before) == expected


@pytest.mark.parametrize(
    ("claim", "sensor", "before", "same_cycle", "expected"),
    [
        (F, "running", "finished", True, ClaimMove(A, "continued")),  # cycle_continued: not done after all
        (F, "running", "finished", False, ClaimMove(E, "restarted")),  # a new cycle without unloading
        (F, "paused", "finished", True, ClaimMove(A, "continued")),
        (F, "ending", "finished", True, ClaimMove(A, "continued")),
        (F, "ending", "finished", False, ClaimMove(E, "restarted")),
        (F, "door_open", "finished", True, ClaimMove(E, "unloaded")),
        (F, "finished", "finished", True, None),
        (A, "running", "running", True, None),  # already resumed: a repeat changes nothing
        (P, "running", "finished", True, ClaimMove(A, "started")),
        (E, "running", "finished", True, None),
    ],
)
def test_a_finished_claim_resumes_only_for_the_same_cycle(
    claim: ClaimStatus, sensor: str, before: str, same_cycle: bool, expected: object
) -> None:
    assert claim_after_sensors(claim, sensor, before, same_cycle=same_cycle) == expected


@given(
    st.sampled_from(list(ClaimStatus)),
    st.lists(st.tuples(st.sampled_from(SENSOR_STATES), st.booleans()), min_size=1, max_size=30),
)
def test_ending_never_finishes_a_claim_and_every_move_settles(
    start: ClaimStatus, sensed: list[tuple[str, bool]]
) -> None:
    """Only ``finished`` finishes a claim (never ``ending``); a resumed claim stays put when the
    same state (and the same word on the cycle) comes again."""
    claim, before = start, None
    for sensor, same_cycle in sensed:
        move = claim_after_sensors(claim, sensor, before, same_cycle=same_cycle)
        if move is not None:
            assert move.to is not ClaimStatus.FINISHED or sensor == "finished"
            claim = move.to
            assert claim_after_sensors(claim, sensor, sensor, same_cycle=same_cycle) is None
        before = sensor


@given(st.sampled_from(list(ClaimStatus)), st.lists(st.sampled_from(SENSOR_STATES), min_size=1, max_size=30))
def test_rules_never_leave_a_closed_claim_and_settle_on_each_state(start: ClaimStatus, sensed: list[str]) -> None:
    """A closed claim never moves again; reporting the same state twice moves a claim at most once."""
    claim, before = start, None
    for sensor in sensed:
        move = claim_after_sensors(claim, sensor, before)
        if claim not in LIVE:
            assert move is None
        if move is not None:
            claim = move.to
            assert claim_after_sensors(claim, sensor, sensor) is None  # idempotent: a repeat changes nothing
        before = sensor


@given(st.lists(st.sampled_from(["running", "paused", "ending"]), min_size=1, max_size=20))
def test_a_cycle_with_pauses_confirms_once_and_finishes_once(middle: list[str]) -> None:
    claim, before, moves = P, "idle", []
    for sensor in [*middle, "finished", "door_open"]:
        move = claim_after_sensors(claim, sensor, before)
        if move is not None:
            moves.append(move.to)
            claim = move.to
        before = sensor
    assert moves == [A, F, E]


@pytest.mark.parametrize(
    ("claim", "sensor", "allowed"),
    [
        (P, "idle", True),
        (P, None, True),
        (A, "running", False),
        (A, "paused", False),
        (A, "ending", False),  # maybe done, not surely: the sensors do not agree yet
        (A, "finished", True),
        (F, "door_open", True),
        (A, "sensor_fault", False),
        (A, None, False),
    ],
)
def test_a_student_ends_only_when_the_sensors_agree(claim: ClaimStatus, sensor: str | None, allowed: bool) -> None:
    assert student_may_end(claim, sensor) is allowed


@pytest.mark.parametrize(
    ("sensor", "online", "oos", "claim", "held", "usage"),
    [
        ("idle", True, False, None, False, Usage.FREE),
        ("door_open", True, False, None, False, Usage.FREE),
        ("idle", True, False, None, True, Usage.RESERVED),
        ("idle", True, False, "pending", False, Usage.CLAIMED),
        ("running", True, False, "pending", False, Usage.IN_USE),
        ("running", True, False, None, False, Usage.IN_USE),
        ("paused", True, False, "active", False, Usage.IN_USE),
        ("ending", True, False, "active", False, Usage.IN_USE),  # "finishing": in use, not finished, not free
        ("ending", True, False, None, True, Usage.IN_USE),
        ("finished", True, False, "finished", False, Usage.FINISHED),
        ("sensor_fault", True, False, None, False, Usage.UNAVAILABLE),
        ("idle", True, True, None, False, Usage.OUT_OF_SERVICE),
        ("out_of_service", True, False, None, False, Usage.OUT_OF_SERVICE),
        ("idle", False, False, None, False, Usage.UNKNOWN),
        ("running", False, False, "active", False, Usage.UNKNOWN),
        (None, True, False, None, False, Usage.UNKNOWN),
    ],
)
def test_usage_never_contradicts_the_sensors(
    sensor: str | None, online: bool, oos: bool, claim: str | None, held: bool, usage: Usage
) -> None:
    assert usage_of(sensor, room_online=online, out_of_service=oos, claim_status=claim, held=held) is usage


@given(st.sampled_from([*SENSOR_STATES, None]), st.booleans(), st.booleans(), st.booleans())
def test_only_an_empty_machine_of_an_online_room_is_free(
    sensor: str | None, online: bool, oos: bool, claimed: bool
) -> None:
    free = is_free(sensor, room_online=online, out_of_service=oos, has_live_claim=claimed)
    assert free == (online and not oos and not claimed and sensor in ("idle", "door_open"))
    if free:
        assert usage_of(sensor, room_online=online, out_of_service=oos, claim_status=None, held=False) is Usage.FREE


def test_categories_add_minutes() -> None:
    assert [c.extra_minutes for c in Category] == [0, 5, 10, 15]
