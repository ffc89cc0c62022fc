"""Machine profiles at the edge: kept in SQLite, published retained, restored from the broker.

A profile (``kywash.contract.MachineProfile``) is what one machine's detector learned
(``edge.learning.Learned``: its standby, its recent cycles). The edge keeps it in the
outbox's database (table ``profiles``, one row per machine id holding the JSON as
published) and publishes it retained (QoS 1) on ``.../machine/{machine}/profile``:

* the sensor loop (``edge.sensor_loop``), after each batch, stores the profile of every detector
  whose ``learned_revision`` moved (``save``) and asks the publisher to send it; on every
  (re)connect the publisher sends every stored profile (``stored_messages``). A machine
  that has learned nothing has no row and nothing is published for it, so a replaced Pi
  with an empty database never overwrites the broker's retained profiles.
* restore: the publisher subscribes the room's ``profile`` topics on every connect, so
  the broker's retained profiles (the cloud's, or this edge's own before its SD card
  was wiped) come back. paho's thread calls ``submit``: decode and check only (not
  JSON, not a profile, another room's or machine's, the wrong kind: refused with one log
  line and counted in ``bad``, the old profile kept), then hand over. The sensor loop
  ``take``\\ s each one and offers it to ``CycleDetector.adopt``; when ours learned more,
  it publishes ours again so the broker holds the newer. Our own publications come back
  too (there is no "no local" in MQTT 3.1.1): they learned as much as ours and change
  nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

import paho.mqtt.client as mqtt

from edge.config import RoomConfig
from edge.handoff import HandOff
from edge.learning import Learned
from edge.messages import profile_message
from edge.outbox import Outbox
from kywash.contract import TOPIC_ROOT, ContractError, MachineProfile, decode, decode_message, machine_topic

log = logging.getLogger(__name__)

MAX_QUEUED = 256


class ProfileStore:
    """The room's stored profiles, and the hand-over of restored ones from paho's thread."""

    def __init__(self, config: RoomConfig, outbox: Outbox) -> None:
        self.config = config
        self.filter = f"{TOPIC_ROOT}/{config.site}/{config.room}/machine/+/profile"
        self._outbox = outbox
        self._kinds = {m.id: m.kind for m in config.machines}
        self._inbox: HandOff[tuple[str, Learned]] = HandOff(MAX_QUEUED)
        self._lock = threading.Lock()
        self._bad = self._received = 0

    # --- SQLite ----------------------------------------------------------------------

    def stored(self) -> dict[str, Learned]:
        """The stored profiles of this room's machines (an unreadable row is logged and skipped)."""
        out: dict[str, Learned] = {}
        for machine, raw in self._outbox.profiles().items():
            try:
                out[machine] = self._check(machine, decode(MachineProfile, raw))
            except ContractError as exc:
                log.warning("stored profile of %s is unusable (%s); it learns afresh", machine, exc)
        return out

    def save(self, learned: Mapping[str, Learned], now: float) -> None:
        """Store these machines' profiles (raises ``OutboxError`` when the disk refuses)."""
        rows = {m: profile_message(self.config, m, p, now)[1] for m, p in learned.items() if m in self._kinds}
        if rows:
            self._outbox.save_profiles(rows, now=now)

    def stored_messages(self, machines: set[str] | None = None) -> list[tuple[str, bytes]]:
        """(topic, payload) of the stored profiles of ``machines`` (None: all), for the publisher."""
        return [
            (machine_topic(self.config.site, self.config.room, machine, "profile"), raw)
            for machine, raw in self._outbox.profiles().items()
            if machine in self._kinds and (machines is None or machine in machines)
        ]

    # --- from the broker ----------------------------------------------------------------

    def wants(self, topic: str) -> bool:
        return mqtt.topic_matches_sub(self.filter, topic)

    def submit(self, topic: str, payload: bytes) -> bool:
        """Decode, check and queue (paho's thread); False, logged and counted, if refused."""
        if not payload:  # a cleared retained message: nothing to restore
            return False
        try:
            ref, message = decode_message(topic, payload)
            if not isinstance(message, MachineProfile):
                raise ContractError("invalid", "not a machine profile")
            learned = self._check(ref.machine, message)
        except ContractError as exc:
            with self._lock:
                self._bad += 1
            log.warning("refusing a profile on %s (the old one is kept): %s", topic[:200], exc)
            return False
        with self._lock:
            self._received += 1
        self._inbox.put((message.machine, learned))
        return True

    def take(self) -> tuple[str, Learned] | None:
        """The oldest restored profile waiting (the sensor loop's thread), or None."""
        return self._inbox.take()

    @property
    def bad(self) -> int:
        with self._lock:
            return self._bad

    @property
    def received(self) -> int:
        with self._lock:
            return self._received

    def _check(self, machine: str | None, profile: MachineProfile) -> Learned:
        kind = self._kinds.get(machine or "")
        if kind is None or profile.machine != machine:
            raise ContractError("invalid", f"profile of {profile.machine!r}, not of one of this room's machines")
        if profile.kind is not kind:
            raise ContractError("invalid", f"a {profile.kind.value}'s profile for {machine}, a {kind.value}")
        return Learned.from_payload(profile)
