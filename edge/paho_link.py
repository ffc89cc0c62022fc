"""The ``Link`` over paho-mqtt 2.x: the only module of the agent that knows paho's client.

MQTT 3.1.1, ``clean_session=False``, QoS 1 for what matters. The network runs in paho's
thread (``loop_start``), which reconnects with 1-30 s backoff; ``connect_async`` lets the
agent start while the broker is away. The Last Will is a retained ``offline`` status, so
the room is seen to go when the Pi dies; the broker drops it on a clean disconnect,
which is why the publisher says ``offline`` itself before ``close``.

paho keeps every QoS 1 message it took in memory and resends it after a reconnect (see
PITFALLS.md), which is what ``edge.link`` promises. Its in-flight limit is set a little
above the drain window so the window, not paho, decides how much is outstanding.

A PUBACK can be read on paho's thread before ``publish`` has returned its message id to
ours. Such early acknowledgements are kept until the id is known, rather than taking a
lock across ``publish`` (paho calls ``on_publish`` holding its own lock, which
``publish`` needs: that would deadlock).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge import messages
from edge.config import BrokerConfig, RoomConfig
from edge.errors import ConfigError
from edge.link import Ack, LinkEvents, LinkStats
from kywash.net import no_delay

log = logging.getLogger(__name__)

_QUEUED = (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)
STALE_AFTER_S = 120.0  # a message nobody waits for, unconfirmed this long, was lost (QoS 0 in a drop)
KEEP_UNCONFIRMED = 200  # below this many, nothing is worth pruning


class PahoLink:
    """One paho client; ``bind``, ``start``, then ``publish`` from any thread."""

    def __init__(
        self, broker: BrokerConfig, client_id: str, will: tuple[str, bytes], *, max_inflight: int = 24,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.broker = broker
        self._events: LinkEvents | None = None
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[Ack | None, float]] = {}  # mid -> (on_ack, when taken)
        self._early: dict[int, float] = {}  # acks that beat publish() returning the mid -> when
        self._connected = self._closed = self._started = False
        self._connects = self._connect_failures = 0
        self.client = self._make_client(client_id, will, max_inflight)

    @classmethod
    def for_room(cls, config: RoomConfig, boot_id: str, window: int) -> PahoLink:
        """The room's link as the agent has always built it: its client id, its will."""
        return cls(config.broker, config.client_id, messages.last_will(config, boot_id), max_inflight=window + 4)

    def _make_client(self, client_id: str, will: tuple[str, bytes], max_inflight: int) -> mqtt.Client:
        broker = self.broker
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=False
        )
        client.reconnect_delay_set(1, 30)
        client.max_inflight_messages_set(max_inflight)
        client.will_set(will[0], will[1], qos=1, retain=True)
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

    # --- the Link protocol ---------------------------------------------------------------

    def bind(self, events: LinkEvents) -> None:
        self._events = events

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=self.broker.keepalive)
        self.client.loop_start()

    def close(self) -> None:
        self._closed = True
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._connected

    def alive(self) -> bool:
        # paho has no public accessor for its network thread; loop_start() sets ``_thread``.
        paho = getattr(self.client, "_thread", None)
        return paho is not None and bool(paho.is_alive())

    def stats(self) -> LinkStats:
        with self._lock:
            return LinkStats(self._connected, self._connects, self._connect_failures)

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool, on_ack: Ack | None = None) -> bool:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in _QUEUED or (qos == 0 and info.rc != mqtt.MQTT_ERR_SUCCESS):
            log.debug("publish to %s not queued: %s", topic, mqtt.error_string(info.rc))
            return False
        now = self._monotonic()
        with self._lock:
            early = self._early.pop(info.mid, None) is not None
            if not early:
                self._waiting[info.mid] = (on_ack, now)
            self._forget_stale(now)
        if early and on_ack is not None:
            on_ack()
        return True

    def subscribe(self, filters: Sequence[tuple[str, int]]) -> None:
        self.client.subscribe(list(filters))

    # --- paho's thread -------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        with self._lock:
            self._connected = True
            self._connects += 1
        log.info("connected to %s", self.broker.url)
        if self._events is not None:
            self._events.link_up()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        with self._lock:
            self._connect_failures += 1
            first = self._connect_failures == 1
        if first:
            log.warning("broker %s unreachable; retrying with backoff", self.broker.url)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        with self._lock:
            was = self._connected
            self._connected = False
        if was and not self._closed:
            log.warning("lost the broker connection (%s); paho reconnects", reason)
        if was and self._events is not None:
            self._events.link_down()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._lock:
            entry = self._waiting.pop(mid, None)
            if entry is None:
                self._early[mid] = self._monotonic()
        if entry is not None and entry[0] is not None:
            entry[0]()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # a topic that is not UTF-8 is not ours either
            return
        if self._events is not None:
            self._events.message(topic, bytes(msg.payload))

    def _forget_stale(self, now: float) -> None:
        """Drop what paho will never confirm (QoS 0 lost in a drop); a waiting ``on_ack`` is kept."""
        if len(self._waiting) > KEEP_UNCONFIRMED:
            for mid in [m for m, (ack, at) in self._waiting.items() if ack is None and now - at > STALE_AFTER_S]:
                del self._waiting[mid]
        if len(self._early) > KEEP_UNCONFIRMED:
            for mid in [m for m, at in self._early.items() if now - at > STALE_AFTER_S]:
                del self._early[mid]
