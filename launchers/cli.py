"""The ``kywash`` command: one entry point, a subcommand per part of the system.

``kywash demo`` runs everything in one process; ``kywash broker``, ``kywash cloud`` and
``kywash edge`` run one part each, so a real deployment puts each on its own machine.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from kywash import __version__


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("amqtt", "transitions", "uvicorn.access", "sqlalchemy", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class LazyGroup(click.Group):
    """Loads ``edge``, ``cloud``, ``provision`` and ``labels`` only when asked, so ``kywash --help`` stays fast."""

    lazy = {
        "edge": ("launchers.edge_simulator", "edge_command"),
        "cloud": ("cloud.runtime.cli", "cloud_command"),
        "provision": ("launchers.provision_cli", "provision_command"),
        "labels": ("cloud.runtime.cli", "labels_command"),  # also `kywash cloud labels`
    }
    """Each command's module and attribute: a ``click.Command``, or a function that returns one."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            import importlib

            module, attr = self.lazy[cmd_name]
            found = getattr(importlib.import_module(module), attr)
            command: click.Command = found if isinstance(found, click.Command) else found()
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="kywash")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """KY Wash: smart laundry rooms for student residences."""
    configure_logging(verbose)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for the web app.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Web port.")
@click.option(
    "--mqtt-port",
    default=1883,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port for the embedded MQTT broker (a free one is picked if it is taken).",
)
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Simulated time per real second (60 runs an hour a minute).",
)
@click.option(
    "--data-dir",
    default=Path("data/demo"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its databases.",
)
@click.option("--seed", default=None, type=int, help="Seed the simulated students (default: random).")
def demo(host: str, port: int, mqtt_port: int, speed: float, data_dir: Path, seed: int | None) -> None:
    """Run the whole system: broker, cloud, one simulated room of 6 washers and 6 dryers."""
    from launchers.demo import DemoOptions, run_demo

    raise SystemExit(run_demo(DemoOptions(host, port, mqtt_port, speed, data_dir, seed)))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1883, show_default=True, type=click.IntRange(1, 65535))
def broker(host: str, port: int) -> None:
    """Run the embedded MQTT broker (amqtt) alone; production uses Mosquitto."""
    from kywash.signals import stop_on_signals, wait
    from launchers.broker import EmbeddedBroker, port_is_free

    if not port_is_free(host, port):
        raise click.ClickException(f"port {port} on {host} is taken; choose another with --port")
    with stop_on_signals() as stop, EmbeddedBroker(host, port) as running:
        click.echo(f"MQTT broker listening on {running.url} (Ctrl-C stops it)")
        wait(stop)


if __name__ == "__main__":
    main(prog_name="kywash")  # run.py starts it with -m; its usage lines name the command users type
