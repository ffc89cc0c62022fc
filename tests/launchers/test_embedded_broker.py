"""The embedded broker keeps serving a client that subscribes while it is being connected.

amqtt 0.12 walks its subscription table across ``await`` points: when a client connects
(sending it the retained messages of every filter) and when it broadcasts. A new filter
subscribed meanwhile made the walk fail ("dictionary changed size during iteration"): the
connecting client's session died, or the message being broadcast was lost for everyone.
A dashboard that connects and subscribes at once does exactly that, and the demo and the
tests run on this broker.
"""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from launchers.broker import EmbeddedBroker

RETAINED = 200
CLIENTS = 10


def _client(broker: EmbeddedBroker, name: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _wait(condition: object, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_a_client_subscribing_while_it_connects_gets_the_retained_room() -> None:
    with EmbeddedBroker() as broker:
        publisher = _client(broker, "publisher")
        for i in range(RETAINED):
            publisher.publish(f"room/{i}", str(i), qos=1, retain=True).wait_for_publish(5)
        dashboard = _client(broker, "dashboard")  # an existing filter the broker walks for every connect
        dashboard.subscribe("room/#", qos=1)
        churn = _client(broker, "churn")  # another dashboard adding filters all along
        stop = threading.Event()

        def add_filters() -> None:
            i = 0
            while not stop.is_set():
                churn.subscribe(f"other/{i}/#", qos=0)
                i += 1
                time.sleep(0.001)

        threading.Thread(target=add_filters, daemon=True).start()
        clients = []
        lock = threading.Lock()
        for n in range(CLIENTS):
            got: set[str] = set()
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"late-{n}")

            def on_message(_c: mqtt.Client, _u: object, m: mqtt.MQTTMessage, got: set[str] = got) -> None:
                with lock:
                    got.add(m.topic)

            client.on_message = on_message
            client.on_connect = lambda c, *_, n=n: c.subscribe([(f"mine/{n}/#", 1), ("room/#", 1)])
            client.connect(broker.host, broker.port)
            client.loop_start()
            clients.append(client)
            assert _wait(lambda got=got: len(got) == RETAINED), f"client {n} got {len(got)} of {RETAINED} retained"
            publisher.publish(f"mine/{n}/x", "hello", qos=1).wait_for_publish(5)
            assert _wait(lambda got=got, n=n: f"mine/{n}/x" in got), f"client {n} stopped being served"
        stop.set()
        for client in [publisher, dashboard, churn, *clients]:
            client.loop_stop()
            client.disconnect()
