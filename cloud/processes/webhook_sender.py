"""Sending queued webhook deliveries: a few worker threads per replica, never in the way of ingest.

A worker takes the next due delivery with a lease (``cloud.domain.webhooks.queue.claim_next``),
checks the target again (SSRF guard: DNS may have changed since the webhook was made),
POSTs the stored body signed as Standard Webhooks specify, and records the outcome: a 2xx
is delivered; anything else is retried on an exponential, jittered, capped schedule
(``backoff.Backoff``) until ``webhook_retry_for_s`` after the event, then failed. Redirects
are not followed (a redirect could lead past the guard).

A commit that queued deliveries wakes the workers (``wake``, called by the live delivery
after the commit), so a delivery normally leaves within moments; they also look every
``webhook_poll_s`` for retries that fell due and rows other replicas queued. Tests drive it
with ``send_due`` on their own clock instead of starting the threads.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from cloud.domain.webhooks import queue
from cloud.domain.webhooks.backoff import Backoff
from cloud.domain.webhooks.queue import Attempt
from cloud.domain.webhooks.signing import signed_headers
from cloud.domain.webhooks.targets import IPAddress, TargetRefused, public_address
from cloud.platform.settings import CloudSettings
from cloud.processes.webhook_metrics import WebhookMetrics
from kywash.clock import Clock, to_datetime

log = logging.getLogger(__name__)

LEASE_MARGIN_S: Final = 30.0
"""A lease outlasts the attempt's timeout by this much, so a slow answer is still recorded."""
USER_AGENT: Final = "KYWash-Webhooks/1"


def pinned(url: str, address: IPAddress) -> tuple[str, dict[str, str], dict[str, str]]:
    """``url`` with its host replaced by the ``address`` it was checked at, plus the ``Host``
    header and TLS server name (SNI, and what the certificate is checked against) of the
    original host: the connection goes where the SSRF guard looked, whatever DNS says next."""
    original = httpx.URL(url)
    target = original.copy_with(host=str(address))
    extensions = {"sni_hostname": original.raw_host.decode("ascii")} if original.scheme == "https" else {}
    return str(target), {"host": original.netloc.decode("ascii")}, extensions


class WebhookSender:
    """``start()`` the workers, ``wake()`` them after a commit, ``close()`` them."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        settings: CloudSettings,
        metrics: WebhookMetrics,
        *,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self.metrics = metrics
        self.jitter = jitter
        self.backoff = Backoff(
            settings.webhook_retry_base_s, settings.webhook_retry_max_s, settings.webhook_retry_for_s
        )
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> WebhookSender:
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._run, name=f"kywash-webhooks-{n}", daemon=True)
            for n in range(self.settings.webhook_workers)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def wake(self) -> None:
        """Deliveries were committed: look now instead of at the next poll (never blocks)."""
        self._wake.set()

    def close(self, timeout: float = 15.0) -> None:
        """Stop after the attempts in flight (a lease left behind simply runs out)."""
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def send_due(self) -> int:
        """Make every attempt that is due now, on this thread; how many were made."""
        made = 0
        with self._client() as client:
            while self._send_next(client):
                made += 1
        return made

    def _run(self) -> None:
        with self._client() as client:
            while not self._stopping.is_set():
                try:
                    sent = self._send_next(client)
                except OperationalError as exc:  # the database is away: the rows wait, try later
                    log.warning("webhook sender could not reach the database: %s", exc.orig)
                    sent = False
                except Exception:
                    log.exception("webhook sender round failed; trying again at the next poll")
                    sent = False
                if not sent and not self._stopping.is_set():
                    self._wake.wait(self.settings.webhook_poll_s)
                    self._wake.clear()

    def _client(self) -> httpx.Client:
        return httpx.Client(
            timeout=self.settings.webhook_timeout_s, follow_redirects=False, headers={"user-agent": USER_AGENT}
        )

    def _send_next(self, client: httpx.Client) -> bool:
        """Lease and attempt the next due delivery; False when none is due."""
        lease_s = self.settings.webhook_timeout_s + LEASE_MARGIN_S
        now = self._now()
        with self.engine.connect().execution_options(kywash_readonly=True) as conn:
            if not queue.due_ids(conn, now, 1):  # idle: no write transaction (SQLite's lock) per poll
                return False
        with self.engine.begin() as conn:
            attempt = queue.claim_next(conn, now, lease_s)
        if attempt is None:
            return False
        self._attempt(client, attempt)
        return True

    def _attempt(self, client: httpx.Client, attempt: Attempt) -> None:
        url: str = attempt.url
        pin_headers: dict[str, str] = {}
        extensions: dict[str, str] = {}
        if not self.settings.webhook_private_targets:
            try:
                url, pin_headers, extensions = pinned(attempt.url, public_address(attempt.url))
            except TargetRefused as exc:
                self._record_failure(attempt, None, str(exc), give_up=True, outcome="refused")
                return
        body = attempt.body.encode()
        sent_at = self._now()
        try:
            headers = signed_headers(attempt.secret, attempt.message_id, sent_at, body) | pin_headers
            # Streamed and never read: only the status matters, and a receiver's body may be huge.
            with client.stream("POST", url, content=body, headers=headers, extensions=extensions) as response:
                status = response.status_code
        except httpx.HTTPError as exc:
            self._record_failure(attempt, None, f"{type(exc).__name__}: {exc}".rstrip(": "))
            return
        if 200 <= status < 300:
            with self.engine.begin() as conn:
                recorded = queue.record_delivered(conn, attempt, self._now(), status)
            self._count("delivered" if recorded else "lease_lost", attempt)
            return
        self._record_failure(attempt, status, f"HTTP {status}")

    def _record_failure(
        self, attempt: Attempt, status_code: int | None, error: str, *, give_up: bool = False, outcome: str = ""
    ) -> None:
        now = self._now()
        age = (now - attempt.created_at).total_seconds()
        wait = None if give_up else self.backoff.next_attempt(attempt.attempts, age, self.jitter())
        retry_at = now + timedelta(seconds=wait) if wait is not None else None
        with self.engine.begin() as conn:
            recorded = queue.record_failure(conn, attempt, retry_at=retry_at, status_code=status_code, error=error)
        outcome = outcome or ("retrying" if retry_at is not None else "failed")
        self._count(outcome if recorded else "lease_lost", attempt)
        log.info(
            "webhook delivery %s (attempt %d) to %s failed: %s; %s",
            attempt.message_id,
            attempt.attempts,
            httpx.URL(attempt.url).host,
            error,
            f"retry at {retry_at.isoformat()}" if retry_at is not None else "given up",
        )

    def _count(self, outcome: str, attempt: Attempt) -> None:
        self.metrics.attempts.labels(outcome).inc()
        if outcome == "lease_lost":
            log.warning("webhook delivery %s outlived its lease; its outcome was not recorded", attempt.message_id)

    def _now(self) -> datetime:
        return to_datetime(self.clock.now())
