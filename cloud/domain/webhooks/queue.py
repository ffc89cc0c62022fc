"""The durable delivery queue: rows in ``webhook_deliveries``.

``enqueue_webhooks`` is called inside the transaction that made the change, so a delivery
exists exactly when the change committed (nothing is sent for one rolled back). A sender
takes a due row for one attempt with a conditional update that sets a lease
(``WHERE leased_until IS NULL OR leased_until < now``): with several replicas on one
database each attempt is made by exactly one of them. A sender that dies mid-attempt
leaves the lease to run out, and the row is tried again (with the same ``webhook-id``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from cloud.domain.webhooks.events import EVENTS
from cloud.platform.storage.tables import webhook_deliveries, webhooks
from cloud.platform.unit_of_work import Tx
from kywash.clock import iso

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
MAX_ERROR_LENGTH = 300


def enqueue_webhooks(tx: Tx, event: str, *, site: str, data: dict[str, Any], text: str) -> int:
    """Queue ``event`` for every webhook that wants it (``site`` None on a webhook: all sites).

    ``data`` is the event's JSON object; ``text`` a readable line that a Slack or Discord
    channel webhook shows as it is ("Washer 3 in hall-a/laundry-1 finished"). Returns how
    many deliveries were queued. Raises ``ValueError`` for an event name not in ``EVENTS``
    (a bug in the caller, not bad input).
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    targets = [webhook_id for webhook_id, events in _subscribers(tx, site) if event in events]
    if not targets:
        return 0
    body = json.dumps(
        {"type": event, "timestamp": iso(tx.now), "data": {"site": site, **data}, "text": text},
        separators=(",", ":"),
    )
    tx.conn.execute(
        webhook_deliveries.insert(),
        [
            {
                "webhook_id": webhook_id,
                "message_id": f"msg_{uuid.uuid4().hex}",
                "event": event,
                "body": body,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": tx.now,
                "created_at": tx.now,
            }
            for webhook_id in targets
        ],
    )
    tx.changes.webhooks += len(targets)
    return len(targets)


def _subscribers(tx: Tx, site: str) -> list[tuple[int, frozenset[str]]]:
    """The webhooks that want events of ``site``, read once per transaction (a batch of ingested
    events asks for every transition)."""
    key = ("webhooks.subscribers", site)
    if key not in tx.memo:
        rows = tx.conn.execute(
            select(webhooks.c.id, webhooks.c.events).where(or_(webhooks.c.site.is_(None), webhooks.c.site == site))
        ).all()
        tx.memo[key] = [(int(row.id), frozenset(row.events)) for row in rows]
    subscribers: list[tuple[int, frozenset[str]]] = tx.memo[key]
    return subscribers


@dataclass(frozen=True, slots=True)
class Attempt:
    """One leased attempt at one delivery: what to send, where, and with which key."""

    delivery_id: int
    message_id: str
    url: str
    secret: str
    body: str
    attempts: int
    """Attempts made so far, this one included."""
    created_at: datetime
    leased_until: datetime


CANDIDATES = 5
"""Due rows looked at per claim: on SQLite another replica may lease the first between our read and update."""


def claim_next(conn: Connection, now: datetime, lease_s: float) -> Attempt | None:
    """Lease the next due delivery for one attempt; None when nothing is due (or all were taken)."""
    for delivery_id in due_ids(conn, now, CANDIDATES, lock=True):
        attempt = lease(conn, delivery_id, now, lease_s)
        if attempt is not None:
            return attempt
    return None


def due_ids(conn: Connection, now: datetime, limit: int, *, lock: bool = False) -> list[int]:
    """Deliveries due now and not leased, oldest due first. With ``lock`` (PostgreSQL) the rows
    are locked for this transaction and rows another replica is leasing right now are skipped
    rather than waited for."""
    query = (
        select(webhook_deliveries.c.id)
        .where(
            webhook_deliveries.c.status == PENDING,
            webhook_deliveries.c.next_attempt_at <= now,
            or_(webhook_deliveries.c.leased_until.is_(None), webhook_deliveries.c.leased_until < now),
        )
        .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
        .limit(limit)
    )
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [int(row_id) for row_id in conn.execute(query).scalars()]


def lease(conn: Connection, delivery_id: int, now: datetime, lease_s: float) -> Attempt | None:
    """Take the delivery for one attempt until ``now + lease_s``; None if another sender has it
    (or it is no longer due). The conditional update is what makes it one sender per attempt."""
    until = now + timedelta(seconds=lease_s)
    row = conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.id == delivery_id,
            webhook_deliveries.c.status == PENDING,
            webhook_deliveries.c.next_attempt_at <= now,
            or_(webhook_deliveries.c.leased_until.is_(None), webhook_deliveries.c.leased_until < now),
        )
        .values(leased_until=until, attempts=webhook_deliveries.c.attempts + 1)
        .returning(
            webhook_deliveries.c.webhook_id,
            webhook_deliveries.c.message_id,
            webhook_deliveries.c.body,
            webhook_deliveries.c.attempts,
            webhook_deliveries.c.created_at,
        )
    ).first()
    if row is None:
        return None
    target = conn.execute(select(webhooks.c.url, webhooks.c.secret).where(webhooks.c.id == row.webhook_id)).first()
    if target is None:  # deleted meanwhile (its deliveries go with it)
        return None
    return Attempt(
        delivery_id,
        row.message_id,
        target.url,
        target.secret,
        row.body,
        int(row.attempts),
        row.created_at,
        until,
    )


def record_delivered(conn: Connection, attempt: Attempt, now: datetime, status_code: int) -> bool:
    """The receiver answered 2xx. False if the lease was lost meanwhile (nothing recorded)."""
    return _finish(conn, attempt, status=DELIVERED, delivered_at=now, last_status_code=status_code, last_error=None)


def record_failure(
    conn: Connection, attempt: Attempt, *, retry_at: datetime | None, status_code: int | None, error: str
) -> bool:
    """The attempt failed: try again at ``retry_at``, or (None) give the delivery up as failed."""
    return _finish(
        conn,
        attempt,
        status=PENDING if retry_at is not None else FAILED,
        next_attempt_at=retry_at,
        last_status_code=status_code,
        last_error=error[:MAX_ERROR_LENGTH],
    )


def _finish(conn: Connection, attempt: Attempt, **values: Any) -> bool:
    result = conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.id == attempt.delivery_id,
            webhook_deliveries.c.status == PENDING,
            webhook_deliveries.c.leased_until == attempt.leased_until,
        )
        .values(leased_until=None, **values)
    )
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class QueueState:
    pending: int
    oldest_created_at: datetime | None


def queue_state(conn: Connection) -> QueueState:
    """How many deliveries wait (due or retrying), and when the oldest of them was queued."""
    row = conn.execute(
        select(func.count(), func.min(webhook_deliveries.c.created_at)).where(webhook_deliveries.c.status == PENDING)
    ).one()
    return QueueState(int(row[0]), row[1])
