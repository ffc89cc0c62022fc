"""Live changes between replicas: what one replica commits, clients of every replica hear.

With several cloud replicas, a WebSocket client may be connected to one replica while a
change is made on another (a REST request there, or ingest there: shared subscriptions
give each edge message to one replica only). So every replica publishes what it delivered
to its own clients on one internal MQTT topic, and every replica subscribes to it and hands
what the others published to its hub. A replica skips its own messages (it delivered them
already). The topic is outside the public ``kywash/v1/...`` tree, so dashboards do not see it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Final

from cloud.domain.machines.cache import ViewCache
from cloud.domain.machines.schemas import ClaimPublic, MachinePublic
from cloud.domain.machines.views import MachineView
from cloud.platform.hub import Audience, Hub, Message
from cloud.processes.live_messages import VIEW_KEY, machine_message

log = logging.getLogger(__name__)

FANOUT_TOPIC: Final = "kywash/internal/v1/changes"
Outgoing = list[tuple[Message, Audience]]


def encode(origin: str, messages: Outgoing) -> bytes:
    return json.dumps(
        {"origin": origin, "messages": [{"audience": _audience(a), "message": _message(m)} for m, a in messages]},
        separators=(",", ":"),
    ).encode()


def decode(payload: bytes) -> tuple[str, Outgoing]:
    """The origin and messages of a fan-out payload; ``ValueError`` for anything malformed."""
    try:
        body = json.loads(payload)
        origin = str(body["origin"])
        messages = [(_unmessage(item["message"]), Audience(**item["audience"])) for item in body["messages"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a fan-out message: {exc}") from None
    return origin, messages


def _audience(audience: Audience) -> dict[str, Any]:
    return {"site": audience.site, "room": audience.room, "user_id": audience.user_id, "staff": audience.staff}


def _message(message: Message) -> dict[str, Any]:
    """Other messages are already their wire JSON; a machine message travels unrendered (its
    view and who holds it), because the receiving replica renders it for each of its clients."""
    view = message.get(VIEW_KEY)
    if not isinstance(view, MachineView):
        return message
    return {
        "type": "machine",
        VIEW_KEY: {
            "pk": view.pk,
            "public": view.public.model_dump(mode="json"),
            "claim_user_id": view.claim_user_id,
            "hold_user_id": view.hold_user_id,
            "claim": view.claim.model_dump(mode="json") if view.claim else None,
        },
    }


def _unmessage(message: dict[str, Any]) -> Message:
    raw = message.get(VIEW_KEY)
    if not isinstance(raw, dict):
        return message
    claim = ClaimPublic.model_validate(raw["claim"]) if raw.get("claim") else None
    view = MachineView(
        int(raw["pk"]),
        MachinePublic.model_validate(raw["public"]),
        raw.get("claim_user_id"),
        raw.get("hold_user_id"),
        claim,
    )
    return machine_message(view)


def receiver(
    hub: Hub, origin: str, cache: ViewCache | None = None, rejected: Callable[[str], None] | None = None
) -> Callable[[bytes], None]:
    """What to do with a fan-out payload (on paho's thread): hand others' messages to the hub
    (and forget cached machine views they make stale). A malformed one is logged and counted
    through ``rejected(reason)``."""

    def receive(payload: bytes) -> None:
        try:
            sender, messages = decode(payload)
        except ValueError as exc:
            log.warning("ignoring a malformed message on %s: %s", FANOUT_TOPIC, exc)
            if rejected is not None:
                rejected("fanout_malformed")
            return
        if sender == origin:
            return
        if cache is not None and any(message["type"] in ("machine", "room") for message, _ in messages):
            cache.clear()
        for message, audience in messages:
            hub.send(message, audience)

    return receive
