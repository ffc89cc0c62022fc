"""Two replicas' senders on one database: each attempt is made by exactly one of them."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from cloud.domain.webhooks.queue import enqueue_webhooks
from cloud.platform.settings import CloudSettings
from cloud.platform.storage.tables import webhook_deliveries
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from tests.cloud.accounts_support import make_account
from tests.cloud.webhooks_support import create_webhook, receiver, sender

EVENTS = 24


def send_together(clients: list[TestClient], threads_each: int = 2) -> int:
    """Every replica's sender works the queue from ``threads_each`` threads at once."""
    senders = [sender(client) for client in clients] * threads_each
    barrier = threading.Barrier(len(senders))
    made: list[int] = []

    def work(index: int) -> None:
        barrier.wait()
        made.append(senders[index].send_due())

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(senders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sum(made)


def test_two_replicas_make_each_attempt_once(database_url: str, unique_site: str, tmp_path: Path) -> None:
    clock = FakeClock()
    settings = CloudSettings(
        database_url=database_url,
        ingest_enabled=False,
        ingest_site=unique_site,
        timer_loop=False,
        webhook_sender=False,
        web_push=False,
        photo_dir=str(tmp_path / "photos"),
    )
    with (
        receiver(*[500] * EVENTS) as hook,  # every first attempt fails, every retry succeeds
        TestClient(create_app(settings, clock=clock)) as one,
        TestClient(create_app(settings, clock=clock)) as two,
    ):
        staff = make_account(one, "tech", role="staff")
        create_webhook(one, staff, hook.url, ["staff.alarm"])
        for n in range(EVENTS):
            with one.app.state.cloud.transactions.begin() as tx:  # type: ignore[attr-defined]
                enqueue_webhooks(tx, "staff.alarm", site=unique_site, data={"n": n}, text=f"alarm {n}")

        assert send_together([one, two]) == EVENTS
        assert Counter(r.message_id for r in hook.received) == Counter({r.message_id: 1 for r in hook.received})
        clock.advance(settings.webhook_retry_base_s)  # every retry is due (jitter keeps it within base)
        assert send_together([one, two]) == EVENTS
        assert send_together([one, two]) == 0

        with one.app.state.cloud.engine.connect() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(select(webhook_deliveries.c.status, webhook_deliveries.c.attempts)).all()
    assert len(hook.received) == 2 * EVENTS
    assert set(Counter(r.message_id for r in hook.received).values()) == {2}
    assert sorted(set(rows)) == [("delivered", 2)] and len(rows) == EVENTS
