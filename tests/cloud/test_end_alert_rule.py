"""The rule of the alert before the end, as tables and with hypothesis: when it is due, what it says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.domain.laundry.end_alert_rule import ALERT_LEADS, alert_due, alert_text, minutes_left
from cloud.domain.notifications.texts import render

T = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("end", "lead", "started", "due"),
    [
        (at(45), 5, at(0), at(40)),
        (at(45), 10, at(0), at(35)),
        (at(45), 0, at(0), None),  # off
        (None, 5, at(0), None),  # no estimate: no alert rather than a guess
        (at(45), 5, None, None),  # not started
        (at(4), 5, at(0), at(0)),  # shorter than the lead: at the start, never before it
        (at(5), 5, at(0), at(0)),
        (at(0), 10, at(0), at(0)),
        (at(-1), 5, at(0), None),  # an end before the start is no estimate
    ],
)
def test_when_the_alert_is_due(end: datetime | None, lead: int, started: datetime | None, due: datetime | None) -> None:
    assert alert_due(end, lead, started) == due


@given(
    start=st.integers(min_value=-10_000, max_value=10_000),
    length=st.integers(min_value=0, max_value=6 * 3600),
    lead=st.sampled_from(ALERT_LEADS),
)
def test_never_after_the_end_never_before_the_start(start: int, length: int, lead: int) -> None:
    started = T + timedelta(seconds=start)
    end = started + timedelta(seconds=length)
    due = alert_due(end, lead, started)
    if lead == 0:
        assert due is None
        return
    assert due is not None and started <= due <= end
    assert due == end - timedelta(minutes=lead) or due == started


@pytest.mark.parametrize(
    ("end", "now", "lead", "left"),
    [
        (at(45), at(40), 5, 5),  # on time
        (at(45), at(40.2), 5, 5),  # a timer round late: still "5", rounded up
        (at(45), at(42), 5, 3),  # chosen late, or a cycle shorter than the lead
        (at(45), at(44.9), 10, 1),  # never "0 minutes"
        (at(45), at(30), 10, 10),  # never more than the lead
    ],
)
def test_the_minutes_it_says_are_left(end: datetime, now: datetime, lead: int, left: int) -> None:
    assert minutes_left(end, now, lead) == left


@pytest.mark.parametrize(
    ("kind", "number", "minutes", "title", "word"),
    [
        ("washer", 3, 5, "5 minutes left on washer 3", "wash"),
        ("dryer", 1, 10, "10 minutes left on dryer 1", "drying"),
        ("dryer", 2, 1, "1 minute left on dryer 2", "drying"),
    ],
)
def test_what_it_says(kind: str, number: int, minutes: int, title: str, word: str) -> None:
    said, body = (render(part) for part in alert_text(kind, number, minutes))
    assert said == title
    assert body.startswith(f"Your {word} in {kind} {number}")
