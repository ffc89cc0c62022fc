"""The cloud's desired state per machine (out of service or not): applied once, acknowledged.

The cloud publishes ``.../machine/{machine}/desired`` retained, with a revision that grows
on every change; the publisher subscribes to the room's desired topics on every connect,
so an edge that was offline reads the latest revision as soon as it is back. Threads:

* paho's network thread calls ``submit``: decode and queue only (a malformed message is
  one log line and a counter, never an exception into paho).
* the publisher's thread calls ``apply``: a revision higher than the last one applied to
  that machine is stored in the outbox's ``meta`` table (``desired:<machine>``) and
  returned, so the publisher republishes the machine's state, lights or dims its
  indicator LED and publishes the ``ack``. A revision already applied (the same retained
  message after a reconnect or a restart) changes nothing and is not acknowledged again.
  The claim's category and extra minutes travel with it: the publisher hands each applied
  state to the agent (``Publisher.on_desired``), whose sensor loop gives them to the
  machine's detector as its prior (``CycleDetector.set_prior``), as it does at start
  with the stored ones.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, replace

import paho.mqtt.client as mqtt

from edge.config import RoomConfig
from edge.errors import OutboxError
from edge.handoff import HandOff
from edge.outbox import Outbox
from kywash.clock import to_datetime
from kywash.contract import TOPIC_ROOT, ContractError, MachineAck, MachineDesired, decode_message, machine_topic

log = logging.getLogger(__name__)

META_PREFIX = "desired:"
MAX_QUEUED = 256


@dataclass(frozen=True, slots=True)
class AppliedService:
    """What the edge last applied to a machine."""

    machine: str
    revision: int
    out_of_service: bool
    reason: str | None
    applied_at: float
    claim_category: str | None = None
    """The live claim's category, a prior for the machine's detector (the agent sets it)."""
    claim_extra_minutes: int = 0


@dataclass
class DesiredStats:
    received: int = 0
    applied: int = 0
    already_applied: int = 0
    malformed: int = 0


class ServiceDesk:
    """Takes desired states from paho's thread and applies them on the publisher's."""

    def __init__(self, config: RoomConfig, outbox: Outbox) -> None:
        self.config = config
        self.filter = f"{TOPIC_ROOT}/{config.site}/{config.room}/machine/+/desired"
        self._outbox = outbox
        self._known = {m.id for m in config.machines}
        self._inbox: HandOff[MachineDesired] = HandOff(MAX_QUEUED)
        self._lock = threading.Lock()
        self._stats = DesiredStats()
        self._applied: dict[str, AppliedService] = {}
        for machine in self._known:
            raw = outbox.get_meta(META_PREFIX + machine)
            if raw:
                stored = json.loads(raw)
                self._applied[machine] = AppliedService(machine=machine, **stored)

    def wants(self, topic: str) -> bool:
        return mqtt.topic_matches_sub(self.filter, topic)

    def submit(self, topic: str, payload: bytes) -> bool:
        """Decode and queue (paho's thread); False, logged and counted, if it is not for us."""
        if not payload:  # a cleared retained message: nothing is wanted of the machine any more
            return False
        try:
            ref, message = decode_message(topic, payload)
            if not isinstance(message, MachineDesired) or ref.machine not in self._known:
                raise ContractError("invalid", f"not a desired state of one of this room's machines: {topic}")
        except ContractError as exc:
            with self._lock:
                self._stats.malformed += 1
            log.warning("ignoring a desired state on %s: %s", topic[:200], exc)
            return False
        with self._lock:
            self._stats.received += 1
        self._inbox.put(message)
        return True

    @property
    def waiting(self) -> bool:
        return self._inbox.waiting

    def apply(self, now: float) -> list[AppliedService]:
        """Apply every queued desired state newer than the machine's last (publisher's thread)."""
        done: list[AppliedService] = []
        while (wish := self._inbox.take()) is not None:
            with self._lock:
                last = self._applied.get(wish.machine)
            if last is not None and wish.revision <= last.revision:
                with self._lock:
                    self._stats.already_applied += 1
                continue
            applied = AppliedService(
                wish.machine, wish.revision, wish.out_of_service, wish.reason, now,
                wish.claim_category, wish.claim_extra_minutes,
            )  # fmt: skip
            try:
                self._outbox.put_meta(META_PREFIX + wish.machine, json.dumps(_stored(applied)))
            except OutboxError as exc:  # not stored: not applied; the retained message comes again
                log.error("could not store desired revision %d of %s: %s", wish.revision, wish.machine, exc)
                continue
            with self._lock:
                self._applied[wish.machine] = applied
                self._stats.applied += 1
            log.info(
                "%s is %s (desired revision %d%s)", wish.machine,
                "out of service" if wish.out_of_service else "in service", wish.revision,
                f": {wish.reason}" if wish.reason else "",
            )  # fmt: skip
            done.append(applied)
        return done

    def out_of_service(self, machine: str) -> bool:
        with self._lock:
            applied = self._applied.get(machine)
        return applied is not None and applied.out_of_service

    def applied(self) -> dict[str, AppliedService]:
        with self._lock:
            return dict(self._applied)

    def stats(self) -> DesiredStats:
        with self._lock:
            return replace(self._stats)

    def ack_message(self, applied: AppliedService) -> tuple[str, bytes]:
        payload = MachineAck(
            machine=applied.machine,
            revision=applied.revision,
            out_of_service=applied.out_of_service,
            applied_at=to_datetime(applied.applied_at),
        )
        return machine_topic(self.config.site, self.config.room, applied.machine, "ack"), payload.to_bytes()


def _stored(applied: AppliedService) -> dict[str, object]:
    return {
        "revision": applied.revision,
        "out_of_service": applied.out_of_service,
        "reason": applied.reason,
        "applied_at": applied.applied_at,
        "claim_category": applied.claim_category,
        "claim_extra_minutes": applied.claim_extra_minutes,
    }
