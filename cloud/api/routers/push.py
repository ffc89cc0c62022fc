"""``/api/v1/push``: the public VAPID key, and a signed-in student's browser subscriptions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from cloud.api.auth import CurrentUser
from cloud.api.deps import StateDep, TxDep
from cloud.domain.push import store
from cloud.domain.push.keys import VapidKey
from cloud.domain.push.schemas import PushKeyPublic, SubscriptionCreate, SubscriptionDelete, SubscriptionPublic
from cloud.platform.errors import InvalidInput, NotFound
from cloud.platform.texts import text

router = APIRouter(prefix="/api/v1/push", tags=["push"])


async def vapid_key(state: StateDep) -> VapidKey:
    if state.push_key is None:
        raise NotFound(text("error.push.disabled"), code="push_disabled")
    return state.push_key


VapidKeyDep = Annotated[VapidKey, Depends(vapid_key)]


@router.get("/key", response_model=PushKeyPublic)
def public_key(key: VapidKeyDep) -> PushKeyPublic:
    """The key the page passes to ``pushManager.subscribe`` as ``applicationServerKey`` (public)."""
    return PushKeyPublic(public_key=key.public_key)


@router.post("/subscriptions", status_code=201, response_model=SubscriptionPublic, dependencies=[Depends(vapid_key)])
def subscribe(viewer: CurrentUser, tx: TxDep, body: SubscriptionCreate, request: Request) -> SubscriptionPublic:
    """Send this browser the viewer's notifications. The same endpoint again (after a new login
    on that browser, perhaps by someone else) moves it to the viewer with the new keys."""
    if tx.settings.environment == "production" and not body.endpoint.startswith("https://"):
        # The server POSTs to whatever URL a student gives: real push services are https.
        raise InvalidInput(text("error.push.insecure_endpoint"), code="insecure_endpoint")
    subscription_id = store.subscribe(tx, viewer.id, body, request.headers.get("user-agent"))
    return SubscriptionPublic(id=subscription_id, endpoint=body.endpoint)


@router.delete("/subscriptions", status_code=204, response_class=Response)
def unsubscribe(viewer: CurrentUser, tx: TxDep, body: SubscriptionDelete) -> Response:
    """Stop pushing to this browser; an endpoint that is not the viewer's answers 404."""
    store.unsubscribe(tx, viewer.id, body.endpoint)
    return Response(status_code=204)
