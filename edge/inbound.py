"""What the cloud sends the room: desired states, restored profiles, replay requests.

Messages arrive on the link's thread, which also reads every PUBACK, so each is only
decoded, checked and handed to its desk (``edge.desired``, ``edge.profile_store``,
``edge.replay``); the work it asks for happens on the publisher's thread or the sensor
loop. A message a desk refuses is logged and counted there. One that makes a desk fail
outright is logged and counted here: an exception thrown into paho would end its
network thread, and with it every reconnect.
"""

from __future__ import annotations

import logging
import threading

from edge.desired import ServiceDesk
from edge.profile_store import ProfileStore
from edge.replay import ReplayDesk

log = logging.getLogger(__name__)


class Inbound:
    def __init__(self, service: ServiceDesk, profiles: ProfileStore, replay: ReplayDesk) -> None:
        self.service = service
        self.profiles = profiles
        self.replay = replay
        self._lock = threading.Lock()
        self._failed = 0

    def filters(self) -> list[tuple[str, int]]:
        """Subscribed on every connect: the retained desired states and profiles then arrive at once."""
        return [(self.replay.topic, 1), (self.service.filter, 1), (self.profiles.filter, 1)]

    def route(self, topic: str, payload: bytes) -> bool:
        """Hand the message to its desk; True if the publisher's thread has work from it."""
        try:
            return self._route(topic, payload)
        except Exception:
            with self._lock:
                self._failed += 1
            log.exception("could not take a message on %s", topic[:200])
            return False

    @property
    def failed(self) -> int:
        with self._lock:
            return self._failed

    def _route(self, topic: str, payload: bytes) -> bool:
        if self.service.wants(topic):
            return self.service.submit(topic, payload)
        if self.profiles.wants(topic):  # checked here, adopted on the sensor loop
            self.profiles.submit(topic, payload)
            return False
        if topic != self.replay.topic:
            # amqtt 0.12 also hands a client retained messages of filters it never subscribed
            # (see PITFALLS.md): not a replay request, so not counted as a malformed one.
            log.debug("ignoring a message on %s: not subscribed", topic[:200])
            return False
        return self.replay.submit(topic, payload)
