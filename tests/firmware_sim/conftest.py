"""Fixtures for the simulator's tests: a private gpiozero mock pin factory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory


@pytest.fixture
def mock_factory() -> Iterator[MockFactory]:
    """A MockFactory of our own (never ``Device.pin_factory``), closed and reset afterwards."""
    factory = MockFactory()
    try:
        yield factory
    finally:
        factory.close()
        factory.reset()
