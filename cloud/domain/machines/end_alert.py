"""The alert before the end: a stored deadline on each active claim, kept in step with its
expected end, and fired once.

The deadline is ``claims.alert_at`` (the rule is ``cloud.domain.laundry.end_alert_rule``).
Whatever can move the expected end calls ``schedule``: the sensors moving the machine (a
claim that became active, a state with the edge's revised ``expected_end``), a student
changing their lead time. A claim that finishes or closes drops it (``claims.close``,
``claims._finish``). The timers fire it with a conditional update (``WHERE alert_at =
:seen AND alert_sent_at IS NULL``), so across replicas a claim is alerted at most once.
It lives beside the machines because the expected end is theirs (``cycle_length``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from cloud.domain.laundry.end_alert_rule import alert_due, alert_text, minutes_left
from cloud.domain.laundry.rules import ClaimStatus
from cloud.domain.machines.cycle_length import claim_expected_end
from cloud.domain.machines.usage import RUNNING_STATES
from cloud.domain.notifications.send import notify
from cloud.platform.storage.tables import claims, machines, users
from cloud.platform.unit_of_work import Tx

NOTIFICATION_TYPE = "ending_soon"


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An active claim not yet alerted: its stored deadline and the one its expected end gives now."""

    claim_id: int
    user_id: int
    stored: datetime | None
    due: datetime | None
    expected_end: datetime | None
    lead_minutes: int
    kind: str
    number: int
    machine_id: str


_PENDING = (
    select(
        claims.c.id,
        claims.c.user_id,
        claims.c.category,
        claims.c.started_at,
        claims.c.alert_at,
        users.c.alert_before_min,
        machines.c.kind,
        machines.c.number,
        machines.c.machine_id,
        machines.c.state,
        machines.c.typical_cycle_s,
        machines.c.cycle_started_at,
        machines.c.expected_end,
    )
    .select_from(
        claims.join(users, claims.c.user_id == users.c.id).join(machines, claims.c.machine_pk == machines.c.id)
    )
    .where(claims.c.status == ClaimStatus.ACTIVE.value, claims.c.alert_sent_at.is_(None))
)


def _pending(conn: Connection, where: Any) -> list[PendingAlert]:
    return [_alert(row) for row in conn.execute(_PENDING.where(where))]


def _alert(row: Any) -> PendingAlert:
    in_cycle = row.state in RUNNING_STATES
    started = (row.cycle_started_at if in_cycle else None) or row.started_at
    end = claim_expected_end(
        row.kind,
        ClaimStatus.ACTIVE.value,
        row.category,
        started,
        row.typical_cycle_s,
        row.expected_end if in_cycle else None,
    )
    lead = int(row.alert_before_min or 0)
    due = alert_due(end, lead, started)
    return PendingAlert(row.id, row.user_id, row.alert_at, due, end, lead, row.kind, row.number, row.machine_id)


def _keep(tx: Tx, alert: PendingAlert) -> None:
    """Store the deadline the expected end gives now (none once the end has passed: nothing to warn of)."""
    due = alert.due if alert.expected_end is not None and alert.expected_end > tx.now else None
    if due != alert.stored:
        tx.conn.execute(
            update(claims).where(claims.c.id == alert.claim_id, claims.c.alert_sent_at.is_(None)).values(alert_at=due)
        )


def schedule(tx: Tx, machine_pk: int) -> None:
    """Bring the deadline of the machine's active claim in step with its expected end."""
    for alert in _pending(tx.conn, claims.c.machine_pk == machine_pk):
        _keep(tx, alert)


def schedule_for_user(tx: Tx, user_id: int) -> None:
    """The student changed their lead time: every active claim of theirs follows it."""
    for alert in _pending(tx.conn, claims.c.user_id == user_id):
        _keep(tx, alert)


def due_alerts(conn: Connection, now: datetime, limit: int = 100) -> list[int]:
    query = (
        select(claims.c.id)
        .where(
            claims.c.status == ClaimStatus.ACTIVE.value,
            claims.c.alert_at.is_not(None),
            claims.c.alert_at <= now,
            claims.c.alert_sent_at.is_(None),
        )
        .order_by(claims.c.alert_at)
        .limit(limit)
    )
    return [int(claim_id) for claim_id in conn.execute(query).scalars()]


def fire(tx: Tx, claim_id: int) -> bool:
    """Send the alert if it is still due by the expected end as it stands now; a deadline that
    moved is stored again instead. True if sent (by this replica: the update decides)."""
    found = _pending(tx.conn, claims.c.id == claim_id)
    if not found or found[0].stored is None:
        return False
    alert = found[0]
    if alert.due is None or alert.due > tx.now or alert.expected_end is None or alert.expected_end <= tx.now:
        _keep(tx, alert)
        return False
    won = tx.conn.execute(
        update(claims)
        .where(
            claims.c.id == claim_id,
            claims.c.status == ClaimStatus.ACTIVE.value,
            claims.c.alert_at == alert.stored,
            claims.c.alert_sent_at.is_(None),
        )
        .values(alert_sent_at=tx.now, alert_at=None)
    ).rowcount
    if won != 1:
        return False  # another replica sent it
    minutes = minutes_left(alert.expected_end, tx.now, alert.lead_minutes)
    title, body = alert_text(alert.kind, alert.number, minutes)
    data = {"machine": alert.machine_id, "kind": alert.kind, "number": alert.number, "minutes_left": minutes}
    notify(tx, alert.user_id, NOTIFICATION_TYPE, title, body, data)
    return True
