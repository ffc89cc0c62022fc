"""A real fake of ``edge.link.Link``: no broker, and the test decides what the network does.

It keeps ``edge.link``'s contract the way paho does: a QoS 1 message it took stays its
own until the test acknowledges it, is sent again after a reconnect (``resent``), and is
taken while down, to go out on the next connect; a QoS 0 message is refused while down.
Everything that went "on the wire" is in ``sent``, in order. Calls that paho would make on
its network thread (``link_up``, ``message``, the ``on_ack`` callbacks) are made on the
test's thread here, which is as good a stand-in as any other thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edge.link import Ack, LinkEvents, LinkStats


@dataclass(frozen=True)
class Sent:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    resent: bool = False
    """Sent again by the link after a reconnect (MQTT's DUP), not handed over again."""


@dataclass
class _Held:
    message: Sent
    on_ack: Ack | None
    on_wire: bool


class FakeLink:
    def __init__(self, *, auto_ack: bool = False) -> None:
        self.auto_ack = auto_ack
        """Acknowledge every QoS 1 message as it is taken, before ``publish`` returns (paho can)."""
        self.sent: list[Sent] = []
        self.subscriptions: list[tuple[str, int]] = []
        self.dead = False
        """Say the link's thread died: ``alive()`` is False (a watchdog case)."""
        self._events: LinkEvents | None = None
        self._lock = threading.Lock()
        self._held: dict[int, _Held] = {}  # QoS 1 taken and not yet acknowledged, by mid
        self._next_mid = 1
        self._connected = self._started = self.closed = False
        self._connects = 0

    # --- the Link protocol ---------------------------------------------------------------

    def bind(self, events: LinkEvents) -> None:
        self._events = events

    def start(self) -> None:
        self._started = True

    def close(self) -> None:
        self.closed = True
        with self._lock:
            self._connected = False

    @property
    def connected(self) -> bool:
        return self._connected

    def alive(self) -> bool:
        return self._started and not self.closed and not self.dead

    def stats(self) -> LinkStats:
        with self._lock:
            return LinkStats(self._connected, self._connects, 0)

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool, on_ack: Ack | None = None) -> bool:
        with self._lock:
            if qos == 0 and not self._connected:
                return False
            mid, self._next_mid = self._next_mid, self._next_mid + 1
            message = Sent(topic, payload, qos, retain, mid)
            if self._connected:
                self.sent.append(message)
            if qos > 0 and not self.auto_ack:
                self._held[mid] = _Held(message, on_ack, self._connected)
                return True
        if on_ack is not None:
            on_ack()  # QoS 0 once written, as paho does; QoS 1 here only with auto_ack
        return True

    def subscribe(self, filters: Sequence[tuple[str, int]]) -> None:
        with self._lock:
            self.subscriptions.extend(filters)

    # --- what the test does -----------------------------------------------------------------

    def connect(self) -> None:
        """The broker is reachable (again): held messages go out, then the owner hears of it."""
        with self._lock:
            self._connected = True
            self._connects += 1
            for held in self._held.values():
                message = held.message
                if held.on_wire:
                    message = Sent(message.topic, message.payload, message.qos, message.retain, message.mid, True)
                self.sent.append(message)
                held.on_wire = True
        if self._events is not None:
            self._events.link_up()

    def disconnect(self) -> None:
        """The connection drops; what is held stays held, unacknowledged."""
        with self._lock:
            self._connected = False
        if self._events is not None:
            self._events.link_down()

    def deliver(self, topic: str, payload: bytes) -> None:
        """A message from the broker (a desired state, a retained profile, a replay request)."""
        assert self._events is not None, "nobody bound to the link"
        self._events.message(topic, payload)

    def ack(self, where: Callable[[Sent], bool] = lambda _: True) -> int:
        """Acknowledge the held messages on the wire that ``where`` picks, oldest first; how many."""
        with self._lock:
            picked = [mid for mid, held in self._held.items() if held.on_wire and where(held.message)]
            acks = [self._held.pop(mid).on_ack for mid in picked]
        for on_ack in acks:
            if on_ack is not None:
                on_ack()
        return len(picked)

    def unacked(self) -> list[Sent]:
        with self._lock:
            return [held.message for held in self._held.values()]

    def on(self, suffix: str, *, since: int = 0) -> list[Sent]:
        """What went on the wire to topics ending in ``suffix`` (from index ``since`` of ``sent``)."""
        with self._lock:
            return [m for m in self.sent[since:] if m.topic.endswith(suffix)]
