"""The pure login throttle: lock after N failures, doubling locks with a cap, and forgiveness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.domain.accounts.throttle import Admission, Limits, ThrottleRow, admit, settle
from cloud.platform.settings import CloudSettings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNT = Limits(max_failures=5, first_lock=timedelta(minutes=1), max_lock=timedelta(minutes=60))
ADDRESS = Limits(
    max_failures=3,
    first_lock=timedelta(minutes=1),
    max_lock=timedelta(minutes=60),
    leak_window=timedelta(minutes=60),
    forgive_on_success=False,
)


def attempt(row: ThrottleRow | None, now: datetime, limits: Limits, *, ok: bool) -> tuple[ThrottleRow, Admission]:
    """One attempt from admission to outcome (the row is unchanged if it was refused)."""
    admission = admit(row, now, limits)
    if not admission.admitted:
        return admission.row, admission
    return settle(admission.row, now, limits, succeeded=ok), admission


def fail_until_locked(row: ThrottleRow | None, now: datetime, limits: Limits) -> ThrottleRow:
    for _ in range(limits.max_failures):
        row, admission = attempt(row, now, limits, ok=False)
        assert admission.admitted
    assert row is not None
    return row


def test_limits_come_from_settings() -> None:
    configured = CloudSettings(login_max_failures=4, login_lock_minutes=2, login_lock_max_minutes=30)
    account, address = Limits.for_account(configured), Limits.for_address(configured)
    assert (account.max_failures, account.first_lock, account.max_lock) == (
        4,
        timedelta(minutes=2),
        timedelta(minutes=30),
    )
    assert account.forgive_on_success and account.leak_window is None
    assert address.max_failures == configured.address_max_failures == 20
    assert not address.forgive_on_success and address.leak_window == timedelta(minutes=30)


def test_the_fifth_failure_locks_for_the_first_lock_length() -> None:
    row = None
    for _ in range(4):
        row, admission = attempt(row, T0, ACCOUNT, ok=False)
        assert admission.admitted
    assert row is not None and row.locked_until is None and row.failures == 4
    row, admission = attempt(row, T0, ACCOUNT, ok=False)
    assert admission.admitted
    assert row.locked_until == T0 + timedelta(minutes=1)
    assert row.retry_after(T0 + timedelta(seconds=20)) == timedelta(seconds=40)


def test_while_locked_nothing_is_admitted_not_even_the_right_pin() -> None:
    row = fail_until_locked(None, T0, ACCOUNT)
    still, refused = attempt(row, T0 + timedelta(seconds=59), ACCOUNT, ok=True)
    assert not refused.admitted and refused.retry_after == timedelta(seconds=1)
    assert still == row
    _, admitted = attempt(row, T0 + timedelta(seconds=60), ACCOUNT, ok=True)
    assert admitted.admitted


def test_each_further_lock_doubles_up_to_the_cap() -> None:
    row: ThrottleRow | None = None
    now, lengths = T0, []
    for _ in range(9):
        row = fail_until_locked(row, now, ACCOUNT)
        assert row.locked_until is not None
        lengths.append((row.locked_until - now) / timedelta(minutes=1))
        now = row.locked_until
    assert lengths == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_success_clears_failures_but_keeps_the_lock_level() -> None:
    row = fail_until_locked(None, T0, ACCOUNT)
    now = T0 + timedelta(minutes=1)
    for _ in range(4):
        row, _ = attempt(row, now, ACCOUNT, ok=False)
    row, _ = attempt(row, now, ACCOUNT, ok=True)
    assert (row.failures, row.lockouts) == (0, 1)
    row = fail_until_locked(row, now, ACCOUNT)
    assert row.locked_until == now + timedelta(minutes=2)


def test_the_lock_level_is_forgiven_a_longest_lock_after_the_last_lock_ended() -> None:
    row = fail_until_locked(None, T0, ACCOUNT)
    assert row.locked_until is not None
    almost = row.locked_until + timedelta(minutes=60) - timedelta(seconds=1)
    assert fail_until_locked(row, almost, ACCOUNT).locked_until == almost + timedelta(minutes=2)
    later = row.locked_until + timedelta(minutes=60)
    assert fail_until_locked(row, later, ACCOUNT).locked_until == later + timedelta(minutes=1)


def test_attempts_in_flight_count_before_their_outcome_is_known() -> None:
    """A burst of parallel guesses cannot all slip in before the first one fails."""
    row: ThrottleRow | None = None
    admitted = []
    for _ in range(12):
        admission = admit(row, T0, ACCOUNT)
        row = admission.row
        admitted.append(admission.admitted)
    assert admitted == [True] * 5 + [False] * 7
    assert row is not None and row.locked_until == T0 + timedelta(minutes=1)


def test_an_address_success_gives_back_only_its_own_attempt() -> None:
    row, _ = attempt(None, T0, ADDRESS, ok=False)
    row, _ = attempt(row, T0, ADDRESS, ok=False)
    row, _ = attempt(row, T0, ADDRESS, ok=True)
    assert row.failures == 2
    row, _ = attempt(row, T0, ADDRESS, ok=False)
    assert row.locked_until == T0 + timedelta(minutes=1)


def test_address_failures_drain_with_time() -> None:
    row, _ = attempt(None, T0, ADDRESS, ok=False)
    row, _ = attempt(row, T0, ADDRESS, ok=False)
    # One failure drains every 60 / 3 = 20 minutes.
    row, _ = attempt(row, T0 + timedelta(minutes=20), ADDRESS, ok=False)
    assert (row.failures, row.locked_until) == (2, None)
    row, _ = attempt(row, T0 + timedelta(minutes=21), ADDRESS, ok=False)
    assert row.locked_until == T0 + timedelta(minutes=22)


def test_an_account_remembers_failures_however_far_apart() -> None:
    row = None
    for day in range(5):
        row, _ = attempt(row, T0 + timedelta(days=day), ACCOUNT, ok=False)
    assert row is not None and row.lockouts == 1


# --- properties ---------------------------------------------------------------------------------


@dataclass
class Step:
    wait_s: float
    action: str  # "admit", "fail" or "succeed" (settle the oldest attempt in flight)


steps = st.lists(
    st.builds(
        Step,
        wait_s=st.one_of(st.just(0.0), st.floats(0, 120), st.floats(0, 3 * 3600)),
        action=st.sampled_from(["admit", "admit", "fail", "succeed"]),
    ),
    max_size=120,
)
limits_strategy = st.builds(
    Limits,
    max_failures=st.integers(1, 6),
    first_lock=st.integers(1, 600).map(lambda s: timedelta(seconds=s)),
    max_lock=st.integers(1, 7200).map(lambda s: timedelta(seconds=s)),
    leak_window=st.none() | st.integers(60, 7200).map(lambda s: timedelta(seconds=s)),
    forgive_on_success=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(limits=limits_strategy, script=steps)
def test_locks_hold_double_and_stay_capped(limits: Limits, script: list[Step]) -> None:
    row: ThrottleRow | None = None
    now = T0
    in_flight = 0
    last_lock: tuple[datetime, timedelta] | None = None  # (when it ends, how long it was)
    for step in script:
        now += timedelta(seconds=step.wait_s)
        before = row
        if step.action == "admit":
            admission = admit(row, now, limits)
            row = admission.row
            if before is not None and before.retry_after(now) is not None:
                assert not admission.admitted, "admitted while locked"
                assert admission.retry_after == before.retry_after(now)
            if admission.admitted:
                in_flight += 1
                assert row.failures <= limits.max_failures
            else:
                assert admission.retry_after is not None and admission.retry_after > timedelta(0)
        elif in_flight and row is not None:
            in_flight -= 1
            row = settle(row, now, limits, succeeded=step.action == "succeed")
        if (
            row is not None
            and row.locked_until is not None
            and (before is None or before.locked_until != row.locked_until)
        ):
            length = row.locked_until - now
            assert min(limits.first_lock, limits.max_lock) <= length <= limits.max_lock
            if last_lock is None:
                assert length == min(limits.first_lock, limits.max_lock)
            elif now < last_lock[0] + limits.max_lock:  # not yet forgiven: the lock doubles, up to the cap
                assert length == min(2 * last_lock[1], limits.max_lock), "a lock did not double"
            last_lock = (row.locked_until, length)
