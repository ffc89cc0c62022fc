"""Fixtures for the edge tests: mock GPIO pins, MQTT watchers, a board on a socket."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from tests.edge.fakes import FrameServer
from tests.support.mqtt_watch import MqttWatcher


@pytest.fixture
def mock_factory() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.close()


@pytest.fixture
def watch() -> Iterator[Callable[..., MqttWatcher]]:
    """Make MQTT watchers (plain paho subscribers), closed after the test."""
    watchers: list[MqttWatcher] = []

    def make(host: str, port: int, *filters: str) -> MqttWatcher:
        watcher = MqttWatcher(host, port, *filters)
        watchers.append(watcher)
        return watcher

    yield make
    for watcher in watchers:
        watcher.close()


@pytest.fixture
def frame_server() -> Iterator[FrameServer]:
    server = FrameServer().listen()
    yield server
    server.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
