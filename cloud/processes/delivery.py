"""Where committed changes go: this replica's live clients, the broker, and (through the
broker) the clients of every other replica, plus the users' browsers by web push; and wakes the
webhook sender when the transaction queued deliveries.

``prepare`` runs inside the transaction: it renders the changed machines' views and the
touched rooms' retained summaries from what the transaction can see. The call it returns
runs only after the commit, so nothing is heard of a change that was rolled back.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from cloud.domain.accounts.session_cache import SessionCache
from cloud.domain.dashboards.summary import SummaryBook, SummaryOut, summaries_for, touched_rooms
from cloud.domain.machines.cache import ViewCache
from cloud.domain.machines.views import views_of
from cloud.platform.hub import Audience, Hub, Message
from cloud.platform.unit_of_work import Changes
from cloud.processes.fanout import FANOUT_TOPIC, encode
from cloud.processes.live_messages import machine_message_to_room, machine_messages

log = logging.getLogger(__name__)

VIEW_CHANGES = frozenset({"machine", "room"})
"""Messages that mean the cached machine views are out of date."""


class BrokerPublisher(Protocol):
    """Whatever can publish to MQTT after a commit (the ingest's connection in service)."""

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None: ...


class PushQueue(Protocol):
    """Whatever sends web pushes without making the caller wait (``cloud.processes.push_sender``)."""

    def submit(self, pushes: list[tuple[int, dict[str, Any]]]) -> None: ...


class Waker(Protocol):
    """Whatever sends queued rows once told they exist (``cloud.processes.webhook_sender``)."""

    def wake(self) -> None: ...


@dataclass
class LiveDelivery:
    hub: Hub
    broker: BrokerPublisher | None = None
    origin: str | None = None
    """This replica's id on the fan-out topic; None: a single replica, no fan-out."""
    cache: ViewCache | None = None
    sessions: SessionCache | None = None
    push: PushQueue | None = None
    """None: web push is off (or this process sends none, as the CLI)."""
    summaries: SummaryBook | None = None
    """Digests of the rooms' retained summaries; None: publish none."""
    webhooks: Waker | None = None
    """None: this process sends no webhooks (the rows wait for a replica that does)."""

    @property
    def wants_summaries(self) -> bool:
        return self.summaries is not None and self.broker is not None

    def prepare(self, conn: Connection, changes: Changes, now: datetime) -> functools.partial[None]:
        """Machine messages (read inside the transaction) after the room ones, then the rest. With
        summaries, every machine of the touched rooms whose summary is due (``SummaryBook.due``)
        is rendered once, in one read, for both the changed machines' messages and the rooms'
        summaries; changed machines in rooms whose summary waits are rendered alone."""
        pks = list(changes.machines)
        summaries: list[SummaryOut] = []
        rendered: list[tuple[Message, Audience]] = []
        if self.wants_summaries and self.summaries is not None:
            rooms = self.summaries.due(touched_rooms(conn, changes.rooms + changes.messages, pks))
            views = views_of(conn, room_ids=rooms) if rooms else []
            changed = set(pks)
            rendered = [machine_message_to_room(view) for view in views if view.pk in changed]
            changed.difference_update(view.pk for view in views)
            pks = [pk for pk in pks if pk in changed]  # in rooms whose summary waits: render just these
            summaries = summaries_for(conn, rooms, now, views) if rooms else []
        rendered += machine_messages(conn, pks) if pks else []
        messages = changes.rooms + rendered + changes.messages
        return functools.partial(
            self.deliver,
            messages,
            changes.broker,
            changes.ended_sessions,
            changes.pushes,
            summaries,
            webhooks=changes.webhooks,
        )

    def deliver(
        self,
        messages: list[tuple[Message, Audience]],
        broker: list[tuple[str, bytes, bool]],
        ended_sessions: list[str] | None = None,
        pushes: list[tuple[int, dict[str, Any]]] | None = None,
        summaries: list[SummaryOut] | None = None,
        *,
        webhooks: int = 0,
    ) -> None:
        if webhooks and self.webhooks is not None:
            self.webhooks.wake()
        if ended_sessions:
            self._end_sessions(ended_sessions)
        if self.cache is not None and any(message["type"] in VIEW_CHANGES for message, _ in messages):
            self.cache.clear()
        for message, audience in messages:
            self.hub.send(message, audience)
        if messages and self.broker is not None and self.origin is not None:
            self.broker.publish(FANOUT_TOPIC, encode(self.origin, messages), retain=False)
        for topic, payload, retain in broker:
            if self.broker is None:
                log.info("not connected to MQTT: %s will be published when the service reconnects", topic)
                continue
            self.broker.publish(topic, payload, retain=retain)
        if self.broker is not None and self.summaries is not None:
            for summary in summaries or ():
                if self.summaries.claim(summary):  # only a summary that changed goes out
                    self.broker.publish(summary.topic, summary.payload, retain=True)
        if pushes and self.push is not None:
            self.push.submit(pushes)

    def _end_sessions(self, ended_sessions: list[str]) -> None:
        if self.sessions is not None:
            for session_id in ended_sessions:
                self.sessions.forget(session_id)
        self.hub.end_sessions(ended_sessions)
