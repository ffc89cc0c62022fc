"""The files a provisioned room's Pi needs: its room.toml (with the broker login) and the CA.

The config is validated as the agent will load it (``load_room_config`` reads it back),
with ``broker.ca_file`` written relative to the config, so ``ca.crt`` beside
``/etc/kywash/room.toml`` on the Pi is found wherever the pair is installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from edge.config import DEFAULT_DATA_DIR, BrokerConfig, RoomConfig, demo_room_config, load_room_config
from edge.config_toml import write_room_config

CONFIG_NAME = "room.toml"
CA_NAME = "ca.crt"


def room_config(
    site: str, room: str, broker: BrokerConfig, template: Path | None = None, data_dir: Path = DEFAULT_DATA_DIR
) -> RoomConfig:
    """``template``'s board, thresholds and machines (or the standard 6+6 layout) for this room."""
    if template is None:
        base = demo_room_config(site, room, broker.url, "/dev/ttyUSB0", data_dir)
    else:
        base = load_room_config(template)
    data = base.model_dump()
    data.update(site=site, room=room, data_dir=data_dir, broker=broker)
    return RoomConfig.model_validate(data)


def write_room_files(
    room_dir: Path,
    site: str,
    room: str,
    broker_url: str,
    username: str,
    password: str,
    ca_cert: Path | None = None,
    template: Path | None = None,
) -> Path:
    """Write ``room_dir/room.toml`` (0600) and ``room_dir/ca.crt``; return the config's path."""
    ca_file = None
    if ca_cert is not None:
        room_dir.mkdir(parents=True, exist_ok=True)
        ca_file = room_dir / CA_NAME
        if ca_cert.resolve() != ca_file.resolve():
            shutil.copyfile(ca_cert, ca_file)
    # With use_username_as_clientid on the edge listener the broker uses the username as
    # the client id anyway; writing it keeps the config honest about the session's name.
    broker = BrokerConfig(url=broker_url, username=username, password=password, client_id=username, ca_file=ca_file)
    config = room_config(site, room, broker, template)
    if ca_file is not None:  # validated above with the real path; written relative to the config
        config = config.model_copy(update={"broker": config.broker.model_copy(update={"ca_file": Path(CA_NAME)})})
    return write_room_config(config, room_dir / CONFIG_NAME)
