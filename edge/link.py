"""The room's connection to the broker, as the rest of the edge sees it.

The drain window, the announcements and the agent speak to this protocol rather than
to paho, so a unit test can put a fake in its place (``tests.edge.fake_link``) and
decide when the link is up, what arrives and which publish is acknowledged, with no
broker running. ``edge.paho_link.PahoLink`` is the real one.

The contract is paho's behaviour written down, because the others rely on it:

* ``publish`` never blocks. True means the link took the message. A QoS 1 message it
  took stays its own until the broker acknowledges it, and the link resends it after a
  reconnect, so the caller must not hand it over a second time; ``on_ack`` then runs on
  the link's thread. A QoS 1 message is taken while down too, and sent after the next
  connect. False means it was not taken (a QoS 0 message while down), and the caller
  still holds it.
* what the link holds is lost when the process ends: durability is the outbox's job.
* ``LinkEvents`` are called on the link's own thread, which also reads every PUBACK:
  they must return at once and must never wait for a thread that publishes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

Ack = Callable[[], None]


@dataclass(frozen=True)
class LinkStats:
    connected: bool
    connects: int
    connect_failures: int


class LinkEvents(Protocol):
    """What the link tells its owner (on the link's thread)."""

    def link_up(self) -> None:
        """Connected (again): the session's subscriptions should be made now."""

    def link_down(self) -> None:
        """The connection was lost; the link reconnects by itself."""

    def message(self, topic: str, payload: bytes) -> None:
        """A message arrived on a subscribed topic (or a retained one after a subscribe)."""


class Link(Protocol):
    def bind(self, events: LinkEvents) -> None:
        """Who hears of connects, drops and messages; set once, before ``start``."""

    def start(self) -> None:
        """Begin connecting in the background: the agent runs whether the broker is there or not."""

    def close(self) -> None:
        """Disconnect cleanly (the broker then drops the Last Will) and stop the link's thread."""

    @property
    def connected(self) -> bool: ...

    def alive(self) -> bool:
        """Whether the link's thread runs: a dead one never reconnects."""

    def stats(self) -> LinkStats: ...

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool, on_ack: Ack | None = None) -> bool:
        """Take a message (see the module docstring for what True promises)."""

    def subscribe(self, filters: Sequence[tuple[str, int]]) -> None:
        """Subscribe (topic filter, QoS) pairs; called from ``link_up``, since a session may be new."""
