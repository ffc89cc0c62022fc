"""``kywash cloud``: run the cloud service (``cloud_command`` is wired into the ``kywash`` CLI).

With no subcommand it serves the app in the foreground. Settings come from ``KYWASH_*``
environment variables, with the options below taking precedence; a bad setting prints
``error: <field>: <message>`` and exits with status 2, without a traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import click
from pydantic import ValidationError

from cloud.platform.settings import CloudSettings, describe_errors, load_settings

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _settings_or_exit(ctx: click.Context, **overrides: object) -> CloudSettings:
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        for line in describe_errors(exc):
            click.echo(f"error: {line}", err=True)
        ctx.exit(2)
    raise AssertionError("unreachable")


def database_option(command: Callable[..., None]) -> Callable[..., None]:
    """``--database-url`` on a subcommand too: ``kywash cloud create-staff --database-url URL`` is
    what people type, and refusing it sent them to write to the default database instead."""
    return click.option(
        "--database-url", "sub_database_url", default=None, help="Overrides KYWASH_DATABASE_URL (and the group's)."
    )(command)


def _overrides(ctx: click.Context, sub_database_url: str | None) -> dict[str, object]:
    """The group's overrides (none when the command is reached as ``kywash labels``) and the subcommand's."""
    overrides = dict((ctx.obj or {}).get("overrides", {}))
    if sub_database_url is not None:
        overrides["database_url"] = sub_database_url
    return overrides


def shown_url(url: str) -> str:
    """The database URL without its password, to say which database a command wrote."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group(name="cloud", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes; each is a replica (live changes are shared through the broker).",
)
@click.option("--database-url", default=None, help="Overrides KYWASH_DATABASE_URL.")
@click.option("--mqtt-url", default=None, help="Overrides KYWASH_MQTT_URL (mqtt:// or mqtts://).")
@click.option("--no-ingest", is_flag=True, help="Serve the API without subscribing to MQTT.")
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True)
@click.pass_context
def cloud_command(
    ctx: click.Context,
    host: str,
    port: int,
    workers: int,
    database_url: str | None,
    mqtt_url: str | None,
    no_ingest: bool,
    log_level: str,
) -> None:
    """Run the KY Wash cloud service: MQTT ingest, REST API, WebSocket and web page."""
    ctx.ensure_object(dict)
    ctx.obj["overrides"] = {"database_url": database_url, "mqtt_url": mqtt_url}
    if no_ingest:
        ctx.obj["overrides"]["ingest_enabled"] = False
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings_or_exit(ctx, **ctx.obj["overrides"])
    logging.basicConfig(level=log_level.upper(), format=LOG_FORMAT)
    if workers > 1:
        _serve_workers(ctx, settings, host, port, workers, log_level)
        return
    from cloud.runtime.app import create_app
    from cloud.runtime.server import make_server, tune_gc

    server = make_server(create_app(settings), host, port, log_level=log_level)
    tune_gc()
    server.run()


def _serve_workers(
    ctx: click.Context, settings: CloudSettings, host: str, port: int, workers: int, log_level: str
) -> None:
    """Run ``workers`` uvicorn processes on one socket; each builds its app from the environment.

    Every worker is a replica: it ingests (sharing the subscription when
    ``KYWASH_MQTT_SHARED_GROUP`` is set), shares its live changes with the others
    (``KYWASH_REPLICA_FANOUT``, turned on here) and, with a fixed ``KYWASH_MQTT_CLIENT_ID``,
    has its own persistent session under that id plus ``-w1``, ``-w2``...
    """
    import os

    from cloud.platform.storage.migrate import upgrade_database
    from cloud.runtime.server import prepare_metrics_dir, serve_workers

    env = {"KYWASH_REPLICA_FANOUT": "true", "KYWASH_LOG_LEVEL": log_level, "KYWASH_WORKERS": str(workers)}
    env |= {f"KYWASH_{key.upper()}": str(value) for key, value in ctx.obj["overrides"].items() if value is not None}
    os.environ.update(env)  # the workers are spawned: they read their settings from here
    upgrade_database(settings.database_url)  # once, before the workers race to do it
    prepare_metrics_dir()
    serve_workers(host, port, workers, log_level=log_level)


@cloud_command.command("migrate")
@database_option
@click.pass_context
def migrate_command(ctx: click.Context, sub_database_url: str | None) -> None:
    """Bring the database to the newest schema and exit (the service also does this at start)."""
    from cloud.platform.storage.migrate import head_revision, upgrade_database

    settings = _settings_or_exit(ctx, **_overrides(ctx, sub_database_url))
    upgrade_database(settings.database_url)
    click.echo(f"database {shown_url(settings.database_url)} at revision {head_revision()}")


@cloud_command.command("create-staff")
@click.option("--username", required=True, help="Login name: 3-64 characters, a letter first.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (for scripts).")
@database_option
@click.pass_context
def create_staff_command(ctx: click.Context, username: str, password_stdin: bool, sub_database_url: str | None) -> None:
    """Create a staff account (staff can never register through the public API).

    Migrates the database first, so this works on a fresh install. The password is asked
    twice without echo, or read from stdin so it never appears in a command line or history.
    It says which database it wrote: the demo's is not the default one (the demo prints
    its exact command).
    """
    from cloud.domain.accounts.access import create_staff
    from cloud.platform.errors import Conflict, InvalidInput
    from cloud.platform.storage.engine import make_engine
    from cloud.platform.storage.migrate import upgrade_database
    from kywash.clock import SystemClock, to_datetime

    settings = _settings_or_exit(ctx, **_overrides(ctx, sub_database_url))
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            user = create_staff(conn, username, password, to_datetime(SystemClock().now()))
    except InvalidInput as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(2)
    except Conflict as exc:
        click.echo(f"error: {exc}; choose another", err=True)
        ctx.exit(1)
    finally:
        engine.dispose()
    click.echo(f"created staff user {user.username!r} (id {user.id}) in {shown_url(settings.database_url)}")


@cloud_command.command("labels")
@click.option("--site", required=True, help="The room's site.")
@click.option("--room", required=True, help="The room whose machines get a sticker.")
@click.option(
    "--base-url",
    default=None,
    help="Where students reach the web app (https://wash.example.edu); defaults to KYWASH_PUBLIC_URL.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="labels.pdf, labels.svg or labels.png: the extension picks the format.",
)
@database_option
@click.pass_context
def labels_command(
    ctx: click.Context, site: str, room: str, base_url: str | None, out: Path, sub_database_url: str | None
) -> None:
    """Print a sheet of QR stickers, one per machine of a room, each linking to that machine's claim page.

    A4, 2 x 4 stickers of 99.1 x 67.7 mm (Avery L7165); more machines, more pages (an SVG or
    PNG file per page: labels.svg, labels-2.svg...). Reads the machines from the database.
    """
    from cloud.domain.rooms.labels import format_of, stickers_of, write_sheet
    from cloud.platform.errors import InvalidInput, NotFound
    from cloud.platform.storage.engine import make_engine
    from cloud.platform.storage.migrate import upgrade_database

    settings = _settings_or_exit(ctx, **_overrides(ctx, sub_database_url))
    base = base_url or settings.public_url
    if not base or not base.startswith(("http://", "https://")):
        click.echo("error: --base-url: give the web app's address, as in https://wash.example.edu", err=True)
        ctx.exit(2)
    try:
        format_of(out)
        upgrade_database(settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            with engine.connect() as conn:
                stickers = stickers_of(conn, site, room, base)
        finally:
            engine.dispose()
        written = write_sheet(stickers, out)
    except (InvalidInput, NotFound) as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(2)
    except ImportError as exc:
        click.echo(f"error: {exc.name} is needed for {out.suffix} labels: pip install 'kywash[labels]'", err=True)
        ctx.exit(2)
    files = ", ".join(str(path) for path in written)
    click.echo(f"{len(stickers)} labels for {site}/{room} written to {files}")
