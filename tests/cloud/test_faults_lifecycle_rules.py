"""The pure rules of a fault report's steps, as a table, and a property: closed stays closed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.domain.faults.lifecycle import ACTIVE, CLOSED, FaultStatus, check_step
from cloud.domain.machines.extras import ACTIVE_FAULT_STATUSES
from cloud.platform.errors import CloudError, Conflict, InvalidInput

OP, A, S = FaultStatus.OPEN, FaultStatus.ACKNOWLEDGED, FaultStatus.SCHEDULED
R, W = FaultStatus.RESOLVED, FaultStatus.WONT_FIX
TODAY = date(2026, 12, 4)
TUESDAY = date(2026, 12, 8)
OK = None


@pytest.mark.parametrize(
    ("current", "target", "eta", "note", "refused"),
    [
        (OP, A, None, None, OK),
        (OP, A, None, "seen it", OK),
        (OP, S, TUESDAY, None, OK),
        (OP, S, TODAY, "this afternoon", OK),
        (OP, R, None, None, OK),
        (OP, W, None, "it works as designed", OK),
        (A, A, None, "still waiting for the part", OK),  # repeated, with a new note
        (A, S, TUESDAY, None, OK),
        (A, R, None, "new seal", OK),
        (S, S, TUESDAY + timedelta(days=3), "moved to Friday", OK),  # repeated, with a new date
        (S, A, None, "the technician cancelled", OK),
        (S, R, None, None, OK),
        (S, W, None, "replaced instead", OK),
        (OP, S, None, None, ("eta_required", InvalidInput)),
        (A, S, None, "soon", ("eta_required", InvalidInput)),
        (OP, S, TODAY - timedelta(days=1), None, ("bad_eta", InvalidInput)),
        (OP, S, TODAY + timedelta(days=400), None, ("bad_eta", InvalidInput)),
        (OP, A, TUESDAY, None, ("bad_eta", InvalidInput)),
        (OP, R, TUESDAY, None, ("bad_eta", InvalidInput)),
        (OP, W, None, None, ("note_required", InvalidInput)),
        (OP, W, None, "   ", ("note_required", InvalidInput)),
        (A, OP, None, None, ("illegal_transition", InvalidInput)),
        (S, OP, None, None, ("illegal_transition", InvalidInput)),
        (OP, OP, None, None, ("illegal_transition", InvalidInput)),
        (R, R, None, None, ("already_resolved", Conflict)),
        (R, A, None, None, ("already_resolved", Conflict)),
        (R, S, TUESDAY, None, ("already_resolved", Conflict)),
        (R, OP, None, None, ("already_resolved", Conflict)),
        (W, R, None, None, ("already_wont_fix", Conflict)),
        (W, S, TUESDAY, None, ("already_wont_fix", Conflict)),
    ],
)
def test_which_step_may_follow_which(
    current: FaultStatus,
    target: FaultStatus,
    eta: date | None,
    note: str | None,
    refused: tuple[str, type[CloudError]] | None,
) -> None:
    if refused is None:
        check_step(current, target, eta=eta, note=note, today=TODAY)
        return
    code, error = refused
    with pytest.raises(error) as raised:
        check_step(current, target, eta=eta, note=note, today=TODAY)
    assert raised.value.code == code
    assert str(raised.value)  # a message a person can read


@given(
    current=st.sampled_from(sorted(CLOSED)),
    target=st.sampled_from(list(FaultStatus)),
    eta=st.none() | st.dates(),
    note=st.none() | st.text(max_size=20),
)
def test_a_closed_report_never_moves(
    current: FaultStatus, target: FaultStatus, eta: date | None, note: str | None
) -> None:
    with pytest.raises(Conflict):
        check_step(current, target, eta=eta, note=note, today=TODAY)


def test_the_machines_count_the_same_reports_as_open_as_the_lifecycle() -> None:
    """``machines.extras`` sits below the faults package, so it keeps its own copy of the set."""
    assert set(ACTIVE_FAULT_STATUSES) == {status.value for status in ACTIVE}
    assert set(FaultStatus) == ACTIVE | CLOSED and not ACTIVE & CLOSED
