"""Running pieces of the system side by side in one process: the demo, tests and benchmarks.

``ServerThread`` serves an ASGI app with uvicorn on a background thread (uvicorn only
handles signals on the main thread, and re-raises them after shutting down, which would
kill the process before the rest is closed; so the caller owns signals). ``SimulatedRoom``
is a simulated laundry room and the real edge agent reading it through gpiozero mock pins
and a serial port.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

from kywash.clock import Clock


class ServerThread:
    """uvicorn on a thread; ``start()`` returns once it accepts connections."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 8000) -> None:
        import uvicorn

        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=3,
            ws_ping_interval=20,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.host, self.port = host, port
        self._thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"web server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def close(self) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=15)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class SimulatedRoom:
    """A simulated room (``firmware_sim``) read by a real ``EdgeAgent``, wired like a Pi."""

    def __init__(
        self,
        site: str,
        room: str,
        broker_url: str,
        data_dir: Path,
        clock: Clock,
        *,
        seed: int = 0,
        students: bool = True,
        door_bounce: bool = True,
        serial: str = "pty",
    ) -> None:
        from gpiozero.pins.mock import MockFactory

        from edge.agent import EdgeAgent
        from edge.config import demo_room_config
        from firmware_sim.room import RoomSimulator, demo_machines

        self.factory = MockFactory()
        self.sim = RoomSimulator(
            demo_machines(),
            clock,
            self.factory,
            seed=seed,
            serial=serial,  # type: ignore[arg-type]
            students=students,
            door_bounce=door_bounce,
        )
        self.config = demo_room_config(site, room, broker_url, self.sim.serial_url, data_dir)
        # The agent creates its door buttons first: a new pulled-up mock button resets its pin.
        self.agent = EdgeAgent(self.config, clock=clock, pin_factory=self.factory)

    def start(self) -> SimulatedRoom:
        self.sim.start()
        self.agent.start()
        return self

    def close(self) -> None:
        self.agent.close()
        self.sim.close()
        self.factory.close()

    def __enter__(self) -> SimulatedRoom:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_for_signal() -> int:
    """Block until SIGINT or SIGTERM; return the signal number."""
    received: list[int] = []
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    return received[0]
