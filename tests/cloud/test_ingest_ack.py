"""Ingest acknowledges a QoS 1 message only after it has been processed.

Against Mosquitto with a persistent session (a fixed client id, ``clean_session=False``),
as the cloud runs in production: a message received but not yet committed when the
cloud goes away comes again on the next connection; once ``processed()``, it does not.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from cloud.processes.mqtt_source import MqttSource
from tests.conftest import BrokerHandle
from tests.support.mqtt_watch import MqttWatcher

pytestmark = pytest.mark.mosquitto


def _publish(broker: BrokerHandle, topic: str, payload: bytes) -> None:
    with MqttWatcher(broker.host, broker.port) as client:
        client.publish(topic, payload)


async def _connected(broker: BrokerHandle, client_id: str, topic_filter: str) -> MqttSource:
    source = MqttSource(broker.host, broker.port, client_id=client_id, stages=[[topic_filter]], clean_session=False)
    await source.start()
    assert await asyncio.to_thread(source.wait_subscribed, 10)
    return source


async def _next(source: MqttSource, timeout: float) -> tuple[str, bytes] | None:
    try:
        return await asyncio.wait_for(anext(source), timeout)
    except TimeoutError:
        return None


async def _scenario(broker: BrokerHandle) -> None:
    prefix = f"ack-test/{uuid.uuid4().hex[:8]}"
    client_id = f"kywash-ack-{uuid.uuid4().hex[:8]}"
    first = await _connected(broker, client_id, f"{prefix}/#")
    _publish(broker, f"{prefix}/event", b"one")
    assert await _next(first, 10) == (f"{prefix}/event", b"one")
    await first.close()  # gone before committing: no processed(), so no PUBACK

    second = await _connected(broker, client_id, f"{prefix}/#")
    assert await _next(second, 10) == (f"{prefix}/event", b"one"), "the broker must send it again"
    second.processed()
    _publish(broker, f"{prefix}/event", b"two")
    assert await _next(second, 10) == (f"{prefix}/event", b"two")
    second.processed()
    await asyncio.sleep(0.3)  # let paho send the PUBACKs before we go
    await second.close()

    third = await _connected(broker, client_id, f"{prefix}/#")
    assert await _next(third, 1.5) is None, "acknowledged messages must not come back"
    await third.close()


def test_a_message_is_sent_again_until_ingest_has_processed_it(mosquitto_broker: BrokerHandle) -> None:
    asyncio.run(_scenario(mosquitto_broker))
