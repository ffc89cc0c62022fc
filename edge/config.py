"""The laundry room's configuration: one TOML file per room, validated before anything starts.

``load_room_config(path)`` either returns a ``RoomConfig`` or raises ``ConfigError`` with
one line naming the file and the field (``room.toml: machines[2].door_pin: GPIO pin 99
is not a valid BCM number (0-27)``; list indexes count from 0, as TOML tools show them).
Relative paths in the file (``data_dir``, ``broker.ca_file``) are relative to the file.
``RoomConfig.to_toml()`` writes a config back, for the demo and for provisioning.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge.config_errors import describe_problems, first_problem
from edge.config_toml import room_config_to_toml
from edge.errors import ConfigError
from edge.thresholds import FieldProblem, ThresholdOverrides, Thresholds, ThresholdsTable
from kywash.contract import MachineKind, check_id

DEFAULT_DATA_DIR = Path("/var/lib/kywash")  # systemd's StateDirectory=kywash on the Pi
MAX_BCM_PIN = 27
MAX_CHANNELS = 32


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BrokerConfig(_Section):
    """``[broker]``: where the room's MQTT broker is and how to log in."""

    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    keepalive: int = Field(default=30, ge=5, le=3600)
    ca_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, url: str) -> str:
        parts = urlsplit(url)
        bad = f"{url!r} must look like mqtt://host:port or mqtts://host:port"
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(bad)
        if parts.username or parts.password:
            raise ValueError(f"{url!r}: put credentials in broker.username / broker.password")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(bad)
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise ValueError(f"{url!r} has an invalid port") from None
        return url

    @field_validator("ca_file")
    @classmethod
    def _ca_exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"CA certificate file {str(path)!r} does not exist")
        return path

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)


class BoardConfig(_Section):
    """``[board]``: the current-sensor board's serial port (a device or any pyserial URL)."""

    url: str = "/dev/ttyUSB0"
    baudrate: int = Field(default=115200, gt=0)
    reopen_min_s: float = Field(default=0.5, gt=0, description="first wait before reopening the port")
    reopen_max_s: float = Field(default=30.0, gt=0, description="cap of the doubling wait")
    silence_fault_s: float = Field(
        default=60.0, gt=0, description="clock seconds without a reading before a machine is sensor_fault"
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> BoardConfig:
        if self.reopen_max_s < self.reopen_min_s:
            raise FieldProblem(("reopen_max_s",), "reopen_max_s must not be below reopen_min_s")
        return self


class DoorConfig(_Section):
    """``[door]``: reed switches bounce; edges closer than this are one change."""

    debounce_ms: int = Field(default=30, ge=0, le=5000)


class MachineConfig(_Section):
    """One ``[[machines]]`` entry: a washer or dryer, its door pin and its board channel."""

    id: str
    kind: MachineKind
    number: int = Field(default=0, ge=0, description="1..N within its kind; 0 or absent: by order")
    door_pin: int
    channel: int
    label: str | None = None
    indicator_pin: int | None = Field(
        default=None, description="BCM pin of an LED that lights while the machine is out of service"
    )
    thresholds: ThresholdOverrides | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_id(value, "machine id")

    @field_validator("door_pin", "indicator_pin")
    @classmethod
    def _bcm(cls, pin: int | None) -> int | None:
        if pin is not None and not 0 <= pin <= MAX_BCM_PIN:
            raise ValueError(f"GPIO pin {pin} is not a valid BCM number (0-{MAX_BCM_PIN})")
        return pin

    @field_validator("channel")
    @classmethod
    def _channel(cls, channel: int) -> int:
        if not 1 <= channel <= MAX_CHANNELS:
            raise ValueError(f"board channel {channel} is not between 1 and {MAX_CHANNELS}")
        return channel


def _number_by_order(machines: Any) -> Any:
    """Give machines without a ``number`` their position among machines of their kind."""
    if not isinstance(machines, list | tuple):
        return machines
    seen: Counter[str] = Counter()
    out: list[Any] = []
    for entry in machines:
        kind = entry.get("kind") if isinstance(entry, dict) else getattr(entry, "kind", None)
        seen[str(kind)] += 1
        numbered = entry
        if isinstance(entry, dict) and not entry.get("number"):
            numbered = {**entry, "number": seen[str(kind)]}
        elif isinstance(entry, MachineConfig) and entry.number == 0:
            numbered = entry.model_copy(update={"number": seen[str(kind)]})
        out.append(numbered)
    return out


class RoomConfig(_Section):
    """Everything one laundry room's agent needs, checked as a whole."""

    site: str
    room: str
    data_dir: Path = DEFAULT_DATA_DIR
    broker: BrokerConfig = BrokerConfig()
    board: BoardConfig = BoardConfig()
    door: DoorConfig = DoorConfig()
    telemetry_interval_s: float = Field(default=30.0, gt=0)
    telemetry_buffer: int = Field(
        default=120, ge=0, le=100_000, description="telemetry kept while disconnected; oldest dropped first"
    )
    archive_events: int = Field(
        default=100_000, ge=0, description="acknowledged events kept for the cloud's replay requests"
    )
    health_interval_s: float = Field(
        default=60.0, gt=0, description="seconds between retained health messages (also sent on connect and change)"
    )
    thresholds: ThresholdsTable = ThresholdsTable()
    machines: tuple[MachineConfig, ...] = Field(min_length=1)

    @field_validator("site", "room")
    @classmethod
    def _ids(cls, value: str) -> str:
        return check_id(value)

    @model_validator(mode="before")
    @classmethod
    def _numbers(cls, data: Any) -> Any:
        if isinstance(data, dict) and "machines" in data:
            data = {**data, "machines": _number_by_order(data["machines"])}
        return data

    @model_validator(mode="after")
    def _machines_fit_together(self) -> RoomConfig:
        _check_unique(self.machines, "id", lambda m: m.id)
        _check_unique(self.machines, "door_pin", lambda m: m.door_pin)
        _check_pins(self.machines)
        _check_unique(self.machines, "channel", lambda m: m.channel)
        _check_unique(self.machines, "number", lambda m: (m.kind, m.number))
        for index, machine in enumerate(self.machines):
            try:
                self.thresholds.for_kind(machine.kind).merged(machine.thresholds)
            except ValidationError as exc:
                loc, message = first_problem(exc)
                raise FieldProblem(("machines", index, "thresholds", *loc), message) from None
        return self

    @property
    def client_id(self) -> str:
        return self.broker.client_id or f"kywash-edge-{self.site}-{self.room}"

    def thresholds_for(self, machine: MachineConfig) -> Thresholds:
        """The kind's thresholds with this machine's overrides."""
        return self.thresholds.for_kind(machine.kind).merged(machine.thresholds)

    def machine(self, machine_id: str) -> MachineConfig:
        for machine in self.machines:
            if machine.id == machine_id:
                return machine
        raise KeyError(machine_id)

    def to_toml(self) -> str:
        return room_config_to_toml(self)


def _check_unique(machines: tuple[MachineConfig, ...], field: str, key: Any) -> None:
    first: dict[Any, MachineConfig] = {}
    for index, machine in enumerate(machines):
        value = key(machine)
        if value in first:
            shown = getattr(machine, field)
            raise FieldProblem(("machines", index, field), f"{field} {shown!r} is already used by {first[value].id}")
        first[value] = machine


def _check_pins(machines: tuple[MachineConfig, ...]) -> None:
    """An indicator LED needs a pin of its own: no other LED's and no door switch's."""
    doors = {m.door_pin: m for m in machines}
    leds: dict[int, MachineConfig] = {}
    for index, machine in enumerate(machines):
        pin = machine.indicator_pin
        if pin is None:
            continue
        other = doors.get(pin) or leds.get(pin)
        if other is not None:
            raise FieldProblem(
                ("machines", index, "indicator_pin"), f"indicator_pin {pin} is already used by {other.id}"
            )
        leds[pin] = machine


def parse_room_config(data: dict[str, Any], source: str = "config") -> RoomConfig:
    """Validate an already-parsed config; ``ConfigError`` names ``source`` and every bad field, on one line."""
    try:
        return RoomConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_problems(exc)}") from None


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Paths in a config file are relative to the file, not to wherever the agent starts."""
    data = dict(data)
    if isinstance(data.get("data_dir"), str):
        data["data_dir"] = str(base / Path(data["data_dir"]).expanduser())
    broker = data.get("broker")
    if isinstance(broker, dict) and isinstance(broker.get("ca_file"), str):
        data["broker"] = {**broker, "ca_file": str(base / Path(broker["ca_file"]).expanduser())}
    return data


def load_room_config(path: str | Path) -> RoomConfig:
    """Read and validate a room's TOML file; every problem is one ``ConfigError`` line."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read the file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return parse_room_config(_resolve_paths(data, Path(path).resolve().parent), source)


DEMO_WASHER_PINS = (5, 6, 12, 13, 16, 17)
DEMO_DRYER_PINS = (19, 20, 21, 22, 23, 24)


def demo_room_config(site: str, room: str, broker_url: str, board_url: str, data_dir: str | Path) -> RoomConfig:
    """The standard demo room (matches the simulator): six washers on channels 1-6, six dryers on 7-12."""
    machines: list[dict[str, Any]] = []
    for kind, pins, first_channel in (("washer", DEMO_WASHER_PINS, 1), ("dryer", DEMO_DRYER_PINS, 7)):
        for index, pin in enumerate(pins):
            machines.append(
                {
                    "id": f"{kind}-{index + 1}",
                    "kind": kind,
                    "number": index + 1,
                    "door_pin": pin,
                    "channel": first_channel + index,
                }
            )
    data = {
        "site": site,
        "room": room,
        "data_dir": str(data_dir),
        "broker": {"url": broker_url},
        "board": {"url": board_url},
        "machines": machines,
    }
    return parse_room_config(data, "demo room")
