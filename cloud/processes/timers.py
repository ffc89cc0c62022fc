"""Firing stored deadlines: claims not confirmed in time, reminders to collect laundry,
alerts before a cycle's expected end (cloud/domain/machines/end_alert.py), waitlist holds
that ran out, replay requests for gaps in a room's events (cloud/domain/ingest/gaps.py),
rooms whose edge went silent (a staff alarm, cloud/domain/alarms/silence.py).

No timer lives in memory. Every replica runs ``TimerLoop``, which looks for rows whose
deadline has passed and fires each in its own transaction; the conditional update inside
(``WHERE status = 'pending'``, ``WHERE next_reminder_at = :seen``) lets exactly one replica
win, so a deadline fires once however many replicas see it, and still fires after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError

from cloud.domain.accounts.access import purge_throttle
from cloud.domain.alarms import silence
from cloud.domain.ingest import gaps
from cloud.domain.laundry import claims, store, waitlist
from cloud.domain.laundry.rules import ClaimStatus
from cloud.domain.machines import end_alert
from cloud.platform.unit_of_work import Transactions, Tx
from cloud.policy.machine_moved import claim_expired
from cloud.processes.ingest_metrics import IngestMetrics

log = logging.getLogger(__name__)


@dataclass
class Fired:
    expired_claims: int = 0
    reminders: int = 0
    expired_holds: int = 0
    replay_requests: int = 0
    silence_alarms: int = 0
    end_alerts: int = 0

    @property
    def total(self) -> int:
        return (
            self.expired_claims
            + self.reminders
            + self.expired_holds
            + self.replay_requests
            + self.silence_alarms
            + self.end_alerts
        )


PURGE_EVERY_S = 300.0
"""How often a replica deletes login-throttle rows that have gone quiet."""


def purge(transactions: Transactions) -> int:
    with transactions.engine.begin() as conn:
        return purge_throttle(conn, transactions.now(), transactions.settings)


def fire_due(transactions: Transactions, metrics: IngestMetrics | None = None) -> Fired:
    """Fire every deadline that has passed by the service clock's now."""
    fired = Fired()
    now = transactions.now()
    with transactions.read() as conn:
        pending = store.due_claims(conn, ClaimStatus.PENDING, "confirm_by", now)
        finished = store.due_claims(conn, ClaimStatus.FINISHED, "next_reminder_at", now)
        holds = store.due_holds(conn, now)
        replays = gaps.due_replays(conn, now, transactions.settings.replay_after_s)
        silent = silence.rooms_gone_silent(conn, now, transactions.settings.staff_alarm_silent_minutes)
        alerts = end_alert.due_alerts(conn, now)
    fired.expired_claims = _each(transactions, pending, claim_expired)
    fired.reminders = _each(transactions, finished, claims.remind)
    fired.end_alerts = _each(transactions, alerts, end_alert.fire)
    fired.expired_holds = _each(transactions, holds, waitlist.expire_hold)
    fired.replay_requests = _each(transactions, replays, gaps.request_replay)
    fired.silence_alarms = _each(transactions, silent, silence.open_if_silent)
    if fired.replay_requests and metrics is not None:
        metrics.count_replay_request(fired.replay_requests)
    if fired.total:
        log.info("timers fired: %s", fired)
    return fired


def _each(transactions: Transactions, ids: list[int], fire: Callable[[Tx, int], bool]) -> int:
    count = 0
    for item_id in ids:
        try:
            count += transactions.run(lambda tx, item_id=item_id: fire(tx, item_id))  # type: ignore[misc]
        except OperationalError as exc:  # the database is away: the deadline stays, next round fires it
            log.warning("could not fire %s(%d): %s", fire.__name__, item_id, exc.orig)
            return count
        except Exception:
            log.exception("firing %s(%d) failed; it stays due", fire.__name__, item_id)
    return count


class TimerLoop:
    """Calls ``fire_due`` every ``settings.timer_interval_s`` until stopped."""

    def __init__(self, transactions: Transactions, metrics: IngestMetrics | None = None) -> None:
        self.transactions = transactions
        self.metrics = metrics
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="kywash-timers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        last_purge = -PURGE_EVERY_S
        while True:
            try:
                await asyncio.to_thread(fire_due, self.transactions, self.metrics)
                if time.monotonic() - last_purge >= PURGE_EVERY_S:
                    last_purge = time.monotonic()
                    await asyncio.to_thread(purge, self.transactions)
            except Exception:
                log.exception("timer round failed; trying again next round")
            await asyncio.sleep(self.transactions.settings.timer_interval_s)
