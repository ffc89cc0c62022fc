"""Room config: the example loads, the writer round-trips, and every bad file names its field."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from edge.config import RoomConfig, demo_room_config, load_room_config
from edge.config_toml import write_room_config
from edge.errors import ConfigError
from edge.thresholds import DRYER_THRESHOLDS, WASHER_THRESHOLDS
from kywash.contract import MachineKind

EXAMPLE = Path(__file__).parents[2] / "edge" / "room.example.toml"

VALID = """
site = "maple"
room = "basement"
data_dir = "state"

[broker]
url = "mqtt://127.0.0.1:1883"

[board]
url = "loop://"

[[machines]]
id = "washer-1"
kind = "washer"
door_pin = 5
channel = 1

[[machines]]
id = "washer-2"
kind = "washer"
door_pin = 6
channel = 2

[[machines]]
id = "dryer-1"
kind = "dryer"
door_pin = 19
channel = 7
"""


def write(tmp_path: Path, text: str, name: str = "room.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_example_file_loads() -> None:
    config = load_room_config(EXAMPLE)
    assert config.site == "maple-hall"
    assert [m.number for m in config.machines] == [1, 2, 1, 2]
    assert config.thresholds_for(config.machines[2]).off_dwell_s == 1200  # per-machine override
    assert config.thresholds_for(config.machines[3]) == DRYER_THRESHOLDS
    assert config.data_dir == EXAMPLE.parent / "var" / "kywash"  # relative to the file


def test_defaults(tmp_path: Path) -> None:
    config = load_room_config(write(tmp_path, VALID))
    assert config.client_id == "kywash-edge-maple-basement"
    assert config.broker.keepalive == 30
    assert config.broker.host == "127.0.0.1" and config.broker.port == 1883 and not config.broker.tls
    assert config.board.baudrate == 115200
    assert config.door.debounce_ms == 30
    assert config.telemetry_interval_s == 30
    assert config.thresholds.washer == WASHER_THRESHOLDS
    assert config.thresholds.dryer == DRYER_THRESHOLDS
    assert config.data_dir == tmp_path / "state"


def test_partial_kind_thresholds_keep_kind_defaults(tmp_path: Path) -> None:
    text = VALID.replace("[[machines]]", "[thresholds.dryer]\noff_dwell_s = 600\n\n[[machines]]", 1)
    config = load_room_config(write(tmp_path, text))
    assert config.thresholds.dryer.off_dwell_s == 600
    assert config.thresholds.dryer.on_amps == DRYER_THRESHOLDS.on_amps


def test_tls_url(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("not really a cert")
    text = broker_edit('url = "mqtts://broker.example:8883"\nca_file = "ca.crt"')
    config = load_room_config(write(tmp_path, text))
    assert config.broker.tls and config.broker.port == 8883
    assert config.broker.ca_file == tmp_path / "ca.crt"


def test_demo_room_matches_the_simulator_wiring(tmp_path: Path) -> None:
    config = demo_room_config("demo", "laundry", "mqtt://127.0.0.1:1883", "loop://", tmp_path)
    washers = [m for m in config.machines if m.kind is MachineKind.WASHER]
    dryers = [m for m in config.machines if m.kind is MachineKind.DRYER]
    assert [m.id for m in washers] == [f"washer-{i}" for i in range(1, 7)]
    assert [m.door_pin for m in washers] == [5, 6, 12, 13, 16, 17]
    assert [m.channel for m in washers] == [1, 2, 3, 4, 5, 6]
    assert [m.id for m in dryers] == [f"dryer-{i}" for i in range(1, 7)]
    assert [m.door_pin for m in dryers] == [19, 20, 21, 22, 23, 24]
    assert [m.channel for m in dryers] == [7, 8, 9, 10, 11, 12]


def test_to_toml_round_trips(tmp_path: Path) -> None:
    config = load_room_config(EXAMPLE)
    config = config.model_copy(
        update={"broker": config.broker.model_copy(update={"username": "edge", "password": 'p"w\\x'})}
    )
    path = write_room_config(config, tmp_path / "out" / "room.toml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it may hold the broker password
    assert load_room_config(path) == config


def test_demo_config_round_trips(tmp_path: Path) -> None:
    config = demo_room_config("demo", "laundry", "mqtt://127.0.0.1:1883", "/dev/pts/9", tmp_path)
    assert load_room_config(write(tmp_path, config.to_toml())) == config


def broker_edit(new: str) -> str:
    return VALID.replace('url = "mqtt://127.0.0.1:1883"', new)


def machine_edit(index: int, old: str, new: str) -> str:
    """VALID with ``old`` replaced by ``new`` inside the ``index``-th machine table."""
    head, *machines = VALID.split("[[machines]]")
    machines[index] = machines[index].replace(old, new)
    return "[[machines]]".join([head, *machines])


INVALID = [
    (
        machine_edit(2, "door_pin = 19", "door_pin = 99"),
        "machines[2].door_pin: GPIO pin 99 is not a valid BCM number (0-27)",
    ),
    (machine_edit(1, "door_pin = 6", "door_pin = 5"), "machines[1].door_pin: door_pin 5 is already used by washer-1"),
    (machine_edit(2, "channel = 7", "channel = 1"), "machines[2].channel: channel 1 is already used by washer-1"),
    (machine_edit(2, "channel = 7", "channel = 0"), "machines[2].channel: board channel 0 is not between 1 and 32"),
    (machine_edit(1, 'id = "washer-2"', 'id = "washer-1"'), "machines[1].id: id 'washer-1' is already used"),
    (machine_edit(0, 'id = "washer-1"', 'id = "Washer 1"'), "machines[0].id: machine id 'Washer 1'"),
    (machine_edit(0, 'kind = "washer"', 'kind = "mangle"'), "machines[0].kind: Input should be 'washer' or 'dryer'"),
    (machine_edit(0, "channel = 1", "channel = 1\nnumber = 2"), "machines[1].number: number 2 is already used"),
    (machine_edit(0, "channel = 1", "channel = 1\ncolour = 'red'"), "machines[0].colour: unknown setting"),
    (machine_edit(0, "door_pin = 5\n", ""), "machines[0].door_pin: required setting is missing"),
    (
        machine_edit(2, "channel = 7", "channel = 7\n[machines.thresholds]\noff_amps = 2.0"),
        "machines[2].thresholds.off_amps: off_amps 2.0 must be below on_amps 0.3",
    ),
    (VALID.replace('site = "maple"', 'site = "Maple Hall"'), "site: id 'Maple Hall' must be"),
    (VALID.replace('room = "basement"\n', ""), "room: required setting is missing"),
    (broker_edit('url = "http://broker:80"'), "broker.url: 'http://broker:80' must look like"),
    (broker_edit('url = "mqtt://host:99999"'), "broker.url: 'mqtt://host:99999' has an invalid port"),
    (broker_edit('url = "mqtt://127.0.0.1:1883"\nkeepalive = 1'), "broker.keepalive:"),
    (broker_edit('url = "mqtts://h:8883"\nca_file = "nope.crt"'), "broker.ca_file: CA certificate file"),
    (
        VALID.replace("[[machines]]", "[thresholds.washer]\noff_amps = 0.3\n\n[[machines]]", 1),
        "thresholds.washer.off_amps: off_amps 0.3 must be below on_amps 0.12",
    ),
    (
        VALID.replace("[[machines]]", "[thresholds.dryer]\npause_dwell_s = 1200\n\n[[machines]]", 1),
        "thresholds.dryer.pause_dwell_s: pause_dwell_s 1200.0 must not exceed off_dwell_s 1080.0",
    ),
    (VALID.replace("[[machines]]", "[door]\ndebounce_ms = -1\n\n[[machines]]", 1), "door.debounce_ms:"),
    (VALID.replace('data_dir = "state"', 'data_dir = "state"\ntelemetry_interval_s = 0'), "telemetry_interval_s:"),
    (VALID.replace('data_dir = "state"', 'data_dir = "state"\nbroker_url = "x"'), "broker_url: unknown setting"),
    (VALID.split("[[machines]]", maxsplit=1)[0], "machines: required setting is missing"),
    ("site = 'a'\nroom = \n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "expected"), INVALID)
def test_invalid_config_names_the_field(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_room_config(write(tmp_path, text))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'room.toml'}: "), message
    assert expected in message, message
    assert "\n" not in message and "Traceback" not in message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.toml: cannot read the file"):
        load_room_config(tmp_path / "nowhere.toml")


def test_config_error_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"room\.toml"):
        load_room_config(write(tmp_path, "site = 1"))


def test_room_config_validates_when_built_in_code(tmp_path: Path) -> None:
    config = demo_room_config("demo", "laundry", "mqtt://127.0.0.1:1883", "loop://", tmp_path)
    data = config.model_dump()
    data["machines"][3]["door_pin"] = 5
    with pytest.raises(ValueError, match="already used by washer-1"):
        RoomConfig.model_validate(data)
