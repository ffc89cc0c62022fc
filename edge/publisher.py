"""The room's MQTT side: one thread that sends, over a link that may come and go.

The sending runs on a thread of its own, woken by the agent (new rows, changed states)
and by the link (connected, PUBACK received), rather than on the link's thread: that
thread reads every PUBACK and must never wait for SQLite, and the agent's sensor loop
must never wait for the network. Each turn it carries out replay requests
(``edge.replay``) and applies desired states (``edge.desired``: the indicator LED at
once, through ``on_service``; the claim prior to the agent, through ``on_desired``);
then, while connected, it sends the retained announcements (``edge.announcements``),
the telemetry that waited (``edge.telemetry_buffer``) and the next outbox rows
(``edge.drain``). What arrives is sorted by ``edge.inbound``. The link is injected
(``edge.link``); without one, the room's paho link is built (``edge.paho_link``).

Health, for the systemd watchdog: ``healthy()`` is true while this thread turns over (it
wakes at least every second) and the link's thread (which also reconnects) is alive,
connected or not. A broker that is away is *not* unhealthy: the outbox keeps everything
and restarting the agent would not bring the broker back. A dead link thread never
reconnects and a stuck sending thread never sends: those stop the pings, and systemd
restarts the agent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from edge import messages
from edge.announcements import Announcements
from edge.config import RoomConfig
from edge.desired import AppliedService, ServiceDesk
from edge.drain import DrainWindow
from edge.inbound import Inbound
from edge.link import Link
from edge.outbox import Outbox
from edge.paho_link import PahoLink
from edge.profile_store import ProfileStore
from edge.publisher_status import PublisherStatus
from edge.replay import ReplayDesk
from edge.telemetry_buffer import TelemetryBuffer
from kywash.clock import Clock
from kywash.contract import STATE_QOS

__all__ = ["Publisher", "PublisherStatus"]

log = logging.getLogger(__name__)

HEARTBEAT_STALE_S = 15.0  # the sending thread wakes every second; this long without a turn is stuck


class Publisher:
    """``start()``, ``notify()`` after writing to the outbox, ``close()``."""

    def __init__(
        self, config: RoomConfig, outbox: Outbox, *, clock: Clock, boot_id: str, started_at: float,
        window: int = 20, monotonic: Callable[[], float] = time.monotonic, link: Link | None = None,
    ) -> None:  # fmt: skip
        self.config = config
        self.boot_id = boot_id
        self._outbox = outbox
        self._clock = clock
        self._monotonic = monotonic
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.replay = ReplayDesk(config.site, config.room)
        self.service = ServiceDesk(config, outbox)
        self.profiles = ProfileStore(config, outbox)
        self.link: Link = link if link is not None else PahoLink.for_room(config, boot_id, window)
        self.inbound = Inbound(self.service, self.profiles, self.replay)
        self.announcements = Announcements(
            config, self.link, outbox, self.service, self.profiles, clock=clock, boot_id=boot_id, started_at=started_at
        )
        self.drain = DrainWindow(outbox, self.link, window)
        self.drain.on_ack = self._wake.set
        self.telemetry = TelemetryBuffer(self.link, config.telemetry_buffer)
        self.telemetry.on_buffered = self._wake.set
        self.on_service: Callable[[str, bool], None] | None = None
        """Called on this thread when a machine goes out of (or back into) service."""
        self.on_desired: Callable[[AppliedService], None] | None = None
        """Called on this thread with every desired state applied (for the claim prior)."""
        self._beat = monotonic()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.link.bind(self)

    # --- what the agent sets and calls -----------------------------------------------------

    @property
    def timing(self) -> Callable[[str], messages.CycleTiming | None] | None:
        """A machine's (cycle_started_at, expected_end) for its state message (set by the agent)."""
        return self.announcements.timing

    @timing.setter
    def timing(self, value: Callable[[str], messages.CycleTiming | None] | None) -> None:
        self.announcements.timing = value

    @property
    def health(self) -> Callable[[], tuple[str, bytes]] | None:
        """Builds the retained ``health`` message (set by the agent); sent on connect and on request."""
        return self.announcements.health

    @health.setter
    def health(self, value: Callable[[], tuple[str, bytes]] | None) -> None:
        self.announcements.health = value

    @property
    def client(self) -> Any:
        """The paho client underneath (tests cut its socket); only a ``PahoLink`` has one."""
        if not isinstance(self.link, PahoLink):
            raise AttributeError(f"{type(self.link).__name__} has no paho client")
        return self.link.client

    def start(self) -> Publisher:
        if self._thread is not None:
            return self
        self.link.start()
        self._thread = threading.Thread(target=self._run, name="kywash-publisher", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 3.0) -> None:
        """Say ``offline`` (if connected), disconnect and stop the link. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout + 2)
        if self.link.connected and self.link.alive():  # nobody would send it otherwise: don't wait
            said = threading.Event()
            topic, payload = self.announcements.offline()
            if self.link.publish(topic, payload, qos=STATE_QOS, retain=True, on_ack=said.set) and not said.wait(
                timeout
            ):
                log.warning("the broker did not acknowledge the offline status within %.0f s", timeout)
        self.link.close()

    def notify(self, machines: Iterable[str] = ()) -> None:
        """New outbox rows and/or changed machine states: send them soon."""
        self.announcements.states_changed(machines)
        self._wake.set()

    def notify_profiles(self, machines: Iterable[str]) -> None:
        """These machines' stored profiles changed (or should be said again): publish them soon."""
        self.announcements.profiles_changed(machines)
        self._wake.set()

    def publish_telemetry(self, topic: str, payload: bytes) -> bool:
        """QoS 0 at once if connected (True); otherwise buffered, dropping the oldest if full."""
        return self.telemetry.offer(topic, payload)

    def request_health(self) -> None:
        """Send the health message soon (the agent asks: interval elapsed, or something notable)."""
        self.announcements.health_due()
        self._wake.set()

    def status(self) -> PublisherStatus:
        link, drain = self.link.stats(), self.drain.stats()
        sent, dropped, buffered = self.telemetry.stats()
        return PublisherStatus(
            link.connected, link.connects, link.connect_failures, drain.in_flight, drain.acked,
            drain.last_acked_seq, drain.last_sent_seq, sent, dropped, buffered, self.replay.stats(),
            self.inbound.failed,
        )  # fmt: skip

    def healthy(self) -> tuple[bool, str]:
        """(ok, why not): see the module docstring for what counts as healthy."""
        if self._closed:
            return False, "publisher closed"
        if self._thread is None or not self._thread.is_alive():
            return False, "publisher thread is not running"
        if self._monotonic() - self._beat > HEARTBEAT_STALE_S:
            return False, f"publisher thread stuck for {self._monotonic() - self._beat:.0f} s"
        if not self.link.alive():  # it also does the reconnecting, so it must live, connected or not
            return False, "MQTT network thread is dead"
        return True, "connected" if self.link.connected else "reconnecting"

    @property
    def connected(self) -> bool:
        return self.link.connected

    # --- LinkEvents (the link's thread) ------------------------------------------------------

    def link_up(self) -> None:
        self.announcements.connected()
        self.link.subscribe(self.inbound.filters())
        self._wake.set()

    def link_down(self) -> None:
        """Nothing to undo: the link keeps what it took, and the drain waits for the next connect."""

    def message(self, topic: str, payload: bytes) -> None:
        if self.inbound.route(topic, payload):
            self._wake.set()

    # --- the publisher's thread ----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._beat = self._monotonic()
            self._wake.wait(1.0)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._step()
            except Exception:  # keep publishing; the outbox still holds everything
                log.exception("publisher step failed")
                self._stop.wait(1.0)

    def _step(self) -> None:
        if self.replay.waiting:
            lowest = self.replay.run(self._outbox)
            if lowest is not None:
                self.drain.rewind(lowest)
        if self.service.waiting:
            self._apply_desired()
        if not self.link.connected:
            return
        self.announcements.send()
        self.telemetry.flush()
        self.drain.drain()

    def _apply_desired(self) -> None:
        """Apply newer desired states: the indicator LEDs now; states and acks once connected."""
        applied = self.service.apply(self._clock.now())
        for change in applied:
            if self.on_desired is not None:
                self.on_desired(change)
            if self.on_service is not None:
                try:
                    self.on_service(change.machine, change.out_of_service)
                except Exception:  # an LED that fails must not stop the acknowledgement
                    log.exception("could not show %s's service state on its indicator", change.machine)
        self.announcements.applied(applied)
