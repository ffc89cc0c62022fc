"""How long a machine's cycle usually takes, so a student sees about how long their wash has left.

Every finished cycle the edge reports carries its length (``cycle_seconds``); each machine
keeps a moving average of them (``machines.typical_cycle_s``). A moving average, not a
history table: it is one column read with the machine, so the hot machine list pays
nothing for it, and it follows a machine whose programs change (a new default program, a
hotter dryer) within a few cycles. Until a machine has finished a cycle, its type's usual
length stands in. The estimate is what the original KY Wash showed as "time remaining",
made from what the machine really does instead of a fixed table.

An edge that learned the machine's cycles sends its own ``expected_end`` with every state
(its learned profile plus the claim's extra minutes); when it does, that wins
(``cycle_expected_end``), and this estimate is the fallback.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal

from cloud.domain.laundry.rules import Category
from kywash.contract import MachineKind

WEIGHT: Final = 0.3
"""Share of the newest cycle in the average: about the last five cycles count."""
USUAL_CYCLE_S: Final = {MachineKind.WASHER.value: 45 * 60.0, MachineKind.DRYER.value: 60 * 60.0}
"""A type's usual cycle, until the machine has finished one of its own."""
PLAUSIBLE_S: Final = (60.0, 6 * 3600.0)
"""Cycle lengths outside this range (a test spin, a stuck machine) do not move the average."""


def next_typical(previous_s: float | None, cycle_s: float | None) -> float | None:
    """The machine's typical cycle after one that took ``cycle_s`` seconds."""
    if cycle_s is None or not PLAUSIBLE_S[0] <= cycle_s <= PLAUSIBLE_S[1]:
        return previous_s
    if previous_s is None:
        return cycle_s
    return previous_s + WEIGHT * (cycle_s - previous_s)


def expected_end(
    kind: str, started_at: datetime | None, typical_s: float | None, extra_minutes: int = 0
) -> datetime | None:
    """When a cycle that started at ``started_at`` should end: the machine's typical length
    (or its type's usual one) plus the extra minutes the student asked for."""
    if started_at is None:
        return None
    length = typical_s if typical_s is not None else USUAL_CYCLE_S.get(kind, USUAL_CYCLE_S[MachineKind.WASHER.value])
    return started_at + timedelta(seconds=length, minutes=extra_minutes)


EndSource = Literal["edge", "estimate"]


def extra_minutes(category: str | None) -> int:
    """The extra minutes of a claim's category (0 for none, or one this version does not know)."""
    try:
        return Category(category).extra_minutes if category is not None else 0
    except ValueError:
        return 0


def cycle_expected_end(
    kind: str,
    *,
    edge_end: datetime | None,
    started_at: datetime | None,
    typical_s: float | None,
    extra: int = 0,
) -> tuple[datetime | None, EndSource | None]:
    """When a cycle in progress should end, and whose word it is: the edge's (its learned
    profile) if it sent one, else this module's estimate; ``(None, None)`` when neither the
    edge's end nor the cycle's start is known."""
    if edge_end is not None:
        return edge_end, "edge"
    estimate = expected_end(kind, started_at, typical_s, extra)
    return estimate, None if estimate is None else "estimate"


def claim_expected_end(
    kind: str,
    status: str,
    category: str,
    started_at: datetime | None,
    typical_s: float | None,
    edge_end: datetime | None = None,
) -> datetime | None:
    """``expected_end`` of a claim: only while its cycle runs (``active``); the edge's
    ``edge_end`` (which already holds the claim's extra minutes) when it sent one."""
    if status != "active":
        return None
    return cycle_expected_end(
        kind, edge_end=edge_end, started_at=started_at, typical_s=typical_s, extra=extra_minutes(category)
    )[0]
