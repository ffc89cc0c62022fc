"""Running pieces of the system side by side in one process: the demo, tests and benchmarks.

``SimulatedRoom`` is a simulated laundry room and the real edge agent reading it through
gpiozero mock pins and a serial port. The web server runs on a thread (``cloud.runtime.server.serve``)
because uvicorn re-raises a signal after its graceful shutdown, which would end the process
before the room and the broker are closed; so the main thread owns signals
(``kywash.signals``).
"""

from __future__ import annotations

from pathlib import Path

from kywash.clock import Clock


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
