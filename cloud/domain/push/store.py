"""Push subscriptions: subscribe, unsubscribe, list a user's, and what each send taught us.

One browser has one endpoint, so the endpoint is unique: subscribing it again (the same
student, or another one now logged in on that browser) moves it to the new user with the
new keys, in one race-free upsert. Someone else's endpoint is not found, never forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cloud.domain.push.schemas import SubscriptionCreate
from cloud.platform.errors import NotFound
from cloud.platform.storage.tables import push_subscriptions
from cloud.platform.texts import text
from cloud.platform.unit_of_work import Tx

MAX_USER_AGENT = 300


@dataclass(frozen=True)
class Subscription:
    """Where to send one user's pushes, and the keys to encrypt them with."""

    id: int
    user_id: int
    endpoint: str
    p256dh: str
    auth: str
    failures: int

    def info(self) -> dict[str, object]:
        """The ``subscription_info`` pywebpush takes."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


_COLUMNS = tuple(push_subscriptions.c[name] for name in Subscription.__dataclass_fields__)


def subscribe(tx: Tx, user_id: int, body: SubscriptionCreate, user_agent: str | None) -> int:
    """Store (or move to ``user_id``, with fresh keys) the subscription of ``body.endpoint``."""
    values = {
        "user_id": user_id,
        "endpoint": body.endpoint,
        "p256dh": body.keys.p256dh,
        "auth": body.keys.auth,
        "user_agent": (user_agent or "")[:MAX_USER_AGENT] or None,
        "failures": 0,
    }
    dialect_insert = pg_insert if tx.conn.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        dialect_insert(push_subscriptions)
        .values(**values, created_at=tx.now)
        .on_conflict_do_update(index_elements=["endpoint"], set_=values)
        .returning(push_subscriptions.c.id)
    )
    return int(tx.conn.execute(stmt).scalar_one())


def unsubscribe(tx: Tx, user_id: int, endpoint: str) -> None:
    """Forget one of ``user_id``'s subscriptions; ``NotFound`` if they have none at ``endpoint``."""
    result = tx.conn.execute(
        delete(push_subscriptions).where(
            push_subscriptions.c.endpoint == endpoint, push_subscriptions.c.user_id == user_id
        )
    )
    if result.rowcount == 0:
        raise NotFound(text("error.push.no_such_subscription"), code="subscription_not_found")


def subscriptions_of(conn: Connection, user_id: int) -> list[Subscription]:
    """Every browser ``user_id`` subscribed (one indexed query; usually none or one)."""
    rows = conn.execute(select(*_COLUMNS).where(push_subscriptions.c.user_id == user_id))
    return [Subscription(**row._mapping) for row in rows]


def record_sent(conn: Connection, subscription_id: int, now: datetime) -> None:
    conn.execute(
        update(push_subscriptions)
        .where(push_subscriptions.c.id == subscription_id)
        .values(last_sent_at=now, failures=0)
    )


def record_failure(conn: Connection, subscription_id: int, *, max_failures: int) -> bool:
    """Count a failed send; True if that made ``max_failures`` in a row and the subscription is gone."""
    conn.execute(
        update(push_subscriptions)
        .where(push_subscriptions.c.id == subscription_id)
        .values(failures=push_subscriptions.c.failures + 1)
    )
    return remove(conn, subscription_id, at_least=max_failures)


def remove(conn: Connection, subscription_id: int, *, at_least: int = 0) -> bool:
    """Delete a subscription (only if it has ``at_least`` failures); True if it was deleted."""
    result = conn.execute(
        delete(push_subscriptions).where(
            push_subscriptions.c.id == subscription_id, push_subscriptions.c.failures >= at_least
        )
    )
    return bool(result.rowcount)
