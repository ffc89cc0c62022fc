"""The retry schedule, as a table, and the rules it keeps whatever the jitter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.domain.webhooks.backoff import Backoff

SCHEDULE = Backoff(base=10, cap=3600, give_up_after=86_400)


@pytest.mark.parametrize(
    ("attempts", "jitter", "delay"),
    [
        (1, 0.0, 5),  # half of 10 s at the least jitter...
        (1, 0.5, 7.5),
        (1, 1.0, 10),  # ...all of it at the most
        (2, 1.0, 20),
        (3, 1.0, 40),
        (6, 1.0, 320),
        (9, 1.0, 2560),
        (10, 1.0, 3600),  # 5120 capped
        (10, 0.0, 1800),
        (50, 1.0, 3600),
        (10_000, 1.0, 3600),  # no overflow
    ],
)
def test_delay(attempts: int, jitter: float, delay: float) -> None:
    assert SCHEDULE.delay(attempts, jitter) == delay


@pytest.mark.parametrize(
    ("attempts", "age", "jitter", "wait"),
    [
        (1, 0, 1.0, 10),
        (3, 100, 1.0, 40),
        (20, 86_400 - 3600, 1.0, 3600),  # the last retry still inside the day
        (20, 86_400 - 3599, 1.0, None),  # would land after the day: give up
        (1, 86_400, 0.0, None),
    ],
)
def test_next_attempt_gives_up_after_the_window(attempts: int, age: float, jitter: float, wait: float | None) -> None:
    assert SCHEDULE.next_attempt(attempts, age, jitter) == wait


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        SCHEDULE.delay(0, 0.5)


@given(st.integers(1, 200), st.floats(0, 1), st.floats(0, 1))
def test_waits_grow_and_stay_under_the_cap(attempts: int, jitter: float, other: float) -> None:
    delay = SCHEDULE.delay(attempts, jitter)
    assert SCHEDULE.base / 2 <= delay <= SCHEDULE.cap
    assert SCHEDULE.delay(attempts + 1, 1.0) >= SCHEDULE.delay(attempts, 1.0)
    assert SCHEDULE.delay(attempts, 0.0) <= SCHEDULE.delay(attempts, other) <= SCHEDULE.delay(attempts, 1.0)
