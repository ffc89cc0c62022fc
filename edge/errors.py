"""The edge agent's one error tree, so callers catch ``EdgeError`` and still get builtins.

Each error subclasses both ``EdgeError`` and the builtin it resembles (the gpiozero
habit), so code that knows nothing about the edge can still catch ``ValueError`` or
``OSError``::

    EdgeError
     ├── ConfigError(EdgeError, ValueError)        the room's TOML file is wrong
     ├── FrameError(EdgeError, ValueError)         one serial line is not a KWB/1 frame
     ├── HardwareError(EdgeError, OSError)         a sensor cannot be reached
     │    ├── BoardUnavailable                     the current board's serial port
     │    └── GpioUnavailable                      a door switch's GPIO pin
     └── OutboxError(EdgeError, RuntimeError)      the durable outbox cannot be used
"""

from __future__ import annotations


class EdgeError(Exception):
    """Root of every error the edge agent raises on purpose."""


class ConfigError(EdgeError, ValueError):
    """A room configuration that cannot run; the message names the file and the field."""


class FrameError(EdgeError, ValueError):
    """A line from the current board that is not a valid frame.

    ``reason`` is a short label (``crc_mismatch``, ``too_long``...) used as a counter key,
    so a technician can tell a noisy cable from a firmware mismatch.
    """

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or reason)
        self.reason = reason


class HardwareError(EdgeError, OSError):
    """A sensor the agent needs cannot be reached."""


class BoardUnavailable(HardwareError):  # noqa: N818 - reads as a condition, like gpiozero's
    """The current board's serial port cannot be opened or read."""


class GpioUnavailable(HardwareError):  # noqa: N818
    """A door switch's GPIO pin cannot be claimed (no pin factory, pin in use...)."""


class OutboxError(EdgeError, RuntimeError):
    """The outbox database cannot be used (closed, corrupt, unwritable)."""
