"""The MQTT side of ingest: a paho-mqtt client whose messages async code iterates, aiomqtt style.

paho runs its network loop, reconnects with backoff and calls us back on its own thread;
those callbacks only hand ``(topic, payload)`` to an asyncio queue. Subscriptions are made
in stages, each after the previous SUBACK, because a broker sends retained messages in
subscription order: every room's ``info`` (which registers it and its machines) arrives
before its ``status``, and both before any retained machine ``state``. They are renewed
on every reconnect. With ``shared_group`` the machine topics are shared between replicas
(``$share/...``, Mosquitto); brokers send no retained messages to shared subscriptions.

QoS 1 messages are acknowledged by hand (paho's ``manual_ack``), and only once ingest has
committed them (``processed()``): a cloud killed between receiving an event and committing
it gets the event again from the broker (with a persistent session), instead of the
broker forgetting an event the database never stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from cloud.platform.settings import CloudSettings
from cloud.processes.fanout import FANOUT_TOPIC
from kywash.contract import COMMAND_LEAF, command_filter, machine_filters, room_filters
from kywash.net import no_delay

log = logging.getLogger(__name__)

Received = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class _Ack:
    """What acknowledging a received message takes: its id and QoS, and which connection brought
    it (an ack sent on a later connection would acknowledge some other message with that id)."""

    mid: int
    qos: int
    connection: int


_Queued = tuple[str, bytes, _Ack]


def subscription_stages(
    site: str = "+",
    room: str = "+",
    shared_group: str | None = None,
    fanout_topic: str | None = None,
    ha_status_topic: str | None = None,
) -> list[list[str]]:
    """Filters to subscribe, stage by stage: room info, room status, then machine state, events and
    telemetry (QoS 0 from the edge: nothing to acknowledge), the edges' acks, learned profiles and
    health, staff commands and Home Assistant's birth message (with the
    replicas' fan-out topic, which is never shared: every replica needs every change)."""
    rooms = sorted(room_filters(site, room), key=lambda topic: not topic.endswith("/info"))
    prefix = f"$share/{shared_group}/" if shared_group else ""
    last = [prefix + topic for topic in machine_filters(site, room, ("state", "event", "ack", "profile", "telemetry"))]
    last += [prefix + topic for topic in (*room_filters(site, room, ("health",)), command_filter(site, room))]
    if ha_status_topic:
        last.append(prefix + ha_status_topic)
    return [[topic] for topic in rooms] + [last + ([fanout_topic] if fanout_topic else [])]


class MqttSource:
    """Connects in the background and yields ``(topic, payload)`` for ``async for``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str,
        stages: Sequence[Sequence[str]],
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        clean_session: bool = True,
        keepalive: int = 30,
        reconnect_delay: tuple[int, int] = (1, 30),
    ) -> None:
        self.host, self.port, self.stages = host, port, [list(stage) for stage in stages]
        self._filters = [t.split("/", 2)[2] if t.startswith("$share/") else t for stage in stages for t in stage]
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
            protocol=MQTTProtocolVersion.MQTTv311,
            manual_ack=True,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        if tls:
            self._client.tls_set()
        self._client.reconnect_delay_set(*reconnect_delay)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.on_socket_open = no_delay
        self._keepalive = keepalive
        self._pending: dict[int, int] = {}
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Queued | None] | None = None
        self._connection = 0
        """Counts connections (paho's thread writes it); an ack belongs to the one that brought it."""
        self._handed: list[_Ack] = []
        """The messages handed out since the last ``processed()`` (``__anext__``, then ``ready``)."""
        self.on_fanout: Callable[[bytes], None] | None = None
        """Called (on paho's thread) with each payload on the replicas' fan-out topic."""

    @classmethod
    def from_settings(cls, settings: CloudSettings) -> MqttSource:
        password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
        return cls(
            settings.mqtt_host,
            settings.mqtt_port,
            client_id=settings.mqtt_client_id,
            stages=subscription_stages(
                settings.ingest_site,
                settings.ingest_room,
                settings.mqtt_shared_group,
                FANOUT_TOPIC if settings.replica_fanout else None,
                f"{settings.ha_discovery_prefix}/status" if settings.ha_discovery else None,
            ),
            username=settings.mqtt_username,
            password=password,
            tls=settings.mqtt_tls,
            clean_session=settings.mqtt_clean_session,
        )

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def subscribed(self) -> bool:
        """Connected, with every stage acknowledged."""
        return self._subscribed.is_set()

    def wait_subscribed(self, timeout: float) -> bool:
        """Block until every subscription stage is acknowledged (for tests and the demo)."""
        return self._subscribed.wait(timeout)

    async def start(self) -> MqttSource:
        """Start connecting in the background; returns at once, even if the broker is away."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._closing = False
        self._client.connect_async(self.host, self.port, keepalive=self._keepalive)
        self._client.loop_start()
        return self

    async def close(self) -> None:
        """Disconnect, stop paho's thread and end the iteration."""
        self._closing = True
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self._connected.clear()
        self._subscribed.clear()
        if self._queue is not None:
            self._queue.put_nowait(None)

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        """Publish at QoS 1 (desired state, summaries); paho queues it while disconnected."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning("MQTT publish to %s failed: %s", topic, mqtt.error_string(info.rc))

    def __aiter__(self) -> MqttSource:
        return self

    async def __anext__(self) -> Received:
        if self._queue is None:
            raise RuntimeError("MqttSource.start() was not called")
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # later readers end too
            raise StopAsyncIteration
        topic, payload, ack = item
        self._handed = [ack]
        return topic, payload

    def ready(self, limit: int) -> list[Received]:
        """Up to ``limit`` more messages that have already arrived, without waiting (a batch)."""
        taken: list[Received] = []
        queue = self._queue
        while queue is not None and len(taken) < limit and not queue.empty():
            item = queue.get_nowait()
            if item is None:  # closing: leave the end for the next ``__anext__``
                queue.put_nowait(None)
                break
            topic, payload, ack = item
            self._handed.append(ack)
            taken.append((topic, payload))
        return taken

    def processed(self) -> None:
        """Acknowledge the messages handed out since the last call: ingest has committed (or
        refused) them. A message that came on an earlier connection is not acknowledged: the
        broker sends it again."""
        handed, self._handed = self._handed, []
        if not self._connected.is_set():
            return
        for ack in handed:
            if ack.qos != 0 and ack.connection == self._connection:
                self._client.ack(ack.mid, ack.qos)

    def forget(self) -> None:
        """Leave the messages handed out unacknowledged (they were not committed): a broker that
        keeps our session sends them again when we reconnect."""
        self._handed = []

    # --- paho's thread ------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT broker %s:%d refused the connection: %s", self.host, self.port, reason)
            return
        log.info("connected to MQTT broker %s:%d", self.host, self.port)
        self._connection += 1
        self._connected.set()
        self._subscribe_stage(client, 0)

    def _subscribe_stage(self, client: mqtt.Client, stage: int) -> None:
        if stage >= len(self.stages):
            self._subscribed.set()
            return
        result, mid = client.subscribe([(topic, 1) for topic in self.stages[stage]])
        if result != mqtt.MQTT_ERR_SUCCESS or mid is None:
            log.warning("MQTT subscribe to %s failed: %s", self.stages[stage], mqtt.error_string(result))
            return
        self._pending[mid] = stage

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        stage = self._pending.pop(mid, None)
        if stage is None:
            return
        for topic, code in zip(self.stages[stage], codes, strict=False):
            if code.is_failure:
                log.warning("MQTT broker refused the subscription to %s: %s", topic, code)
        self._subscribe_stage(client, stage + 1)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if self._connected.is_set() and not self._closing:
            log.warning("disconnected from MQTT broker %s:%d (%s); reconnecting", self.host, self.port, reason)
        self._connected.clear()
        self._subscribed.clear()
        self._pending.clear()

    def _wanted(self, topic: str) -> bool:
        """amqtt 0.12 also hands a new client the retained messages of other clients' filters."""
        return any(mqtt.topic_matches_sub(f, topic) for f in self._filters)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = "<topic that is not UTF-8>"
        if topic == FANOUT_TOPIC:
            client.ack(message.mid, message.qos)
            if self.on_fanout is not None:
                self.on_fanout(bytes(message.payload))
            return
        loop, queue = self._loop, self._queue
        if loop is None or queue is None or not self._wanted(topic):
            client.ack(message.mid, message.qos)
            return
        if message.retain and f"/{COMMAND_LEAF}/" in topic:
            # A command someone published retained comes back on every (re)subscription: acting on
            # it again would undo whatever staff decided since. Live commands arrive with retain=0.
            log.warning("ignoring a retained command on %s: commands must not be retained", topic[:200])
            client.ack(message.mid, message.qos)
            return
        item = (topic, bytes(message.payload), _Ack(message.mid, message.qos, self._connection))
        with contextlib.suppress(RuntimeError):  # the event loop has closed: we are shutting down
            loop.call_soon_threadsafe(queue.put_nowait, item)
