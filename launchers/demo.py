"""``kywash demo``: the whole system in one process, with nothing to install.

The embedded amqtt broker, the cloud service on SQLite, and one simulated laundry room
(6 washers, 6 dryers) whose edge agent reads the simulator through real gpiozero mock
pins and a real serial port (a pty), exactly as it would read a Pi's pins and the board.
The main thread waits for Ctrl-C or SIGTERM; then everything is closed in reverse order
of starting (the room, the web server, the broker).
"""

from __future__ import annotations

import logging
import random
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from kywash.clock import ScaledClock, SystemClock, to_datetime
from kywash.signals import stop_on_signals, wait
from launchers.broker import EmbeddedBroker, free_port, port_is_free
from launchers.stack import SimulatedRoom

if TYPE_CHECKING:
    from cloud.platform.settings import CloudSettings

log = logging.getLogger(__name__)

DEMO_SITE = "demo"
DEMO_ROOM = "laundry-1"


@dataclass(frozen=True)
class DemoOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    mqtt_port: int = 1883
    speed: float = 1.0
    data_dir: Path = Path("data/demo")
    seed: int | None = None


def choose_mqtt_port(wanted: int) -> int:
    """The embedded broker always listens on loopback; take a free port if ``wanted`` is busy."""
    if port_is_free("127.0.0.1", wanted):
        return wanted
    chosen = free_port("127.0.0.1")
    print(f"MQTT port {wanted} is taken (another broker?); the demo's broker uses port {chosen} instead.")
    return chosen


def warm_up(room: SimulatedRoom, machine_ids: list[str]) -> None:
    """Load and start a few machines so the first page view shows a room in use."""
    for machine_id in machine_ids:
        room.sim.open_door(machine_id)
        room.sim.close_door(machine_id)
        room.sim.start_cycle(machine_id)


HUMAN_MINUTES: Final = (
    "access_token_minutes",
    "login_lock_minutes",
    "login_lock_max_minutes",
    "claim_confirm_minutes",
    "hold_minutes",
    "reminder_minutes",
)
"""Rules about people, not machines: how long a student has to start a claimed machine or to
come for a held one, how often a forgotten load is recalled, when a login lapses. The demo's
clock runs ``--speed`` times fast for the machines and the simulated students; these are
stretched by the same factor so that they last as long in real time as they would in a
real laundry room (at speed 60 a claim window was 5 real seconds and access tokens 15)."""


def demo_cloud_settings(data_dir: Path, broker_url: str, speed: float) -> CloudSettings:
    from cloud.platform.settings import CloudSettings

    fields = CloudSettings.model_fields
    stretched: dict[str, Any] = {}
    for name in HUMAN_MINUTES:
        wanted = float(fields[name].default) * speed
        stretched[name] = min(wanted, _upper_bound(fields[name]))
    stretched["refresh_token_days"] = min(float(fields["refresh_token_days"].default) * speed, 365.0)
    return CloudSettings(
        database_url=f"sqlite:///{data_dir / 'cloud.db'}",
        mqtt_url=broker_url,
        environment="development",
        photo_dir=str(data_dir / "photos"),
        vapid_key_path=str(data_dir / "vapid_private.pem"),
        **stretched,
    )


def _upper_bound(field: Any) -> float:
    """A field's ``le`` bound, if it has one (the stretched value must still validate)."""
    bounds = [getattr(m, "le", None) for m in field.metadata]
    return min((float(b) for b in bounds if b is not None), default=float("inf"))


def run_demo(options: DemoOptions) -> int:
    from cloud.runtime.app import create_app
    from cloud.runtime.server import serve
    from launchers.demo_hands import ClaimedMachineLoader
    from launchers.demo_staff import LOGIN_FILE, create_staff_command, ensure_demo_staff

    if not port_is_free(options.host, options.port):
        print(f"error: web port {options.port} on {options.host} is taken; choose another with --port")
        return 2
    data_dir = options.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    seed = options.seed if options.seed is not None else random.randrange(1_000_000)
    clock = ScaledClock(options.speed)
    with stop_on_signals() as stop, ExitStack() as stack:
        broker = stack.enter_context(EmbeddedBroker("127.0.0.1", choose_mqtt_port(options.mqtt_port)))
        settings = demo_cloud_settings(data_dir, broker.url, options.speed)
        staff, password = ensure_demo_staff(settings.database_url, data_dir, to_datetime(SystemClock().now()))
        app = create_app(settings, clock=clock)
        server = stack.enter_context(serve(app, options.host, options.port))
        room = stack.enter_context(SimulatedRoom(DEMO_SITE, DEMO_ROOM, broker.url, data_dir / "edge", clock, seed=seed))
        warm_up(room, ["washer-1", "washer-4", "dryer-2"])
        stack.enter_context(ClaimedMachineLoader(room.sim, DEMO_SITE, DEMO_ROOM, broker.url))
        print(
            f"\nKY Wash demo: room {DEMO_SITE}/{DEMO_ROOM}, speed x{options.speed:g}, seed {seed}\n"
            f"  web app     {server.url}/\n  API docs    {server.url}/api/docs\n"
            f"  MQTT broker {broker.url}  (watch it: mosquitto_sub -p {broker.port} -t 'kywash/v1/#' -v)\n"
            f"  data        {data_dir}\n"
            f"  staff login {staff} / {password}  (Staff tab; kept in {data_dir / LOGIN_FILE})\n"
            f"  more staff  {create_staff_command(settings.database_url)}\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        wait(stop)
        print("Stopping ...", flush=True)
    print("KY Wash demo stopped.")
    return 0
