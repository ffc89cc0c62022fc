"""Drains the outbox to the MQTT broker, and keeps the room's retained messages current.

paho-mqtt 2.x, MQTT 3.1.1, QoS 1, ``clean_session=False``. The network runs in paho's
thread (``loop_start``, reconnecting with 1-30 s backoff); this module's own thread does
the sending, woken by the agent (new rows) and by paho (connected, PUBACK received).

On every connect it publishes, retained: ``online`` status, room ``info`` and every
machine's ``state``; then it sends outbox rows in sequence order with at most ``window``
of them unacknowledged. A row leaves the outbox (for the archive) only when its PUBACK
arrives (``on_publish`` for its message id). paho keeps unacknowledged QoS 1 messages in
memory and resends them itself after a reconnect, so a row handed to paho is not handed
over again by this process unless the cloud asks for a replay; rows still in the outbox
when the agent restarts are sent again (consumers dedupe by room + seq). The Last Will
is a retained ``offline`` status; a clean ``close`` publishes ``offline`` itself, since
the broker drops the will on a clean disconnect.

Replay (``edge.replay``): it subscribes (QoS 1) to the room's ``replay`` topic on every
connect; a request puts archived rows back into the outbox and rewinds the send cursor,
skipping rows that are still in flight.

Desired state (``edge.desired``): it also subscribes to the room's retained ``desired``
topics on every connect; a higher revision than the machine's last is stored, shown on the
machine's indicator LED (``on_service``, set by the agent), reflected in the machine's
retained ``state`` (``out_of_service``) and acknowledged on its retained ``ack`` topic.
The claim's category and extra minutes in an applied desired state go to the agent
(``on_desired``), whose sensor loop hands them to the machine's detector.
The retained ``health`` message (built by the agent) goes out on every connect and when
the agent asks (``request_health``: its interval elapsed, or something notable changed).

Profiles (``edge.profile_store``): every stored profile goes out retained on every connect,
and a machine's again when the agent has stored a newer one (``notify_profiles``). It
subscribes the room's ``profile`` topics on every connect too; what arrives is checked
on paho's thread and handed to the agent's sensor loop, the only caller of the detectors.
A machine's ``state`` carries ``cycle_started_at`` and ``expected_end`` as the agent last
saw them on its detector (``timing``, set by the agent).

Telemetry (QoS 0) is sent at once while connected; while disconnected it waits in a
buffer of ``telemetry_buffer`` messages that drops the oldest first (counted), and is
flushed after the next connect's announcements.

Health, for the systemd watchdog: ``healthy()`` is true while this module's thread
turns over (it wakes at least every second) and paho's network thread (which also
reconnects, with backoff) is alive, connected or not — a broker that is away is *not*
unhealthy, since the outbox keeps everything and restarting the agent would not bring
the broker back. A dead paho thread never reconnects, and a stuck sending thread never
sends: those stop the pings, and systemd restarts the agent.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge import messages
from edge.config import RoomConfig
from edge.desired import AppliedService, ServiceDesk
from edge.errors import ConfigError, OutboxError
from edge.outbox import Outbox
from edge.profile_store import ProfileStore
from edge.replay import ReplayDesk, ReplayStats
from kywash.clock import Clock
from kywash.contract import ACK_QOS, EVENT_QOS, PROFILE_QOS, STATE_QOS
from kywash.net import no_delay

log = logging.getLogger(__name__)

_QUEUED = (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)
STALE_AFTER_S = 120.0
HEARTBEAT_STALE_S = 15.0  # the sending thread wakes every second; this long without a turn is stuck


@dataclass(frozen=True)
class PublisherStatus:
    connected: bool
    connects: int
    connect_failures: int
    in_flight: int
    acked: int
    last_acked_seq: int
    last_sent_seq: int = 0
    telemetry_sent: int = 0
    telemetry_dropped: int = 0
    telemetry_buffered: int = 0
    replay: ReplayStats = field(default_factory=ReplayStats)


class Publisher:
    """The room's MQTT connection; ``start()``, ``notify()`` after writing, ``close()``."""

    def __init__(
        self, config: RoomConfig, outbox: Outbox, *, clock: Clock, boot_id: str, started_at: float,
        window: int = 20, monotonic: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.config = config
        self._outbox = outbox
        self._clock = clock
        self.boot_id = boot_id
        self._started_at = started_at
        self._window = window
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._rows: dict[int, int] = {}  # paho mid -> outbox seq, until its PUBACK
        self._others: dict[int, float] = {}  # mids of status/info/state/telemetry -> when sent
        self._early: dict[int, float] = {}  # acks that beat publish() returning the mid -> when
        self._sent: set[int] = set()  # rows handed to paho, not yet acknowledged
        self._cursor = 0  # rows up to here were handed to paho (a replay moves it back)
        self._highest_sent = 0
        self._telemetry: deque[tuple[str, bytes]] = deque(maxlen=config.telemetry_buffer)
        self._telemetry_sent = self._telemetry_dropped = 0
        self.replay = ReplayDesk(config.site, config.room)
        self.service = ServiceDesk(config, outbox)
        self.on_service: Callable[[str, bool], None] | None = None
        """Called on this module's thread when a machine goes out of (or back into) service."""
        self.on_desired: Callable[[AppliedService], None] | None = None
        """Called on this module's thread with every desired state applied (for the claim prior)."""
        self.profiles = ProfileStore(config, outbox)
        self.timing: Callable[[str], messages.CycleTiming | None] | None = None
        """A machine's (cycle_started_at, expected_end) for its state message (set by the agent)."""
        self._profiles_dirty: set[str] = set()
        self.health: Callable[[], tuple[str, bytes]] | None = None
        """Builds the retained ``health`` message (set by the agent); sent on connect and on request."""
        self._health_due = False
        self._acks_due: list[AppliedService] = []
        self._monotonic = monotonic
        self._beat = monotonic()
        self._dirty: set[str] = set()
        self._announce = False
        self._connected = False
        self._connects = self._connect_failures = self._acked = self._last_acked = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        broker = self.config.broker
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=mqtt.MQTTv311,
            clean_session=False,
        )
        client.reconnect_delay_set(1, 30)
        client.max_inflight_messages_set(self._window + 4)
        topic, will = messages.last_will(self.config, self.boot_id)
        client.will_set(topic, will, qos=1, retain=True)
        if broker.username:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            try:
                client.tls_set(ca_certs=str(broker.ca_file) if broker.ca_file else None, cert_reqs=ssl.CERT_REQUIRED)
            except (ssl.SSLError, OSError, ValueError) as exc:
                raise ConfigError(f"broker.ca_file: cannot use {broker.ca_file} for TLS: {exc}") from exc
        client.on_connect = self._on_connect
        client.on_socket_open = no_delay
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> Publisher:
        if self._thread is not None:
            return self
        broker = self.config.broker
        self.client.connect_async(broker.host, broker.port, keepalive=broker.keepalive)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="kywash-publisher", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 3.0) -> None:
        """Say ``offline`` (if connected), disconnect and stop paho's thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout + 2)
        if self._connected and self._paho_alive():  # nobody would send it otherwise: don't wait
            topic, payload = messages.status_message(self.config, self.boot_id, False, self._clock.now())
            info = self.client.publish(topic, payload, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.warning("could not publish offline status: %s", exc)
        self.client.disconnect()
        self.client.loop_stop()

    def notify(self, machines: Iterable[str] = ()) -> None:
        """New outbox rows and/or changed machine states: send them soon."""
        with self._lock:
            self._dirty.update(machines)
        self._wake.set()

    def notify_profiles(self, machines: Iterable[str]) -> None:
        """These machines' stored profiles changed (or should be said again): publish them soon."""
        with self._lock:
            self._profiles_dirty.update(machines)
        self._wake.set()

    def publish_telemetry(self, topic: str, payload: bytes) -> bool:
        """QoS 0 at once if connected (True); otherwise buffered, dropping the oldest if full."""
        if self._connected and not self._telemetry and self._send(topic, payload, qos=0, retain=False):
            with self._lock:
                self._telemetry_sent += 1
            return True
        with self._lock:
            if len(self._telemetry) == self._telemetry.maxlen:  # full (or no buffer): the oldest goes
                self._telemetry_dropped += 1
            self._telemetry.append((topic, payload))  # a deque with maxlen drops from the left
        self._wake.set()
        return False

    def request_health(self) -> None:
        """Send the health message soon (the agent asks: interval elapsed, or something notable)."""
        with self._lock:
            self._health_due = True
        self._wake.set()

    def status(self) -> PublisherStatus:
        replay = self.replay.stats()
        with self._lock:
            return PublisherStatus(
                self._connected, self._connects, self._connect_failures, len(self._sent), self._acked,
                self._last_acked, self._highest_sent, self._telemetry_sent, self._telemetry_dropped,
                len(self._telemetry), replay,
            )  # fmt: skip

    def healthy(self) -> tuple[bool, str]:
        """(ok, why not): see the module docstring for what counts as healthy."""
        if self._closed:
            return False, "publisher closed"
        if self._thread is None or not self._thread.is_alive():
            return False, "publisher thread is not running"
        if self._monotonic() - self._beat > HEARTBEAT_STALE_S:
            return False, f"publisher thread stuck for {self._monotonic() - self._beat:.0f} s"
        if not self._paho_alive():  # it also does the reconnecting, so it must live, connected or not
            return False, "MQTT network thread is dead"
        return True, "connected" if self._connected else "reconnecting"

    def _paho_alive(self) -> bool:
        """Whether paho's network thread runs (paho has no public accessor; loop_start() sets ``_thread``)."""
        paho = getattr(self.client, "_thread", None)
        return paho is not None and bool(paho.is_alive())

    @property
    def connected(self) -> bool:
        return self._connected

    # --- paho's thread -----------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        with self._lock:
            self._connected = True
            self._announce = True
            self._connects += 1
        log.info("connected to %s", self.config.broker.url)
        # The retained desired states arrive right after the SUBACK: an edge that was away converges.
        client.subscribe([(self.replay.topic, 1), (self.service.filter, 1), (self.profiles.filter, 1)])
        self._wake.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        with self._lock:
            self._connect_failures += 1
            first = self._connect_failures == 1
        if first:
            log.warning("broker %s unreachable; retrying with backoff", self.config.broker.url)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        with self._lock:
            was = self._connected
            self._connected = False
        if was and not self._closed:
            log.warning("lost the broker connection (%s); paho reconnects", reason)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._lock:
            seq = self._rows.pop(mid, None)
            if seq is None and self._others.pop(mid, None) is None:
                self._early[mid] = time.monotonic()
        if seq is not None:
            self._acked_row(seq)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # a topic that is not UTF-8 is not ours either
            return
        if self.service.wants(topic):
            if self.service.submit(topic, bytes(msg.payload)):
                self._wake.set()
            return
        if self.profiles.wants(topic):  # checked here, adopted on the agent's sensor loop
            self.profiles.submit(topic, bytes(msg.payload))
            return
        if topic != self.replay.topic:
            # amqtt 0.12 also hands a client retained messages of filters it never subscribed
            # (see PITFALLS.md): not a replay request, so not counted as a malformed one.
            log.debug("ignoring a message on %s: not subscribed", topic[:200])
            return
        if self.replay.submit(topic, bytes(msg.payload)):
            self._wake.set()

    def _acked_row(self, seq: int) -> None:
        # Archive and forget under our lock, so a replay (our thread) never sees the row
        # archived yet still counted in flight, which would make the drain skip it.
        with self._lock:
            try:
                self._outbox.ack(seq)
            except OutboxError as exc:  # closing down: the row is resent after the restart
                log.warning("could not archive acknowledged row %d: %s", seq, exc)
            self._sent.discard(seq)
            self._acked += 1
            self._last_acked = max(self._last_acked, seq)
        self._wake.set()

    # --- the publisher's thread ------------------------------------------------------

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
                with self._lock:
                    self._cursor = min(self._cursor, lowest - 1)
        if self.service.waiting:
            self._apply_desired()
        if not self._connected:
            return
        with self._lock:
            announce, self._announce = self._announce, False
            dirty, self._dirty = self._dirty, set()
            acks, self._acks_due = self._acks_due, []
            health, self._health_due = self._health_due, False
            profiles, self._profiles_dirty = self._profiles_dirty, set()
        if announce:  # info first: a cloud learns the room from it before the room says "online"
            self._send(*messages.info_message(self.config, self.boot_id, self._started_at),
                       qos=STATE_QOS, retain=True)  # fmt: skip
            self._send(*messages.status_message(self.config, self.boot_id, True, self._clock.now()),
                       qos=STATE_QOS, retain=True)  # fmt: skip
        self._publish_states(None if announce else dirty)
        self._send_acks(acks)  # after the states that show the change
        self._publish_profiles(None if announce else profiles)
        if (announce or health) and self.health is not None:
            self._send(*self.health(), qos=STATE_QOS, retain=True)
        self._flush_telemetry()
        self._drain()

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
        with self._lock:
            self._dirty.update(change.machine for change in applied)
            self._acks_due.extend(applied)

    def _send_acks(self, acks: list[AppliedService]) -> None:
        unsent = [a for a in acks if not self._send(*self.service.ack_message(a), qos=ACK_QOS, retain=True)]
        if unsent:
            with self._lock:
                self._acks_due = unsent + self._acks_due

    def _flush_telemetry(self) -> None:
        while self._connected:
            with self._lock:
                if not self._telemetry:
                    return
                topic, payload = self._telemetry[0]
            if not self._send(topic, payload, qos=0, retain=False):
                return
            with self._lock:
                if self._telemetry and self._telemetry[0] == (topic, payload):
                    self._telemetry.popleft()
                self._telemetry_sent += 1

    def _publish_states(self, machines: set[str] | None) -> None:
        """Retained state of ``machines`` (None: every machine), from the outbox's table."""
        if machines is not None and not machines:
            return
        known = {m.id for m in self.config.machines}
        now = self._clock.now()
        for machine, row in self._outbox.machine_states().items():
            if machine in known and (machines is None or machine in machines):
                service = self.service.out_of_service(machine)
                timing = self.timing(machine) if self.timing is not None else None
                self._send(*messages.state_message(self.config, row, now, out_of_service=service, timing=timing),
                           qos=STATE_QOS, retain=True)  # fmt: skip

    def _publish_profiles(self, machines: set[str] | None) -> None:
        """Retained profiles of ``machines`` (None: every stored one), from the outbox's table."""
        if machines is not None and not machines:
            return
        for topic, payload in self.profiles.stored_messages(machines):  # unsent: the next connect sends all
            self._send(topic, payload, qos=PROFILE_QOS, retain=True)

    def _drain(self) -> None:
        """Hand the next rows to paho, keeping at most ``window`` unacknowledged.

        Rows after the cursor that are still in flight (a replay rewound the cursor
        over them) are skipped: paho already has them.
        """
        with self._lock:
            room, after, in_flight = self._window - len(self._sent), self._cursor, len(self._sent)
        if room <= 0:
            return
        for row in self._outbox.pending(room + in_flight, after=after):
            with self._lock:
                busy = row.seq in self._sent
            if busy:
                with self._lock:
                    self._cursor = max(self._cursor, row.seq)
                continue
            if room <= 0:
                break
            if not self._connected or not self._send(row.topic, row.payload, EVENT_QOS, row.retain, row.seq):
                break
            room -= 1

    def _send(self, topic: str, payload: bytes, qos: int, retain: bool, seq: int | None = None) -> bool:
        """Publish and remember the mid, coping with a PUBACK that arrives before we know it."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in _QUEUED or (qos == 0 and info.rc != mqtt.MQTT_ERR_SUCCESS):
            log.debug("publish to %s not queued: %s", topic, mqtt.error_string(info.rc))
            return False
        now = time.monotonic()
        with self._lock:
            early = self._early.pop(info.mid, None) is not None
            if seq is not None:
                self._highest_sent = max(self._highest_sent, seq)
                self._cursor = max(self._cursor, seq)
                if not early:
                    self._rows[info.mid] = seq
                    self._sent.add(seq)
            elif not early:
                self._others[info.mid] = now
            self._forget_stale(now)
        if early and seq is not None:
            self._acked_row(seq)
        return True

    def _forget_stale(self, now: float) -> None:
        """Drop bookkeeping of messages paho never confirms (QoS 0 lost in a disconnect)."""
        for book in (self._others, self._early):
            if len(book) > 200:
                for mid in [mid for mid, at in book.items() if now - at > STALE_AFTER_S]:
                    del book[mid]
