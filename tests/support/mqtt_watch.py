"""One MQTT watcher for the tests: a plain paho client (as a dashboard, the cloud or an edge
would be) that subscribes to some filters, records what arrives and can publish.

It keeps the lessons the tests learned on amqtt 0.12 and Mosquitto:

- an explicit, random client id: amqtt may hand a client with an empty id an earlier
  session's subscriptions;
- it returns only once the broker has answered the SUBSCRIBE (SUBACK), so nothing
  published afterwards can be missed;
- a connecting client gets retained messages for *every* client's filters from amqtt:
  what matches none of ours is counted in ``stray`` and otherwise ignored;
- an empty payload is a cleared retained topic, not a message: ignored.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion


class Received(NamedTuple):
    """One message as it arrived: unpacks as ``(topic, payload, retain)``."""

    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)

    def decoded(self) -> Any:
        """The payload JSON-decoded when it is JSON, else the bytes."""
        try:
            return json.loads(self.payload)
        except ValueError:
            return self.payload


class MqttWatcher:
    """Subscribes to ``filters`` (none: a plain publisher) and records every message in ``received``.

    ``received`` and ``matching`` see everything that arrived; ``next`` and ``drain``
    take messages off a queue in arrival order, each once.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *filters: str,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.filters = filters
        self.received: list[Received] = []
        self.stray = 0
        self._queue: queue.Queue[Received] = queue.Queue()
        self._arrived = threading.Condition()
        self._ready = threading.Event()  # CONNACK, then (with filters) SUBACK
        self._refused: str | None = None
        self._closed = False
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"kywash-test-watcher-{uuid.uuid4().hex[:12]}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        if not self._ready.wait(timeout) or self._refused is not None:
            self.close()
            raise RuntimeError(
                f"watcher on {host}:{port} could not subscribe to {filters}: {self._refused or 'timeout'}"
            )

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._refused = f"connection refused ({reason})"
            self._ready.set()
        elif self.filters:  # subscribed again on a reconnect
            client.subscribe([(f, 1) for f in self.filters])
        else:
            self._ready.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[Any], props: Any) -> None:
        if any(reason.is_failure for reason in reasons):
            self._refused = f"subscription refused ({reasons})"
        self._ready.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if not any(mqtt.topic_matches_sub(f, msg.topic) for f in self.filters):
            self.stray += 1
            return
        if not msg.payload:
            return
        message = Received(msg.topic, bytes(msg.payload), bool(msg.retain))
        with self._arrived:
            self.received.append(message)
            self._queue.put(message)
            self._arrived.notify_all()

    def matching(self, suffix: str = "") -> list[Received]:
        """Every message so far on a topic ending in ``suffix``, in arrival order."""
        with self._arrived:
            return [m for m in self.received if m.topic.endswith(suffix)]

    def wait_for(self, suffix: str = "", predicate: Callable[[Any], bool] = lambda _: True, timeout: float = 10) -> Any:
        """The first message so far (or to come) on a topic ending in ``suffix`` whose JSON satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for message in self.received:
                    if message.topic.endswith(suffix) and predicate(message.json()):
                        return message.json()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for a message on *{suffix}")
                self._arrived.wait(remaining)

    def next_message(self, suffix: str = "", timeout: float = 10) -> Received:
        """Take messages off the queue until one on a topic ending in ``suffix``; the others are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no message on *{suffix} within {timeout} s") from None
            if message.topic.endswith(suffix):
                return message

    def next(self, suffix: str = "", timeout: float = 10) -> tuple[str, Any, bool]:
        """``next_message`` as ``(topic, payload JSON-decoded when it is JSON, retain)``."""
        message = self.next_message(suffix, timeout)
        return message.topic, message.decoded(), message.retain

    def drain(self) -> list[Received]:
        """Take every message still on the queue."""
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def publish(self, topic: str, payload: bytes | str, retain: bool = False, timeout: float = 10) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout)
        assert info.is_published(), f"publish to {topic} was not acknowledged"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> MqttWatcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
