"""Integration fixtures: an edge's stand-in publishing on the broker under test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cloud.fake_edge import EdgePublisher
from tests.conftest import BrokerHandle


@pytest.fixture
def publisher(any_broker: BrokerHandle) -> Iterator[EdgePublisher]:
    """A paho client on ``any_broker`` that clears what it retained when the test ends."""
    edge_client = EdgePublisher(any_broker.host, any_broker.port)
    yield edge_client
    edge_client.close()
