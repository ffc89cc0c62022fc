"""Helpers for the dashboard tests: a watcher of retained topics, and the app on a real broker."""

from __future__ import annotations

import json
import queue
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.conftest import BrokerHandle


class TopicWatcher:
    """A dashboard: subscribes to ``filters`` and keeps every (topic, payload, retain) it hears."""

    def __init__(self, broker: BrokerHandle, *filters: str) -> None:
        self.filters = filters
        self.heard: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self.seen: list[tuple[str, bytes, bool]] = []
        subscribed: queue.Queue[bool] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"watch-{uuid.uuid4().hex[:10]}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: subscribed.put(True)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe([(f, 1) for f in filters])
        assert subscribed.get(timeout=10)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        if message.payload and any(mqtt.topic_matches_sub(f, message.topic) for f in self.filters):
            self.heard.put((message.topic, bytes(message.payload), bool(message.retain)))

    def next(self, suffix: str = "", timeout: float = 10) -> tuple[str, Any, bool]:
        """The next message on a topic ending in ``suffix`` (JSON decoded when it is JSON)."""
        while True:
            topic, payload, retain = self.heard.get(timeout=timeout)
            self.seen.append((topic, payload, retain))
            if topic.endswith(suffix):
                try:
                    return topic, json.loads(payload), retain
                except ValueError:
                    return topic, payload, retain

    def drain(self) -> list[tuple[str, bytes, bool]]:
        out = []
        while True:
            try:
                out.append(self.heard.get_nowait())
            except queue.Empty:
                return out

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
