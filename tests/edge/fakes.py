"""Fakes shared by the edge tests: an MQTT watcher, a board serving frames on a socket, polling."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kywash.broker import free_port


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it is truthy; fail the test with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class MqttWatcher:
    """A plain paho subscriber (as a dashboard would be) that records what it receives."""

    def __init__(self, host: str, port: int, topic_filter: str) -> None:
        self.received: list[Received] = []
        self.stray = 0  # amqtt 0.12 sends a connecting client retained messages for *every* client's filters
        self._filter = topic_filter
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        # An explicit id: amqtt may hand a client with an empty id an earlier session's subscriptions.
        client_id = f"kywash-test-watcher-{uuid.uuid4().hex[:12]}"
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic_filter, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("watcher could not subscribe")

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if not mqtt.topic_matches_sub(self._filter, msg.topic):
            self.stray += 1
            return
        with self._lock:
            self.received.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain)))

    def matching(self, suffix: str) -> list[Received]:
        with self._lock:
            return [m for m in self.received if m.topic.endswith(suffix)]

    def wait_for(self, suffix: str, predicate: Callable[[Any], bool] = lambda _: True, timeout: float = 10) -> Any:
        """The first message on a topic ending in ``suffix`` whose JSON satisfies ``predicate``."""

        def found() -> Any:
            return next((m.json() for m in self.matching(suffix) if predicate(m.json())), None)

        return wait_until(found, timeout, f"a message on *{suffix}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class FrameServer:
    """A stand-in board on ``socket://127.0.0.1:port``: one client at a time, can vanish and return."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._server: socket.socket | None = None
        self._client: socket.socket | None = None
        self._accepted = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def listen(self) -> FrameServer:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(1)
        self._server = server
        self._accepted.clear()
        self._thread = threading.Thread(target=self._accept, args=(server,), daemon=True)
        self._thread.start()
        return self

    def _accept(self, server: socket.socket) -> None:
        try:
            client, _ = server.accept()
        except OSError:
            return
        self._client = client
        self._accepted.set()

    def wait_connected(self, timeout: float = 10) -> None:
        if not self._accepted.wait(timeout):
            pytest.fail("the board reader never connected")

    def send(self, data: bytes) -> None:
        assert self._client is not None
        self._client.sendall(data)

    def stop(self) -> None:
        """Close the client connection and stop listening (the board went away)."""
        for sock in (self._client, self._server):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._client = self._server = None
