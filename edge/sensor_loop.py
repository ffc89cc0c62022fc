"""The sensor loop: door edges and current readings in, events on disk, the publisher told.

One thread is the only consumer of the readings queue and the only caller of the
detectors, so neither needs a lock. It wakes at least every ``TICK_S`` of real time to
tick debouncers and detectors. For every batch of transitions it writes the events and
the machines' new states to the outbox in one transaction, then tells the outlet (the
publisher): nothing is sent that is not on disk first. If the write fails (disk full),
the batch stays in memory and is retried every ``SAVE_RETRY_S`` (one log line per
outage, and a reminder per minute): events are never dropped while the agent runs.
Telemetry (current per machine, QoS 0) goes out every ``telemetry_interval_s`` of clock
time and is not stored: a sample is worth little a few minutes later.

A machine whose current has not been heard for ``board.silence_fault_s`` goes
``sensor_fault`` (``SilenceWatch``); its next reading recovers it.

Profiles (``edge.profile_store``): after every turn's save, the profile of each detector
whose ``learned_revision`` moved is stored and the outlet asked to send it. Profiles
restored from the broker and the claim priors of applied desired states arrive from
other threads through hand-offs and are given to the detectors here (``adopt``,
``set_prior``). Each machine's cycle timing is kept for the publisher's state messages.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Protocol

from edge import messages
from edge.config import MachineConfig, RoomConfig
from edge.desired import AppliedService
from edge.detector import CycleDetector, DetectorSnapshot, Transition
from edge.errors import OutboxError
from edge.handoff import HandOff
from edge.learning import Learned
from edge.outbox import Outbox, OutboxFull
from edge.profile_store import ProfileStore
from edge.restore import restore_detectors
from edge.sensors.door import DoorSwitch
from edge.sensors.readings import BoardReading, DoorEdge
from edge.sensors.silence import SilenceWatch
from edge.status import AgentStats
from edge.watchdog import Heartbeat
from kywash.clock import Clock
from kywash.contract import Door

log = logging.getLogger(__name__)

TICK_S = 0.05
MAX_BATCH = 500
SENSOR_STALE_S = 10.0  # the loop turns every 50 ms; this long without a turn is stuck
SAVE_RETRY_S = 1.0
SAVE_REMIND_S = 60.0

Change = tuple[str, Transition]
Reading = DoorEdge | BoardReading


class Outlet(Protocol):
    """Where the loop's news goes (the publisher); each call returns at once."""

    def notify(self, machines: Iterable[str] = ()) -> None: ...

    def notify_profiles(self, machines: Iterable[str]) -> None: ...

    def publish_telemetry(self, topic: str, payload: bytes) -> bool: ...


class SensorLoop:
    """``restore()``, then ``start()``; ``stop()`` joins the thread."""

    def __init__(
        self, config: RoomConfig, *, clock: Clock, boot_id: str, started_at: float, outbox: Outbox,
        doors: Mapping[str, DoorSwitch], readings: queue.Queue[Reading], outlet: Outlet, profiles: ProfileStore,
        stats: AgentStats | None = None,
    ) -> None:  # fmt: skip
        self.config = config
        self.clock = clock
        self.boot_id = boot_id
        self.stats = stats if stats is not None else AgentStats()
        self.priors: HandOff[AppliedService] = HandOff(256)
        """Applied desired states (from the publisher's thread), each a prior for its detector."""
        self._outbox = outbox
        self._doors = doors
        self._queue = readings
        self._outlet = outlet
        self._profiles = profiles
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._heartbeat = Heartbeat()
        self._detectors: dict[str, CycleDetector] = {}
        self._snapshots: dict[str, DetectorSnapshot] = {}
        self._timing: dict[str, messages.CycleTiming] = {}
        self._silence = SilenceWatch((), config.board.silence_fault_s, started_at, time.monotonic())
        self._unsaved: list[Change] = []
        self._warned_channels: set[str] = set()
        self._next_telemetry = started_at + config.telemetry_interval_s
        self._save_retry_at = 0.0
        self._save_failing_since: float | None = None
        self._save_reminded = 0.0
        self._profile_revisions: dict[str, int] = {}  # each detector's learned_revision last stored
        self._profiles_due: set[str] = set()  # ours learned more than the broker's: store and say again
        self._profile_retry_at = 0.0
        self._profile_failing = False

    # --- lifecycle ---------------------------------------------------------------------

    def restore(self, now: float, applied: Mapping[str, AppliedService]) -> None:
        """Detectors from the stored states and the doors as they are now (see ``edge.restore``)."""
        while True:  # door edges from before start are superseded by reading the pins now
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        levels = {machine_id: switch.resync() for machine_id, switch in self._doors.items()}
        stored = self._profiles.stored()
        restored = restore_detectors(self.config, self._outbox.machine_states(), levels, now, stored)
        self._detectors = restored.detectors
        for machine_id, service in applied.items():
            if machine_id in self._detectors:
                self._detectors[machine_id].set_prior(service.claim_category, service.claim_extra_minutes)
        self._profile_revisions = {machine_id: d.learned_revision for machine_id, d in self._detectors.items()}
        self._timing.update((mid, messages.detector_timing(d)) for mid, d in self._detectors.items())
        self._snapshots = {machine_id: d.snapshot for machine_id, d in self._detectors.items()}
        self._silence = SilenceWatch(self._doors, self.config.board.silence_fault_s, now, time.monotonic())
        self._outbox.save_states(restored.new_rows, now=now)
        self._unsaved += restored.changes
        self._save()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kywash-sensor-loop", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    @property
    def started(self) -> bool:
        return self._thread is not None

    # --- for the agent (any thread) --------------------------------------------------------

    def healthy(self) -> tuple[bool, str]:
        thread = self._thread
        if thread is None or not thread.is_alive():
            return False, "sensor loop is not running"
        age = self._heartbeat.age()
        if age > SENSOR_STALE_S:
            return False, f"sensor loop stuck for {age:.0f} s"
        return True, "sensors ok"

    def age(self) -> float:
        """Seconds since the loop last turned."""
        return self._heartbeat.age()

    def timing(self, machine_id: str) -> messages.CycleTiming | None:
        """A machine's cycle timing as last saved (the publisher's state messages)."""
        return self._timing.get(machine_id)

    def snapshots(self) -> dict[str, DetectorSnapshot]:
        """Each machine's detector as last seen by the loop (a copy: safe from any thread)."""
        return dict(self._snapshots)

    @property
    def unsaved(self) -> int:
        """Events kept in memory because the outbox refused them."""
        return len(self._unsaved)

    def learned(self, machine_id: str) -> Learned:
        """What the machine's detector has learned so far (an immutable value: safe from any thread)."""
        return self._detectors[machine_id].learned

    # --- the loop ------------------------------------------------------------------------

    def _run(self) -> None:
        next_tick = 0.0
        while not self._stop.is_set():
            self._heartbeat.beat()
            try:
                for item in self._next_items():
                    self._handle(item)
                self._take_handed_over()
                self._tick_doors(self.clock.now())
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_S
                    self._tick(self.clock.now())
                self._save()
                self._save_profiles()
                self._telemetry(self.clock.now())
            except Exception:  # one bad step must not stop the room being watched
                self.stats.loop_errors += 1
                log.exception("sensor loop step failed")
                self._stop.wait(TICK_S)

    def _next_items(self) -> list[Reading]:
        try:
            items = [self._queue.get(timeout=TICK_S)]
        except queue.Empty:
            return []
        while len(items) < MAX_BATCH:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _handle(self, item: Reading) -> None:
        if isinstance(item, DoorEdge):
            self.stats.door_edges += 1
            switch = self._doors.get(item.machine_id)
            door = switch.on_edge(item) if switch is not None else None
            if door is not None:
                self._door_changed(item.machine_id, item.ts, door)
            return
        self.stats.board_readings += 1
        present = [m for m in self.config.machines if m.channel <= len(item.amps)]
        self._silence.frame(item.ts, time.monotonic(), (m.id for m in present))
        for m in self.config.machines:
            if m.channel > len(item.amps):
                self._missing_channel(m, len(item.amps))
                continue
            changes = self._detectors[m.id].on_current(item.ts, item.amps[m.channel - 1])
            self._unsaved += [(m.id, change) for change in changes]

    def _door_changed(self, machine_id: str, ts: float, door: Door) -> None:
        self.stats.door_changes += 1
        self._unsaved += [(machine_id, change) for change in self._detectors[machine_id].on_door(ts, door)]

    def _missing_channel(self, machine: MachineConfig, channels: int) -> None:
        self.stats.missing_channel += 1
        if machine.id not in self._warned_channels:
            self._warned_channels.add(machine.id)
            log.warning(
                "%s is on board channel %d but the board sends only %d channels", machine.id, machine.channel, channels
            )

    def _tick_doors(self, now: float) -> None:
        """Debounce corrections, as soon as a lockout is over (cheap: a compare per door)."""
        for machine_id, switch in self._doors.items():
            door = switch.tick(now)
            if door is not None:
                self._door_changed(machine_id, now, door)

    def _tick(self, now: float) -> None:
        silent = self._silence.silent(now, time.monotonic())
        for machine_id, detector in self._detectors.items():
            if machine_id in silent:
                changes = detector.on_sensor_fault(now, silent[machine_id])
                self.stats.sensor_faults += len(changes)
            else:
                changes = detector.on_tick(now)
            self._unsaved += [(machine_id, change) for change in changes]
            self._snapshots[machine_id] = detector.snapshot

    def _save(self) -> None:
        """Events and new states of this batch in one transaction, then tell the outlet."""
        if not self._unsaved or time.monotonic() < self._save_retry_at:
            return
        changes = self._unsaved
        touched = list(dict.fromkeys(machine_id for machine_id, _ in changes))
        drafts = [
            messages.event_draft(self.config, self.config.machine(mid), self.boot_id, change) for mid, change in changes
        ]
        states = [messages.state_row(mid, self._detectors[mid].snapshot) for mid in touched]
        try:
            self._outbox.append_events(drafts, states, now=self.clock.now())
        except OutboxError as exc:  # keep them in memory and retry: never drop an event
            self._save_failed(len(drafts), exc)
            return
        if self._save_failing_since is not None:
            log.warning("outbox writable again after %.0f s", time.monotonic() - self._save_failing_since)
            self._save_failing_since = None
        self._unsaved = []
        self.stats.events_written += len(drafts)
        for mid in touched:
            self._snapshots[mid] = self._detectors[mid].snapshot
            self._timing[mid] = messages.detector_timing(self._detectors[mid])
        self._outlet.notify(touched)

    def _save_failed(self, count: int, exc: OutboxError) -> None:
        """One error line per outage, a reminder each minute; retry after ``SAVE_RETRY_S``."""
        mono = time.monotonic()
        self.stats.outbox_errors += 1
        self.stats.outbox_full += isinstance(exc, OutboxFull)
        self._save_retry_at = mono + SAVE_RETRY_S
        if self._save_failing_since is None:
            self._save_failing_since = self._save_reminded = mono
            log.error("cannot write %d events to the outbox (kept in memory, retrying): %s", count, exc)
        elif mono - self._save_reminded >= SAVE_REMIND_S:
            self._save_reminded = mono
            log.error("outbox still unwritable; %d events waiting in memory: %s", count, exc)

    def _take_handed_over(self) -> None:
        """Claim priors (publisher's thread) and restored profiles (link's thread), given to detectors."""
        while (applied := self.priors.take()) is not None:
            detector = self._detectors.get(applied.machine)
            if detector is not None:
                detector.set_prior(applied.claim_category, applied.claim_extra_minutes)
                self._retime(applied.machine)
        while (offer := self._profiles.take()) is not None:
            machine_id, learned = offer
            detector = self._detectors.get(machine_id)
            if detector is None:
                continue
            if detector.adopt(learned):  # its revision moves: stored and published by _save_profiles
                self.stats.profiles_adopted += 1
                log.info("%s: took the broker's profile (%d cycles learned)", machine_id, learned.learned)
                self._retime(machine_id)
            elif detector.learned.learned > learned.learned:  # ours knows more: the broker should hold ours
                self._profiles_due.add(machine_id)

    def _retime(self, machine_id: str) -> None:
        """The machine's expected end may have moved (a prior, a profile): its state says so."""
        timing = messages.detector_timing(self._detectors[machine_id])
        if self._timing.get(machine_id) != timing:
            self._timing[machine_id] = timing
            self._outlet.notify([machine_id])

    def _save_profiles(self) -> None:
        """Store the profiles that changed this turn, then have the outlet send them retained."""
        due = {mid for mid, d in self._detectors.items() if d.learned_revision != self._profile_revisions.get(mid)}
        due |= self._profiles_due
        if not due or time.monotonic() < self._profile_retry_at:
            return
        revisions = {mid: self._detectors[mid].learned_revision for mid in due}
        try:
            self._profiles.save({mid: self._detectors[mid].learned for mid in due}, self.clock.now())
        except OutboxError as exc:  # kept in the detectors; stored once the disk allows
            self._profile_retry_at = time.monotonic() + SAVE_RETRY_S
            if not self._profile_failing:
                log.error("cannot store the learned profiles of %s (retrying): %s", ", ".join(sorted(due)), exc)
            self._profile_failing = True
            return
        self._profile_failing = False
        self._profile_revisions.update(revisions)
        self._profiles_due -= due
        self.stats.profiles_saved += len(due)
        self._outlet.notify_profiles(due)

    def _telemetry(self, now: float) -> None:
        if now < self._next_telemetry:
            return
        self._next_telemetry = now + self.config.telemetry_interval_s
        for machine_id, detector in self._detectors.items():
            message = messages.telemetry_message(self.config, machine_id, detector.snapshot, now)
            self._outlet.publish_telemetry(*message)
