"""``kywash provision``: credentials, ACL blocks and config files for edges, staff, dashboards and the cloud.

Each command writes secrets only into files readable by their owner (0600) and prints
where they are and what to install where; a password is never printed.
"""

from __future__ import annotations

from pathlib import Path

import click

from launchers.provision import (
    CLOUD_USERNAME,
    BrokerFiles,
    ProvisionError,
    Role,
    acl_rules,
    edge_username,
    new_password,
    person_username,
    write_private,
)

_out_option = click.option(
    "--out",
    "out",
    default=Path("provisioned"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the generated files (password file, ACL, configs).",
)
_passwd_option = click.option(
    "--passwd-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Password file to update (default: OUT/kywash.passwd; on the broker: /etc/mosquitto/kywash.passwd).",
)
_acl_option = click.option(
    "--acl-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="ACL file to update (default: OUT/kywash.acl; on the broker: /etc/mosquitto/kywash.acl).",
)


def _broker_files(out: Path, passwd_file: Path | None, acl_file: Path | None) -> BrokerFiles:
    return BrokerFiles(passwd_file or out / "kywash.passwd", acl_file or out / "kywash.acl")


def _echo_broker_steps(files: BrokerFiles, block_text: str) -> None:
    click.echo("\nOn the broker (the password file holds only hashes):")
    click.echo(f"  install -m 0640 -o root -g mosquitto {files.passwd} /etc/mosquitto/kywash.passwd")
    click.echo(f"  install -m 0640 -o root -g mosquitto {files.acl} /etc/mosquitto/kywash.acl")
    click.echo("  systemctl reload mosquitto    # SIGHUP re-reads both files")
    click.echo("\nACL block written:\n" + "\n".join(f"  {line}" for line in block_text.splitlines()))


@click.group()
def provision_command() -> None:
    """Create MQTT credentials and access rules for a room, a person or the cloud."""


@provision_command.command("room")
@click.option("--site", required=True, help="Site id, e.g. maple-hall.")
@click.option("--room", required=True, help="Room id, e.g. basement.")
@click.option("--broker-host", required=True, help="Broker host name the Pi connects to (as in its certificate).")
@click.option("--broker-port", default=8883, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--ca-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CA that signed the broker's certificate, copied beside the config (default: the Pi's system CAs).",
)
@click.option(
    "--template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A room.toml whose board, thresholds and machines to keep (default: 6 washers and 6 dryers).",
)
@_out_option
@_passwd_option
@_acl_option
def room_command(
    site: str,
    room: str,
    broker_host: str,
    broker_port: int,
    ca_cert: Path | None,
    template: Path | None,
    out: Path,
    passwd_file: Path | None,
    acl_file: Path | None,
) -> None:
    """Credentials, ACL block and room.toml for one laundry room's edge agent."""
    from edge.errors import ConfigError
    from launchers.provision_room import write_room_files

    try:
        username = edge_username(site, room)
        room_dir = out / "rooms" / site / room
        password = new_password()
        files = _broker_files(out, passwd_file, acl_file)
        files.check(Role.EDGE, username)
        config_path = write_room_files(
            room_dir, site, room, f"mqtts://{broker_host}:{broker_port}", username, password, ca_cert, template
        )
        block = files.add_user(Role.EDGE, username, password, acl_rules(Role.EDGE, username, site, room))
    except (ProvisionError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Room {site}/{room} provisioned as MQTT user {username} (new password).")
    click.echo("\nOn the Pi (paths deploy/systemd/kywash-edge.service expects):")
    click.echo(f"  install -D -m 0600 -o kywash -g kywash {config_path} /etc/kywash/room.toml")
    if ca_cert is not None:
        click.echo(f"  install -D -m 0644 {room_dir / 'ca.crt'} /etc/kywash/ca.crt")
    click.echo("  check [[machines]] against the room's wiring: door_pin, channel")
    click.echo("  install -m 0644 deploy/systemd/kywash-edge.service /etc/systemd/system/")
    click.echo("  systemctl daemon-reload && systemctl enable --now kywash-edge")
    _echo_broker_steps(files, block.render())


def _person(role: Role, username: str, out: Path, passwd_file: Path | None, acl_file: Path | None) -> None:
    try:
        username = person_username(username)
        password = new_password()
        files = _broker_files(out, passwd_file, acl_file)
        block = files.add_user(role, username, password, acl_rules(role, username))
    except ProvisionError as exc:
        raise click.ClickException(str(exc)) from None
    handover = write_private(
        out / "users" / f"{username}.txt",
        f"# KY Wash MQTT login ({role}); hand it over privately, then delete this file.\n"
        f"username = {username}\npassword = {password}\n",
    )
    click.echo(f"MQTT user {username} provisioned as {role}; login in {handover} (0600).")
    _echo_broker_steps(files, block.render())


@provision_command.command("staff")
@click.option("--username", required=True, help="Login name; commands are published as .../cmd/USERNAME.")
@_out_option
@_passwd_option
@_acl_option
def staff_command(username: str, out: Path, passwd_file: Path | None, acl_file: Path | None) -> None:
    """A maintenance login: reads every room, sends commands under its own name only."""
    _person(Role.STAFF, username, out, passwd_file, acl_file)


@provision_command.command("dashboard")
@click.option("--username", required=True, help="Login name of a read-only dashboard.")
@_out_option
@_passwd_option
@_acl_option
def dashboard_command(username: str, out: Path, passwd_file: Path | None, acl_file: Path | None) -> None:
    """A read-only dashboard login (MQTT Explorer, a wall display)."""
    _person(Role.DASHBOARD, username, out, passwd_file, acl_file)


@provision_command.command("cloud")
@click.option("--username", default=CLOUD_USERNAME, show_default=True)
@click.option("--client-id", default="kywash-cloud-1", show_default=True, help="This replica's fixed client id.")
@_out_option
@_passwd_option
@_acl_option
def cloud_command(username: str, client_id: str, out: Path, passwd_file: Path | None, acl_file: Path | None) -> None:
    """The cloud's login (loopback listener) and an environment file for the cloud service."""
    try:
        username = person_username(username)
        password = new_password()
        files = _broker_files(out, passwd_file, acl_file)
        block = files.add_user(Role.CLOUD, username, password, acl_rules(Role.CLOUD, username))
    except ProvisionError as exc:
        raise click.ClickException(str(exc)) from None
    env = write_private(
        out / "cloud-mqtt.env",
        "# MQTT settings for the cloud service (add to its environment file).\n"
        "KYWASH_MQTT_URL=mqtt://127.0.0.1:1883\n"
        f"KYWASH_MQTT_USERNAME={username}\nKYWASH_MQTT_PASSWORD={password}\n"
        f"KYWASH_MQTT_CLIENT_ID={client_id}\nKYWASH_MQTT_CLEAN_SESSION=false\n",
    )
    click.echo(f"MQTT user {username} provisioned as cloud; settings in {env} (0600).")
    _echo_broker_steps(files, block.render())
