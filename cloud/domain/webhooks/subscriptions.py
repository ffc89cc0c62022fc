"""Staff's webhooks: made (with a secret shown once), listed, deleted, their deliveries read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from cloud.domain.webhooks.schemas import DeliveryPublic, WebhookCreate, WebhookCreated, WebhookPublic
from cloud.domain.webhooks.signing import new_secret
from cloud.domain.webhooks.targets import check_target, check_url
from cloud.platform.errors import NotFound
from cloud.platform.pagination import Page, PageRequest, fetch_page
from cloud.platform.settings import CloudSettings
from cloud.platform.storage.tables import webhook_deliveries, webhooks
from cloud.platform.texts import text
from cloud.platform.unit_of_work import Tx


def check_new_target(settings: CloudSettings, url: str) -> str:
    """Refuse (422) a URL we would not POST to (see ``targets``). It resolves the host, so it is
    called before the transaction opens: SQLite's write lock is not held across a DNS lookup."""
    check_url(url, production=settings.environment == "production")
    check_target(url, allow_private=settings.webhook_private_targets)
    return url


def create_webhook(tx: Tx, body: WebhookCreate, *, by: int) -> WebhookCreated:
    """Store the webhook (its URL checked by ``check_new_target`` first) with a new secret."""
    url = check_url(body.url, production=tx.settings.environment == "production")
    events: list[str] = list(dict.fromkeys(body.events))
    secret = new_secret()
    webhook_id = tx.conn.execute(
        webhooks.insert()
        .values(url=url, events=events, site=body.site, secret=secret, created_by=by, created_at=tx.now)
        .returning(webhooks.c.id)
    ).scalar_one()
    return WebhookCreated(id=int(webhook_id), url=url, events=events, site=body.site, created_at=tx.now, secret=secret)


def list_webhooks(conn: Connection) -> list[WebhookPublic]:
    rows = conn.execute(select(webhooks).order_by(webhooks.c.id)).all()
    return [_public(row) for row in rows]


def delete_webhook(tx: Tx, webhook_id: int) -> None:
    """Deletes its queued and past deliveries too: nothing more is sent to it."""
    tx.conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id))
    if tx.conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id)).rowcount == 0:
        raise NotFound(text("error.webhook.no_such_webhook", webhook_id=webhook_id), code="no_such_webhook")


def deliveries(conn: Connection, webhook_id: int, request: PageRequest) -> Page[DeliveryPublic]:
    if conn.execute(select(webhooks.c.id).where(webhooks.c.id == webhook_id)).first() is None:
        raise NotFound(text("error.webhook.no_such_webhook", webhook_id=webhook_id), code="no_such_webhook")
    query = select(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id)
    return fetch_page(conn, query, webhook_deliveries.c.id, request, _delivery)


def _public(row: Any) -> WebhookPublic:
    m = row._mapping
    return WebhookPublic(id=m["id"], url=m["url"], events=list(m["events"]), site=m["site"], created_at=m["created_at"])


def _delivery(row: Any) -> DeliveryPublic:
    m = row._mapping
    return DeliveryPublic(
        id=m["id"],
        message_id=m["message_id"],
        event=m["event"],
        status=m["status"],
        attempts=m["attempts"],
        last_status_code=m["last_status_code"],
        last_error=m["last_error"],
        next_attempt_at=m["next_attempt_at"],
        created_at=m["created_at"],
        delivered_at=m["delivered_at"],
    )
