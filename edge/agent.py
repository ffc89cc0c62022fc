"""The edge agent: wires door switches, the current board, the sensor loop, the outbox and MQTT.

Data flow (one room)::

    DoorSwitch xN -+ (gpiozero thread)                          +-> Publisher -> Link -> broker
    CurrentBoard --+-> queue -> SensorLoop -> CycleDetector xN -+   (own thread)  (paho thread)
                     (reader thread)  (one thread)              +-> Outbox (SQLite)

The agent builds the parts, starts them in an order that loses nothing (the machines
restored and the doors read before any broker or board is heard) and stops them in
reverse. The sensor loop (``edge.sensor_loop``) turns readings into events on disk; the
publisher (``edge.publisher``) sends them over the link (``edge.link``), which is the
paho link unless one is injected: a test hands in a fake and needs no broker.

Health: ``health()`` combines the sensor loop's heartbeat with the publisher's, and
``edge.watchdog`` pings systemd only while both are fine. A full disk or an absent broker
is not unhealthy: a restart would not cure either. A status snapshot (``status()``) is
stored in the outbox every ``STATUS_EVERY_S`` and on close, for ``kywash edge status``,
which runs in another process; the retained ``health`` message is built from the same
snapshot every ``health_interval_s`` and at once when something notable changes.
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

from edge.config import RoomConfig
from edge.errors import OutboxError
from edge.health import Notable, health_message, health_payload
from edge.learning import Learned
from edge.link import Link
from edge.outbox import Outbox
from edge.publisher import Publisher
from edge.sensor_loop import Reading, SensorLoop
from edge.sensors.board import CurrentBoard
from edge.sensors.door import DoorSwitch
from edge.sensors.indicator import ServiceIndicator
from edge.status import STATUS_KEY, AgentStats, AgentStatus, MachineStatus
from edge.watchdog import Notifier, Watchdog, watchdog_interval
from kywash.clock import Clock

log = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.db"
STATUS_EVERY_S = 5.0


class EdgeAgent:
    """One laundry room's agent. Construct (claims the GPIO pins), ``start()``, ``close()``.

    ``pin_factory`` is a gpiozero pin factory (``None``: gpiozero's default, the Pi's
    pins). A simulator drives the mock pins after construction and before ``start()``,
    which takes the pins' levels as the doors' starting state. ``link`` is the MQTT link
    (``None``: the room's paho link, built from the config). As a context manager the
    agent is closed on exit (``start()`` stays explicit). ``environ`` (default: the
    process's) supplies systemd's ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC``.
    """

    def __init__(
        self, config: RoomConfig, *, clock: Clock, pin_factory: Factory | None = None,
        environ: Mapping[str, str] | None = None, link: Link | None = None,
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
        self._queue: queue.Queue[Reading] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        self._status_thread: threading.Thread | None = None
        self.watchdog = Watchdog(Notifier.from_env(environ), self.health, watchdog_interval(environ))
        self.outbox = Outbox(config.data_dir / OUTBOX_FILE, archive_events=config.archive_events)
        b = config.board
        self.board = CurrentBoard(
            b.url, readings=self._queue, clock=clock, baudrate=b.baudrate,
            reopen_min_s=b.reopen_min_s, reopen_max_s=b.reopen_max_s,
        )  # fmt: skip
        try:
            self.publisher = Publisher(
                config, self.outbox, clock=clock, boot_id=self.boot_id, started_at=self.started_at, link=link
            )
            for m in config.machines:
                self.doors[m.id] = DoorSwitch(
                    m.id, m.door_pin, edges=self._queue, clock=clock,
                    debounce_s=config.door.debounce_ms / 1000, pin_factory=pin_factory,
                )  # fmt: skip
                if m.indicator_pin is not None:
                    self.indicators[m.id] = ServiceIndicator(m.id, m.indicator_pin, pin_factory=pin_factory)
            self.sensors = SensorLoop(
                config, clock=clock, boot_id=self.boot_id, started_at=self.started_at, outbox=self.outbox,
                doors=self.doors, readings=self._queue, outlet=self.publisher, profiles=self.publisher.profiles,
                stats=self.stats,
            )  # fmt: skip
            self.publisher.on_service = self._indicate
            self.publisher.on_desired = self.sensors.priors.put
            self.publisher.timing = self.sensors.timing
            self.publisher.health = self._health_message
        except BaseException:
            self.close()
            raise

    @property
    def link(self) -> Link:
        return self.publisher.link

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> EdgeAgent:
        """Restore the machines, read the doors, then start MQTT, the board and the loop."""
        with self._lock:
            if self.sensors.started or self._closed:
                return self
            applied = self.publisher.service.applied()
            self.sensors.restore(self.clock.now(), applied)
            self.outbox.record_boot(self.boot_id, self.started_at)
            for machine_id, service in applied.items():
                self._indicate(machine_id, service.out_of_service)  # as last applied, before any broker
            self.publisher.start()
            self.board.start()
            self.sensors.start()
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
        sensors = getattr(self, "sensors", None)  # absent only if the constructor failed early
        if sensors is not None:
            sensors.stop()
        if self._status_thread is not None:
            self._status_thread.join(timeout=5)
        if sensors is not None and sensors.started:  # the last status, with the broker link as it was
            self._write_status()
        self.board.close()
        if hasattr(self, "publisher"):
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

    # --- health -------------------------------------------------------------------------

    def health(self) -> tuple[bool, str]:
        """(ok, why): the sensor loop turns and the publisher is healthy (see the docstrings)."""
        sensors = getattr(self, "sensors", None)
        if sensors is None:
            return False, "sensor loop is not running"
        ok, why = sensors.healthy()
        if not ok:
            return ok, why
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
        snapshots = self.sensors.snapshots()
        sensors = tuple((m, snap.state.value == "sensor_fault") for m, snap in snapshots.items())
        key = (self.board.health().connected, bool(self.sensors.unsaved), sensors)
        if key != self._health_notable or now - self._health_sent_at >= self.config.health_interval_s:
            self._health_notable, self._health_sent_at = key, now
            self.publisher.request_health()

    def _health_message(self) -> tuple[str, bytes]:
        faults = {machine_id: snap.fault for machine_id, snap in self.sensors.snapshots().items()}
        return health_message(self.config, health_payload(self.status(), self.started_at, faults))

    def _write_status(self) -> None:
        try:
            self.outbox.put_meta(STATUS_KEY, self.status().to_json())
        except OutboxError as exc:  # a full disk: the status can wait, events matter
            log.debug("could not store the status snapshot: %s", exc)

    # --- status -----------------------------------------------------------------------

    def learned(self, machine_id: str) -> Learned:
        """What the machine's detector has learned so far (an immutable value: safe from any thread)."""
        return self.sensors.learned(machine_id)

    def status(self) -> AgentStatus:
        """A consistent-enough picture for humans; safe to call from any thread."""
        snapshots = self.sensors.snapshots()
        machines = []
        for m in self.config.machines:
            snap = snapshots.get(m.id)
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
            running=self.sensors.started and not self._closed,
            broker_connected=publisher.connected,
            outbox_depth=depth,
            last_seq=last,
            archive_size=archived,
            last_acked_seq=acked,
            unsaved_events=self.sensors.unsaved,
            healthy=healthy,
            health=health,
            sensor_loop_age_s=self.sensors.age(),
            written_at=self.clock.now(),
            machines=tuple(machines),
            stats=replace(self.stats, bad_profiles=publisher.profiles.bad),
            board=self.board.health(),
            publisher=publisher.status(),
        )
