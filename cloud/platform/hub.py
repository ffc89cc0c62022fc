"""The hub: fans each change out to every interested WebSocket client without waiting on any.

Each client has a bounded queue. A client that falls that far behind is dropped (its
socket closes, the page reconnects and resyncs from a fresh snapshot) rather than
stalling everyone else or growing without bound. ``publish`` may be called from any
thread or event loop: delivery always happens on the loop that owns the client's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Message = dict[str, Any]

IN_LANGUAGE: str = "in_language"
"""A message may carry its variants for readers of other languages under this key (a plain
dict, so it crosses replicas as JSON): each client gets the one in its language, without the key."""


def localized(default: Message, variants: Mapping[str, Message]) -> Message:
    """``default`` (English) that each client whose language has a variant gets in that language."""
    return {**default, IN_LANGUAGE: dict(variants)}


def for_language(message: Message, language: str | None) -> Message:
    """What a reader of ``language`` gets of ``message``."""
    variants = message.get(IN_LANGUAGE)
    if not isinstance(variants, dict):
        return message
    chosen = variants.get(language) if language is not None else None
    if isinstance(chosen, dict):
        return chosen
    return {name: value for name, value in message.items() if name != IN_LANGUAGE}


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a message is for: clients following a room, one user, or staff."""

    site: str | None = None
    room: str | None = None
    user_id: int | None = None
    staff: bool = False

    @classmethod
    def of_room(cls, site: str, room: str) -> Audience:
        return cls(site=site, room=room)

    @classmethod
    def of_user(cls, user_id: int) -> Audience:
        return cls(user_id=user_id)

    @classmethod
    def of_staff(cls) -> Audience:
        return cls(staff=True)


@dataclass(eq=False)
class Subscriber:
    """One client's view of the hub: the rooms it follows, who it is, and its queue of messages."""

    site: str | None
    room: str | None
    queue: asyncio.Queue[Message | None]
    loop: asyncio.AbstractEventLoop
    user_id: int | None = None
    is_staff: bool = False
    session_id: str | None = None
    language: str | None = None
    """The reader's language: messages with variants (``localized``) arrive in it."""
    ended: str | None = field(default=None)
    """Why the hub let go: ``slow`` (fell too far behind), ``session_ended``, ``restart`` or ``shutdown``."""

    def wants(self, site: str, room: str) -> bool:
        return (self.site is None or self.site == site) and (self.room is None or self.room == room)

    def is_for(self, audience: Audience) -> bool:
        if audience.user_id is not None:
            return self.user_id == audience.user_id
        if audience.staff:
            return self.is_staff
        return audience.site is not None and audience.room is not None and self.wants(audience.site, audience.room)

    async def next(self) -> Message | None:
        """The next message, or None once the hub has let go of this client."""
        return await self.queue.get()


class Hub:
    """Publish/subscribe between ingest (and other writers) and connected clients."""

    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self.dropped_total = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def subscribe(
        self,
        site: str | None = None,
        room: str | None = None,
        *,
        user_id: int | None = None,
        is_staff: bool = False,
        session_id: str | None = None,
        language: str | None = None,
    ) -> Subscriber:
        """A new client; call from the event loop that will read its messages."""
        subscriber = Subscriber(
            site,
            room,
            asyncio.Queue(self.queue_size),
            asyncio.get_running_loop(),
            user_id=user_id,
            is_staff=is_staff,
            session_id=session_id,
            language=language,
        )
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def publish(self, message: Message, *, site: str, room: str) -> None:
        """Queue ``message`` for every client following ``site``/``room``; never blocks."""
        self.send(message, Audience.of_room(site, room))

    def send(self, message: Message, audience: Audience) -> None:
        """Queue ``message`` for every client in ``audience``; never blocks."""
        by_loop: dict[asyncio.AbstractEventLoop, list[Subscriber]] = {}
        with self._lock:
            for subscriber in self._subscribers:
                if subscriber.is_for(audience):
                    by_loop.setdefault(subscriber.loop, []).append(subscriber)
        for targets in by_loop.values():  # one hop per event loop, not one per client
            self._on_loop(targets[0], self._deliver_all, targets, message)

    def _deliver_all(self, subscribers: list[Subscriber], message: Message) -> None:
        if IN_LANGUAGE not in message:
            for subscriber in subscribers:
                self._deliver(subscriber, message)
            return
        shown: dict[str | None, Message] = {}  # picked once per language, not per client
        for subscriber in subscribers:
            if subscriber.language not in shown:
                shown[subscriber.language] = for_language(message, subscriber.language)
            self._deliver(subscriber, shown[subscriber.language])

    def end_sessions(self, session_ids: list[str]) -> None:
        """Let go of the clients of sessions that ended (logout): their sockets close with 4401."""
        ended = set(session_ids)
        with self._lock:
            targets = [s for s in self._subscribers if s.session_id in ended]
            self._subscribers.difference_update(targets)
        for subscriber in targets:
            self._on_loop(subscriber, self._end, subscriber, "session_ended")

    def close(self) -> None:
        """Let every client go (at shutdown): each one's ``next()`` returns None."""
        self._let_go_of_all("shutdown")

    def close_all(self) -> int:
        """Let every client go as a restart would, and keep serving: each socket closes with 1012.

        The pages reconnect and resync from a fresh snapshot (browser tests use this to
        prove it). Returns how many clients were let go.
        """
        return self._let_go_of_all("restart")

    def _let_go_of_all(self, reason: str) -> int:
        with self._lock:
            subscribers, self._subscribers = self._subscribers, set()
        for subscriber in subscribers:
            self._on_loop(subscriber, self._end, subscriber, reason)
        return len(subscribers)

    @staticmethod
    def _on_loop(subscriber: Subscriber, func: Any, *args: Any) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is subscriber.loop:
            func(*args)
            return
        with contextlib.suppress(RuntimeError):  # that client's loop is closed: nobody to deliver to
            subscriber.loop.call_soon_threadsafe(func, *args)

    def _deliver(self, subscriber: Subscriber, message: Message) -> None:
        if subscriber.ended:
            return
        try:
            subscriber.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.unsubscribe(subscriber)
            self.dropped_total += 1
            log.warning("dropping a WebSocket client %d messages behind; it will resync", self.queue_size)
            self._end(subscriber, "slow")

    @staticmethod
    def _end(subscriber: Subscriber, reason: str) -> None:
        subscriber.ended = reason
        while not subscriber.queue.empty():
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(None)
