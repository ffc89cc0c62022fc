"""Sending Web Push after commit, on worker threads: a request or the ingest loop never waits.

``notify`` records ``(user_id, payload)`` in the transaction's changes; once it commits,
``Delivery`` hands them to ``PushSender.submit``, which only queues them (a full queue
drops the push and counts it). Each worker looks up the user's subscriptions (one indexed
query; usually there are none), encrypts and signs with pywebpush, and learns from the
answer: 404/410 means the browser is gone, so its subscription is deleted; any other
failure is counted on the subscription, which is dropped after ``MAX_FAILURES`` in a row.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import urlsplit

import requests
from pywebpush import WebPushException, webpush
from sqlalchemy import Engine

from cloud.domain.push import store
from cloud.domain.push.keys import VapidKey
from cloud.processes.push_metrics import PushMetrics
from kywash.clock import Clock, to_datetime

log = logging.getLogger(__name__)

Push = tuple[int, dict[str, Any]]
"""A user id and the JSON payload their browsers receive."""

URGENT_TYPES: Final = frozenset({"cycle_finished", "cycle_continued", "reservation_offered"})
"""Sent with ``Urgency: high`` (a phone in power saving still wakes for these; ``cycle_continued``
takes back a "done" the student may be walking to the machine for)."""
TTL_S: Final = 3600
"""How long a push service keeps a push for a browser that is offline: after an hour it is stale."""
MAX_FAILURES: Final = 5
TIMEOUT_S: Final = 10.0
WORKERS: Final = 2
QUEUE_SIZE: Final = 1000


class PushSender:
    """A bounded queue and a few worker threads; ``start()`` it, ``close()`` it."""

    def __init__(
        self,
        engine: Engine,
        key: VapidKey,
        subject: str,
        clock: Clock,
        metrics: PushMetrics,
        *,
        workers: int = WORKERS,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.engine = engine
        self.key = key
        self.subject = subject
        self.clock = clock
        self.metrics = metrics
        self._queue: queue.Queue[Push | None] = queue.Queue(queue_size)
        self._threads = [
            threading.Thread(target=self._run, name=f"kywash-push-{n}", daemon=True) for n in range(workers)
        ]

    def start(self) -> PushSender:
        for thread in self._threads:
            thread.start()
        return self

    def submit(self, pushes: Iterable[Push]) -> None:
        """Queue pushes without waiting (called right after a commit)."""
        for push in pushes:
            try:
                self._queue.put_nowait(push)
            except queue.Full:
                self.metrics.failed.labels("queue_full").inc()
                log.warning("push queue full (%d): a push to user %s dropped", self._queue.maxsize, push[0])

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued push has been tried; False if ``timeout`` seconds passed first."""
        with self._queue.all_tasks_done:
            return self._queue.all_tasks_done.wait_for(lambda: self._queue.unfinished_tasks == 0, timeout)

    def close(self, timeout: float = TIMEOUT_S) -> None:
        """Let the queued pushes go out (for up to ``timeout`` seconds), then stop the workers."""
        running = [thread for thread in self._threads if thread.is_alive()]
        for _ in running:
            try:
                self._queue.put(None, timeout=timeout)
            except queue.Full:
                log.warning("push queue still full after %.0f s; pushes left unsent", timeout)
                return
        for thread in running:
            thread.join(timeout)

    def _run(self) -> None:
        with requests.Session() as session:
            session.max_redirects = 0  # a push service answers; it does not send us elsewhere
            while True:
                push = self._queue.get()
                try:
                    if push is None:
                        return
                    self._deliver(session, *push)
                except Exception:
                    self.metrics.failed.labels("error").inc()
                    log.exception("web push to user %s failed", push[0] if push else None)
                finally:
                    self._queue.task_done()

    def _deliver(self, session: requests.Session, user_id: int, payload: dict[str, Any]) -> None:
        with self.engine.connect().execution_options(kywash_readonly=True) as conn:
            targets = store.subscriptions_of(conn, user_id)
        if not targets:
            return
        data = json.dumps(payload, separators=(",", ":"))
        urgency = "high" if payload.get("type") in URGENT_TYPES else "normal"
        for subscription in targets:
            failure = self._send(session, subscription, data, urgency)
            self._record(subscription, failure)

    def _send(self, session: requests.Session, subscription: store.Subscription, data: str, urgency: str) -> str | None:
        """None when the push service took it; otherwise the failure reason (a metrics label)."""
        try:
            webpush(
                subscription.info(),
                data=data,
                vapid_private_key=self.key.signer,
                vapid_claims={"sub": self.subject},  # pywebpush adds aud (the endpoint's origin) and exp (12 h)
                ttl=TTL_S,
                headers={"Urgency": urgency},
                timeout=TIMEOUT_S,
                requests_session=session,
            )
        except WebPushException as exc:
            status = exc.status_code
            if status in (404, 410):
                return "gone"
            if status == 429 or (status is not None and status >= 500):
                return "unavailable"
            return "rejected" if status is not None else "error"
        except requests.RequestException:
            return "network"
        return None

    def _record(self, subscription: store.Subscription, failure: str | None) -> None:
        now = to_datetime(self.clock.now())
        with self.engine.begin() as conn:
            if failure is None:
                store.record_sent(conn, subscription.id, now)
                self.metrics.sent.inc()
                return
            self.metrics.failed.labels(failure).inc()
            host = urlsplit(subscription.endpoint).hostname  # the full endpoint is a secret capability
            if failure == "gone":
                removed = store.remove(conn, subscription.id)
                reason = "gone"
            else:
                removed = store.record_failure(conn, subscription.id, max_failures=MAX_FAILURES)
                reason = "failing"
        log.info("web push to user %s via %s failed: %s", subscription.user_id, host, failure)
        if removed:
            self.metrics.removed.labels(reason).inc()
            log.info("dropped push subscription %s of user %s (%s)", subscription.id, subscription.user_id, reason)
