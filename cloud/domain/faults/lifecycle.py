"""The steps a fault report goes through, and which step may follow which (pure rules).

A report is ``open`` when made; staff then say they have seen it (``acknowledged``), when
it will be repaired (``scheduled``, with the expected repair date ``eta``), and finally
that it is ``resolved`` or will not be fixed (``wont_fix``, with a reason). Students see
each step, so the rules keep the story honest: a closed report stays closed (a new
problem is a new report), a schedule always has a date, and a date that is already past
or absurdly far away is refused rather than shown to students as a promise.
Acknowledging or scheduling again is allowed: a new note, a moved date.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from cloud.platform.errors import Conflict, InvalidInput
from cloud.platform.texts import text


class FaultStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SCHEDULED = "scheduled"
    RESOLVED = "resolved"
    WONT_FIX = "wont_fix"


ACTIVE: Final = frozenset({FaultStatus.OPEN, FaultStatus.ACKNOWLEDGED, FaultStatus.SCHEDULED})
"""Still a repair to do: counted as open on the machine and listed among the room's repairs."""
CLOSED: Final = frozenset({FaultStatus.RESOLVED, FaultStatus.WONT_FIX})
ACTIVE_VALUES: Final = tuple(sorted(status.value for status in ACTIVE))
"""For SQL ``IN`` clauses."""

STEPS: Final = frozenset(FaultStatus) - {FaultStatus.OPEN}
"""What staff may set: a report is only ever opened by being made."""
MAX_ETA_AHEAD: Final = timedelta(days=366)


def check_step(current: FaultStatus, target: FaultStatus, *, eta: date | None, note: str | None, today: date) -> None:
    """Raise if ``current`` may not become ``target`` with this ``eta`` and ``note``.

    ``Conflict`` (``already_resolved`` / ``already_wont_fix``) for a closed report;
    ``InvalidInput`` for a step that does not exist, a schedule without a date, a date with
    another step, a date before ``today`` or more than a year ahead, or a ``wont_fix``
    without a note (students deserve the reason).
    """
    if current in CLOSED:
        raise Conflict(text(f"error.fault.already_{current.value}"), code=f"already_{current}")
    if target not in STEPS:
        raise InvalidInput(text("error.fault.illegal_transition", status=target.value), code="illegal_transition")
    if target is FaultStatus.SCHEDULED:
        if eta is None:
            raise InvalidInput(text("error.fault.eta_required"), code="eta_required")
        if eta < today:
            raise InvalidInput(text("error.fault.eta_past", eta=eta.isoformat()), code="bad_eta")
        if eta > today + MAX_ETA_AHEAD:
            raise InvalidInput(text("error.fault.eta_far", eta=eta.isoformat()), code="bad_eta")
    elif eta is not None:
        raise InvalidInput(text("error.fault.eta_unscheduled"), code="bad_eta")
    if target is FaultStatus.WONT_FIX and not (note and note.strip()):
        raise InvalidInput(text("error.fault.note_required"), code="note_required")
