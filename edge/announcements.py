"""The room's retained messages: all of them on every connect, one machine's when it changed.

Retained messages are what a dashboard or cloud that starts later reads first, and the
broker may have lost them (restarted without persistence) or hold an older boot's. So on
every connect the room says everything again, in an order a newcomer can follow: room
``info`` first (a cloud learns the room from it), then ``online``, every machine's
``state``, the desired-state ``ack``\\ s still owed, every stored ``profile`` and the
``health``. Between connects only what changed goes out.

A desired state's ``ack`` goes after the ``state`` that shows the change, and one the link
did not take is owed until it does. A machine's ``state`` carries its out-of-service flag
from ``edge.desired`` and its cycle timing as the agent's sensor loop last saw it
(``timing``). ``send`` runs on the publisher's thread; the marks come from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from edge import messages
from edge.config import RoomConfig
from edge.desired import AppliedService, ServiceDesk
from edge.link import Link
from edge.outbox import Outbox
from edge.profile_store import ProfileStore
from kywash.clock import Clock
from kywash.contract import ACK_QOS, PROFILE_QOS, STATE_QOS


class Announcements:
    def __init__(
        self, config: RoomConfig, link: Link, outbox: Outbox, service: ServiceDesk, profiles: ProfileStore, *,
        clock: Clock, boot_id: str, started_at: float,
    ) -> None:  # fmt: skip
        self.config = config
        self._link = link
        self._outbox = outbox
        self._service = service
        self._profiles = profiles
        self._clock = clock
        self.boot_id = boot_id
        self._started_at = started_at
        self._known = {m.id for m in config.machines}
        self._lock = threading.Lock()
        self._everything = False
        self._states: set[str] = set()
        self._stored_profiles: set[str] = set()
        self._acks: list[AppliedService] = []
        self._health = False
        self.timing: Callable[[str], messages.CycleTiming | None] | None = None
        """A machine's (cycle_started_at, expected_end) for its state message (set by the agent)."""
        self.health: Callable[[], tuple[str, bytes]] | None = None
        """Builds the retained ``health`` message (set by the agent)."""

    # --- marks (any thread) --------------------------------------------------------------

    def connected(self) -> None:
        """A new connection: say everything again."""
        with self._lock:
            self._everything = True

    def states_changed(self, machines: Iterable[str]) -> None:
        with self._lock:
            self._states.update(machines)

    def profiles_changed(self, machines: Iterable[str]) -> None:
        with self._lock:
            self._stored_profiles.update(machines)

    def health_due(self) -> None:
        with self._lock:
            self._health = True

    def applied(self, changes: Iterable[AppliedService]) -> None:
        """Desired states just applied: their machines' states, then their acks."""
        changes = list(changes)
        with self._lock:
            self._states.update(change.machine for change in changes)
            self._acks.extend(changes)

    # --- sending (the publisher's thread, while connected) --------------------------------

    def send(self) -> None:
        with self._lock:
            everything, self._everything = self._everything, False
            states, self._states = self._states, set()
            acks, self._acks = self._acks, []
            health, self._health = self._health, False
            profiles, self._stored_profiles = self._stored_profiles, set()
        if everything:
            self._retain(messages.info_message(self.config, self.boot_id, self._started_at), STATE_QOS)
            self._retain(messages.status_message(self.config, self.boot_id, True, self._clock.now()), STATE_QOS)
        self._send_states(None if everything else states)
        self._send_acks(acks)
        self._send_profiles(None if everything else profiles)
        if (everything or health) and self.health is not None:
            self._retain(self.health(), STATE_QOS)

    def offline(self) -> tuple[str, bytes]:
        """The status a clean close publishes itself, since the broker drops the will then."""
        return messages.status_message(self.config, self.boot_id, False, self._clock.now())

    def _retain(self, message: tuple[str, bytes], qos: int) -> bool:
        return self._link.publish(message[0], message[1], qos=qos, retain=True)

    def _send_states(self, machines: set[str] | None) -> None:
        """Retained state of ``machines`` (None: every machine), from the outbox's table."""
        if machines is not None and not machines:
            return
        now = self._clock.now()
        for machine, row in self._outbox.machine_states().items():
            if machine in self._known and (machines is None or machine in machines):
                service = self._service.out_of_service(machine)
                timing = self.timing(machine) if self.timing is not None else None
                self._retain(messages.state_message(self.config, row, now, out_of_service=service, timing=timing),
                             STATE_QOS)  # fmt: skip

    def _send_acks(self, acks: list[AppliedService]) -> None:
        owed = [a for a in acks if not self._retain(self._service.ack_message(a), ACK_QOS)]
        if owed:
            with self._lock:
                self._acks = owed + self._acks

    def _send_profiles(self, machines: set[str] | None) -> None:
        """Retained profiles of ``machines`` (None: every stored one); unsent, the next connect sends all."""
        if machines is not None and not machines:
            return
        for message in self._profiles.stored_messages(machines):
            self._retain(message, PROFILE_QOS)
