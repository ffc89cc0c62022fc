"""Stopping a long-running command on SIGINT or SIGTERM, and finishing its cleanup.

The handlers only set an event; they stay installed until the whole block (cleanup
included) has ended, so a second signal — GNU ``timeout`` and some process managers send
one to the process and one to its group — cannot cut a clean shutdown short.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)


@contextmanager
def stop_on_signals(stop: threading.Event | None = None) -> Iterator[threading.Event]:
    """SIGINT and SIGTERM set the yielded event (only the main thread may install handlers)."""
    stop = stop or threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if not stop.is_set():
            log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def wait(stop: threading.Event) -> None:
    """Wait for ``stop`` in short slices, so the main thread keeps handling signals promptly."""
    while not stop.wait(0.5):
        pass
