"""The edge agent: wires door switches, the current board, the detectors, the outbox and MQTT.

Data flow (one room)::

    DoorSwitch xN -+ (gpiozero thread)                          +-> Publisher -> broker
    CurrentBoard --+-> queue -> sensor loop -> CycleDetector xN -+   (paho thread + own thread)
                     (reader thread)  (one thread)               +-> Outbox (SQLite)

The sensor loop is the only consumer of the queue and the only caller of the detectors,
so they need no locks. It wakes at least every 50 ms of real time to tick debouncers and
detectors. For every batch of transitions it writes the events and the machines' new
states to the outbox in one transaction, then wakes the publisher: nothing is sent that
is not on disk first. If the write fails (disk full), the batch stays in memory and is
retried every ``SAVE_RETRY_S`` (one log line per outage, and a reminder per minute):
events are never dropped while the agent runs. Telemetry (current per machine, QoS 0)
goes to the publisher every ``telemetry_interval_s`` of clock time and is not stored: a
sample is worth little a few minutes later (the publisher buffers a few while offline).

Health: the sensor loop beats a ``Heartbeat`` every turn; ``health()`` combines it with
the publisher's, and ``edge.watchdog`` pings systemd only while both are fine. A full
disk or an absent broker is not unhealthy: a restart would not cure either. A status
snapshot (``status()``) is stored in the outbox every ``STATUS_EVERY_S`` and on close,
for ``kywash edge status``, which runs in another process.

A machine whose current has not been heard for ``board.silence_fault_s`` goes
``sensor_fault`` (``SilenceWatch``); its next reading recovers it.

Profiles (``edge.profile_store``): each detector starts with its machine's stored profile.
After every turn's save, the profile of each detector whose ``learned_revision`` moved is
stored in the outbox's ``profiles`` table and the publisher sends it retained. Profiles
restored from the broker and the claim prior of applied desired states arrive from paho's
and the publisher's threads through hand-offs; the sensor loop takes them each turn and is
the only one that touches a detector (``adopt``, ``set_prior``). It keeps each machine's
``cycle_started_at`` and ``expected_end`` for the publisher's state messages.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace

from gpiozero.pins import Factory

from edge import messages
from edge.config import MachineConfig, RoomConfig
from edge.desired import AppliedService
from edge.detector import CycleDetector, DetectorSnapshot, Transition
from edge.errors import OutboxError
from edge.handoff import HandOff
from edge.health import Notable, health_message, health_payload
from edge.learning import Learned
from edge.outbox import Outbox, OutboxFull
from edge.publisher import Publisher
from edge.restore import restore_detectors
from edge.sensors.board import CurrentBoard
from edge.sensors.door import DoorSwitch
from edge.sensors.indicator import ServiceIndicator
from edge.sensors.readings import BoardReading, DoorEdge
from edge.sensors.silence import SilenceWatch
from edge.status import STATUS_KEY, AgentStats, AgentStatus, MachineStatus
from edge.watchdog import Heartbeat, Notifier, Watchdog, watchdog_interval
from kywash.clock import Clock
from kywash.contract import Door

log = logging.getLogger(__name__)

TICK_S = 0.05
MAX_BATCH = 500
OUTBOX_FILE = "outbox.db"
SENSOR_STALE_S = 10.0  # the loop turns every 50 ms; this long without a turn is stuck
SAVE_RETRY_S = 1.0
SAVE_REMIND_S = 60.0
STATUS_EVERY_S = 5.0

Change = tuple[str, Transition]


class EdgeAgent:
    """One laundry room's agent. Construct (claims the GPIO pins), ``start()``, ``close()``.

    ``pin_factory`` is a gpiozero pin factory (``None``: gpiozero's default, the Pi's
    pins). A simulator drives the mock pins after construction and before ``start()``,
    which takes the pins' levels as the doors' starting state. As a context manager the
    agent is closed on exit (``start()`` stays explicit). ``environ`` (default: the
    process's) supplies systemd's ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC``.
    """

    def __init__(
        self, config: RoomConfig, *, clock: Clock, pin_factory: Factory | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.config = config
        self.clock = clock
        self.boot_id = uuid.uuid4().hex
        self.started_at = clock.now()
        self.stats = AgentStats()
        self.doors: dict[str, DoorSwitch] = {}
        self.indicators: dict[str, ServiceIndicator] = {}
        self._health_sent_at = -float("inf")
        self._health_notable: Notable | None = None
        self._queue: queue.Queue[DoorEdge | BoardReading] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._detectors: dict[str, CycleDetector] = {}
        self._snapshots: dict[str, DetectorSnapshot] = {}
        self._silence = SilenceWatch((), config.board.silence_fault_s, self.started_at, time.monotonic())
        self._unsaved: list[Change] = []
        self._warned_channels: set[str] = set()
        self._next_telemetry = self.started_at + config.telemetry_interval_s
        self._heartbeat = Heartbeat()
        self._save_retry_at = 0.0
        self._save_failing_since: float | None = None
        self._save_reminded = 0.0
        self._status_thread: threading.Thread | None = None
        self._priors: HandOff[AppliedService] = HandOff(256)  # applied desired states, from the publisher
        self._timing: dict[str, messages.CycleTiming] = {}  # written by the sensor loop only
        self._profile_revisions: dict[str, int] = {}  # each detector's learned_revision last stored
        self._profiles_due: set[str] = set()  # ours learned more than the broker's: store and say again
        self._profile_retry_at = 0.0
        self._profile_failing = False
        self.watchdog = Watchdog(Notifier.from_env(environ), self.health, watchdog_interval(environ))
        self.outbox = Outbox(config.data_dir / OUTBOX_FILE, archive_events=config.archive_events)
        b = config.board
        self.board = CurrentBoard(
            b.url, readings=self._queue, clock=clock, baudrate=b.baudrate,
            reopen_min_s=b.reopen_min_s, reopen_max_s=b.reopen_max_s,
        )  # fmt: skip
        try:
            self.publisher = Publisher(
                config, self.outbox, clock=clock, boot_id=self.boot_id, started_at=self.started_at
            )
            for m in config.machines:
                self.doors[m.id] = DoorSwitch(
                    m.id, m.door_pin, edges=self._queue, clock=clock,
                    debounce_s=config.door.debounce_ms / 1000, pin_factory=pin_factory,
                )  # fmt: skip
                if m.indicator_pin is not None:
                    self.indicators[m.id] = ServiceIndicator(m.id, m.indicator_pin, pin_factory=pin_factory)
            self.publisher.on_service = self._indicate
            self.publisher.on_desired = self._priors.put
            self.publisher.timing = self._timing.get
            self.publisher.health = self._health_message
        except BaseException:
            self.close()
            raise

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> EdgeAgent:
        """Restore the machines, read the doors, then start MQTT, the board and the loop."""
        with self._lock:
            if self._thread is not None or self._closed:
                return self
            now = self.clock.now()
            self._restore(now)
            self.outbox.record_boot(self.boot_id, self.started_at)
            for machine_id, applied in self.publisher.service.applied().items():
                self._indicate(machine_id, applied.out_of_service)  # as last applied, before any broker
            self.publisher.start()
            self.board.start()
            self._thread = threading.Thread(target=self._run, name="kywash-sensor-loop", daemon=True)
            self._thread.start()
            self._status_thread = threading.Thread(target=self._store_status, name="kywash-status", daemon=True)
            self._status_thread.start()
        self.watchdog.ready(f"watching {len(self.config.machines)} machines")
        self.watchdog.start()
        log.info("edge agent for %s/%s started (boot %s)", self.config.site, self.config.room, self.boot_id)
        return self

    def close(self) -> None:
        """Stop everything, in reverse order of start. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.watchdog.close()  # STOPPING=1 first: a slow shutdown is not a hang
        self._stop.set()
        for thread in (self._thread, self._status_thread):
            if thread is not None:
                thread.join(timeout=5)
        if self._thread is not None:  # the last status, with the broker link as it was
            self._write_status()
        self.board.close()
        if hasattr(self, "publisher"):  # absent only if the constructor failed early
            self.publisher.close()
        # Each gpiozero Button joins its own hold thread (~50 ms); close them side by side.
        for indicator in self.indicators.values():
            indicator.close()
        closers = [threading.Thread(target=switch.close) for switch in self.doors.values()]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join(timeout=5)
        self.outbox.close()

    def __enter__(self) -> EdgeAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _restore(self, now: float) -> None:
        """Detectors from the stored states and the doors as they are now (see ``edge.restore``)."""
        while True:  # door edges from before start are superseded by reading the pins now
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        levels = {machine_id: switch.resync() for machine_id, switch in self.doors.items()}
        profiles = self.publisher.profiles.stored()
        restored = restore_detectors(self.config, self.outbox.machine_states(), levels, now, profiles)
        self._detectors = restored.detectors
        for machine_id, applied in self.publisher.service.applied().items():
            if machine_id in self._detectors:
                self._detectors[machine_id].set_prior(applied.claim_category, applied.claim_extra_minutes)
        self._profile_revisions = {machine_id: d.learned_revision for machine_id, d in self._detectors.items()}
        self._timing.update((mid, messages.detector_timing(d)) for mid, d in self._detectors.items())
        self._snapshots = {machine_id: d.snapshot for machine_id, d in self._detectors.items()}
        self._silence = SilenceWatch(self.doors, self.config.board.silence_fault_s, now, time.monotonic())
        self.outbox.save_states(restored.new_rows, now=now)
        self._unsaved += restored.changes
        self._save()

    # --- the sensor loop ----------------------------------------------------------------

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

    def _next_items(self) -> list[DoorEdge | BoardReading]:
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

    def _handle(self, item: DoorEdge | BoardReading) -> None:
        if isinstance(item, DoorEdge):
            self.stats.door_edges += 1
            switch = self.doors.get(item.machine_id)
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
        for machine_id, switch in self.doors.items():
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
        """Events and new states of this batch in one transaction, then wake the publisher."""
        if not self._unsaved or time.monotonic() < self._save_retry_at:
            return
        changes = self._unsaved
        touched = list(dict.fromkeys(machine_id for machine_id, _ in changes))
        drafts = [
            messages.event_draft(self.config, self.config.machine(mid), self.boot_id, change) for mid, change in changes
        ]
        states = [messages.state_row(mid, self._detectors[mid].snapshot) for mid in touched]
        try:
            self.outbox.append_events(drafts, states, now=self.clock.now())
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
        self.publisher.notify(touched)

    def _take_handed_over(self) -> None:
        """Claim priors (publisher's thread) and restored profiles (paho's thread), given to detectors."""
        while (applied := self._priors.take()) is not None:
            detector = self._detectors.get(applied.machine)
            if detector is not None:
                detector.set_prior(applied.claim_category, applied.claim_extra_minutes)
                self._retime(applied.machine)
        while (offer := self.publisher.profiles.take()) is not None:
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
            self.publisher.notify([machine_id])

    def _save_profiles(self) -> None:
        """Store the profiles that changed this turn, then have the publisher send them retained."""
        due = {mid for mid, d in self._detectors.items() if d.learned_revision != self._profile_revisions.get(mid)}
        due |= self._profiles_due
        if not due or time.monotonic() < self._profile_retry_at:
            return
        revisions = {mid: self._detectors[mid].learned_revision for mid in due}
        try:
            self.publisher.profiles.save({mid: self._detectors[mid].learned for mid in due}, self.clock.now())
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
        self.publisher.notify_profiles(due)

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

    def _telemetry(self, now: float) -> None:
        if now < self._next_telemetry:
            return
        self._next_telemetry = now + self.config.telemetry_interval_s
        for machine_id, detector in self._detectors.items():
            message = messages.telemetry_message(self.config, machine_id, detector.snapshot, now)
            self.publisher.publish_telemetry(*message)

    # --- health -------------------------------------------------------------------------

    def health(self) -> tuple[bool, str]:
        """(ok, why): the sensor loop turns and the publisher is healthy (see the docstrings)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return False, "sensor loop is not running"
        age = self._heartbeat.age()
        if age > SENSOR_STALE_S:
            return False, f"sensor loop stuck for {age:.0f} s"
        ok, why = self.publisher.healthy()
        return ok, f"sensors ok, broker {why}" if ok else why

    def _store_status(self) -> None:
        """Store the status every ``STATUS_EVERY_S``; ask for a health message when it is due."""
        next_write = time.monotonic() + STATUS_EVERY_S
        while not self._stop.wait(min(1.0, self.config.health_interval_s)):
            if time.monotonic() >= next_write:
                next_write = time.monotonic() + STATUS_EVERY_S
                self._write_status()
            self._health_check()

    # --- desired state and health (called on the publisher's and the status threads) ----

    def _indicate(self, machine_id: str, out_of_service: bool) -> None:
        indicator = self.indicators.get(machine_id)
        if indicator is not None:
            indicator.show(out_of_service)

    def _health_check(self) -> None:
        """Due every ``health_interval_s``, and at once when something notable changed."""
        now = time.monotonic()
        sensors = tuple((m, snap.state.value == "sensor_fault") for m, snap in self._snapshots.items())
        key = (self.board.health().connected, bool(self._unsaved), sensors)
        if key != self._health_notable or now - self._health_sent_at >= self.config.health_interval_s:
            self._health_notable, self._health_sent_at = key, now
            self.publisher.request_health()

    def _health_message(self) -> tuple[str, bytes]:
        faults = {machine_id: snap.fault for machine_id, snap in self._snapshots.items()}
        return health_message(self.config, health_payload(self.status(), self.started_at, faults))

    def _write_status(self) -> None:
        try:
            self.outbox.put_meta(STATUS_KEY, self.status().to_json())
        except OutboxError as exc:  # a full disk: the status can wait, events matter
            log.debug("could not store the status snapshot: %s", exc)

    # --- status -----------------------------------------------------------------------

    def learned(self, machine_id: str) -> Learned:
        """What the machine's detector has learned so far (an immutable value: safe from any thread)."""
        return self._detectors[machine_id].learned

    def status(self) -> AgentStatus:
        """A consistent-enough picture for humans; safe to call from any thread."""
        machines = []
        for m in self.config.machines:
            snap = self._snapshots.get(m.id)
            if snap is not None:
                machines.append(MachineStatus(m.id, m.kind, snap.state, snap.since, snap.door, snap.current))
        try:
            depth, last = self.outbox.depth(), self.outbox.last_seq()
            archived, acked = self.outbox.archive_size(), self.outbox.last_acked()
        except OutboxError:
            depth = last = archived = acked = -1
        publisher = self.publisher
        healthy, health = self.health()
        return AgentStatus(
            site=self.config.site,
            room=self.config.room,
            boot_id=self.boot_id,
            running=self._thread is not None and not self._closed,
            broker_connected=publisher.connected,
            outbox_depth=depth,
            last_seq=last,
            archive_size=archived,
            last_acked_seq=acked,
            unsaved_events=len(self._unsaved),
            healthy=healthy,
            health=health,
            sensor_loop_age_s=self._heartbeat.age(),
            written_at=self.clock.now(),
            machines=tuple(machines),
            stats=replace(self.stats, bad_profiles=publisher.profiles.bad),
            board=self.board.health(),
            publisher=publisher.status(),
        )
