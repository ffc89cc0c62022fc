"""``/api/v1/webhooks``: staff's outgoing webhooks (students: 403) and what was sent to each.

Plain ``def`` routes: creating one resolves the target's host (the SSRF guard), and the
database is blocking I/O, so FastAPI runs them in its thread pool.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from cloud.api.auth import StaffUser
from cloud.api.deps import PageDep, ReadConnDep, StateDep, TxDep
from cloud.domain.webhooks import subscriptions
from cloud.domain.webhooks.schemas import DeliveryPublic, WebhookCreate, WebhookCreated, WebhookPublic
from cloud.platform.pagination import Page
from cloud.platform.unit_of_work import committed_or_refused

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=201, response_model=WebhookCreated)
def create_webhook(state: StateDep, staff: StaffUser, body: WebhookCreate) -> WebhookCreated:
    """Send ``events`` (of ``site``, or every site when null) to ``url``. The answer holds the
    signing secret, shown this once; an unknown event name or a refused URL answers 422."""
    subscriptions.check_new_target(state.settings, body.url)
    with committed_or_refused(), state.transactions.begin() as tx:
        return subscriptions.create_webhook(tx, body, by=staff.id)


@router.get("", response_model=list[WebhookPublic])
def list_webhooks(conn: ReadConnDep, staff: StaffUser) -> list[WebhookPublic]:
    """Every webhook, oldest first (without secrets)."""
    return subscriptions.list_webhooks(conn)


@router.delete("/{webhook_id:int}", status_code=204, response_class=Response)
def delete_webhook(tx: TxDep, staff: StaffUser, webhook_id: int) -> Response:
    """Stop sending to it; its queued deliveries are dropped."""
    subscriptions.delete_webhook(tx, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id:int}/deliveries", response_model=Page[DeliveryPublic])
def list_deliveries(conn: ReadConnDep, staff: StaffUser, webhook_id: int, page: PageDep) -> Page[DeliveryPublic]:
    """Its deliveries, newest first, with their attempts and the last answer or error."""
    return subscriptions.deliveries(conn, webhook_id, page)
