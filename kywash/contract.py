"""The MQTT contract between edge agents, the cloud and dashboards: topics and payloads.

One definition, imported by both sides. It depends on nothing but the standard library
and pydantic so the cloud can use it without any hardware library. The schema version
lives in the topic (``kywash/v1/...``) and in every payload's ``schema`` field; consumers
ignore unknown fields, and refuse a payload whose schema is newer than they understand.

Topic tree (``{site}``, ``{room}`` and ``{machine}`` are lower-case ids)::

    kywash/v1/{site}/{room}/status                      retained  edge (LWT: offline)
    kywash/v1/{site}/{room}/info                        retained  edge
    kywash/v1/{site}/{room}/machine/{machine}/state     retained  edge
    kywash/v1/{site}/{room}/machine/{machine}/event     QoS 1     edge, seq per room
    kywash/v1/{site}/{room}/machine/{machine}/telemetry QoS 0     edge
    kywash/v1/{site}/{room}/machine/{machine}/desired   retained  cloud, revision per machine
    kywash/v1/{site}/{room}/replay                      QoS 1     cloud asks the edge to resend events
    kywash/v1/{site}/{room}/summary                     retained  cloud: free machines, waitlists, faults
    kywash/v1/{site}/{room}/health                      retained  edge: outbox, links, sensors, uptime
    kywash/v1/{site}/{room}/machine/{machine}/ack       retained  edge: the desired revision it applied
    kywash/v1/{site}/{room}/machine/{machine}/fault     QoS 1     cloud: a fault reported or resolved (alerts)
    kywash/v1/{site}/{room}/machine/{machine}/profile   retained  edge: learned standby and cycle profiles
    kywash/v1/{site}/{room}/machine/{machine}/cmd/{user} QoS 1    staff dashboards: out of service or not;
                                                                  ``{user}`` is the sender's broker username
    homeassistant/status                                          Home Assistant's birth message (``online``)
    homeassistant/{component}/{node_id}/{object_id}/config retained cloud: Home Assistant discovery
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA_VERSION: Final = 1
TOPIC_ROOT: Final = "kywash/v1"
MAX_PAYLOAD_BYTES: Final = 16 * 1024
"""Anything larger is not something an edge would send; refuse before parsing."""

EVENT_QOS: Final = 1
STATE_QOS: Final = 1
TELEMETRY_QOS: Final = 0
DESIRED_QOS: Final = 1

SUMMARY_QOS: Final = 1
HEALTH_QOS: Final = 1
ACK_QOS: Final = 1
FAULT_QOS: Final = 1
COMMAND_QOS: Final = 1
PROFILE_QOS: Final = 1

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
"""A broker username as the last level of a ``cmd`` topic (the broker's ACL pins it to the sender)."""


class ContractError(ValueError):
    """A topic or payload that breaks the contract; ``reason`` is a short counter label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def check_user(value: str) -> str:
    """A broker username in a ``cmd`` topic: 1-64 of letters, digits, ``_ . @ -``."""
    if not _USER_RE.match(value):
        raise ContractError("bad_id", f"user {value!r} must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '@', '-'")
    return value


def check_id(value: str, what: str = "id") -> str:
    """Ids become topic levels, so they may not hold ``/``, ``+``, ``#`` or upper case."""
    if not _ID_RE.match(value):
        raise ContractError(
            "bad_id",
            f"{what} {value!r} must be 1-63 characters of a-z, 0-9, '-' or '_', starting with a letter or digit",
        )
    return value


Id = Annotated[str, Field(pattern=_ID_RE.pattern)]


class MachineKind(StrEnum):
    WASHER = "washer"
    DRYER = "dryer"


class MachineState(StrEnum):
    """What the sensors say a machine is doing (facts, not policy)."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    ENDING = "ending"
    """Quiet, and maybe done, but not yet surely: shown as "finishing"; never "done" to a student."""
    FINISHED = "finished"
    DOOR_OPEN = "door_open"
    SENSOR_FAULT = "sensor_fault"
    OUT_OF_SERVICE = "out_of_service"


class Door(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class EventType(StrEnum):
    DOOR_OPENED = "door_opened"
    DOOR_CLOSED = "door_closed"
    CYCLE_STARTED = "cycle_started"
    CYCLE_PAUSED = "cycle_paused"
    CYCLE_RESUMED = "cycle_resumed"
    CYCLE_ENDING = "cycle_ending"
    """The machine went quiet in a way that may be its end; ``cycle_finished`` follows once sure."""
    CYCLE_FINISHED = "cycle_finished"
    CYCLE_CONTINUED = "cycle_continued"
    """Current came back with the door shut after ``cycle_finished``: that cycle was not done
    after all and runs on (``cycle_seconds``: how long it had run). The claimant is told."""
    CYCLE_INTERRUPTED = "cycle_interrupted"
    SENSOR_FAULT = "sensor_fault"
    SENSOR_RECOVERED = "sensor_recovered"
    FAULT_DETECTED = "fault_detected"
    """The sensors show a machine misbehaving (``reason``: e.g. ``current_with_door_open``,
    ``cycle_too_long``); the cloud files it as an automatic fault report."""


class RoomStatusValue(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class Payload(BaseModel):
    """Base of every payload: unknown fields ignored, ``schema`` checked."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    schema_version: int = Field(default=SCHEMA_VERSION, alias="schema", ge=1)

    @field_validator("schema_version")
    @classmethod
    def _not_newer(cls, value: int) -> int:
        if value > SCHEMA_VERSION:
            raise ValueError(f"schema {value} is newer than supported schema {SCHEMA_VERSION}")
        return value

    def to_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


class RoomStatus(Payload):
    status: RoomStatusValue
    boot_id: str | None = None
    ts: datetime | None = None


class MachineInfo(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Id
    kind: MachineKind
    number: int = Field(ge=1, description="1..N within its kind in the room, as on the label")
    label: str | None = None


class RoomInfo(Payload):
    site: Id
    room: Id
    agent_version: str
    boot_id: str
    started_at: datetime
    machines: tuple[MachineInfo, ...]


class MachineStatePayload(Payload):
    machine: Id
    kind: MachineKind
    state: MachineState
    since: datetime
    door: Door
    current_a: float = Field(ge=0)
    seq: int = Field(ge=0, description="sequence number of the event that led here (0: none yet)")
    ts: datetime
    out_of_service: bool = Field(
        default=False, description="the edge applied a desired state that takes the machine out of service"
    )
    cycle_started_at: datetime | None = Field(
        default=None, description="when the cycle in progress started (running, paused, ending)"
    )
    expected_end: datetime | None = Field(
        default=None,
        description=(
            "when the cycle in progress should end, from the machine's learned profile and the claim's extra minutes"
        ),
    )


class MachineEvent(Payload):
    seq: int = Field(ge=1)
    boot_id: str
    ts: datetime
    machine: Id
    type: EventType
    state: MachineState = Field(description="the machine's state after this event")
    door: Door
    current_a: float = Field(ge=0)
    reason: str | None = None
    cycle_seconds: float | None = None


class Telemetry(Payload):
    machine: Id
    ts: datetime
    current_a: float = Field(ge=0)
    door: Door


class MachineDesired(Payload):
    """What the cloud wants of a machine (out of service or not), retained until it changes.

    Desired state rather than a command: an edge that was away reads the latest revision
    when it reconnects, and a higher ``revision`` always supersedes a lower one.
    """

    machine: Id
    out_of_service: bool
    reason: str | None = Field(default=None, max_length=500)
    revision: int = Field(ge=1, description="grows by one on every change of this machine's desired state")
    ts: datetime
    claim_category: str | None = Field(
        default=None,
        max_length=40,
        description="the live claim's category (normal, extra_5, ...): a prior for the edge's cycle detector",
    )
    claim_extra_minutes: int = Field(default=0, ge=0, le=240, description="extra minutes the claim asked for")


class CycleRecord(BaseModel):
    """One finished cycle as a machine's profile remembers it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    duration_s: float = Field(gt=0, le=48 * 3600)
    energy_as: float = Field(ge=0, description="ampere-seconds drawn during the cycle")
    longest_pause_s: float = Field(default=0.0, ge=0, le=48 * 3600, description="longest quiet stretch it resumed from")
    tail_a: float = Field(default=0.0, ge=0, le=100, description="the level the machine settled at after its end")
    tail_low: bool = Field(default=False, description="the tail was above standby (electronics or a fan still on)")
    end_signature: bool = Field(
        default=False, description="the end followed the kind's end signature (final spin, drop to standby)"
    )
    category: str | None = Field(default=None, max_length=40)
    ended_at: datetime


class MachineProfile(Payload):
    """What an edge learned about one machine (retained), so a replaced Pi gets it back.

    ``cycles`` is the most recent finished cycles (oldest first); ``learned`` counts every
    cycle ever learned, so of two profiles of one machine the one that learned more wins.
    """

    machine: Id
    kind: MachineKind
    standby_a: float | None = Field(default=None, ge=0, le=1, description="the machine's own standby level, learned")
    signature_pauses: int = Field(
        default=0, ge=0, description="times the end signature was seen mid-cycle (it then counts for less)"
    )
    learned: int = Field(ge=0)
    cycles: tuple[CycleRecord, ...] = Field(default=(), max_length=40)
    ts: datetime


class ReplayRequest(Payload):
    """The cloud saw a gap in a room's event sequence and asks the edge to publish the events
    from ``from_seq`` (to ``to_seq``, or to the newest) again. Events are idempotent by
    (room, seq), so a replay that overlaps what arrived changes nothing."""

    from_seq: int = Field(ge=1)
    to_seq: int | None = Field(default=None, ge=1)
    reason: str = Field(default="gap", max_length=200)
    ts: datetime


class MachineCommand(Payload):
    """A staff dashboard's request on ``.../machine/{machine}/cmd/{user}``: out of service or back.

    Not retained and not applied by the edge: the cloud checks it, records who and why, and
    publishes the retained ``desired`` state the edge applies. ``decode_command`` also takes
    the plain-text payloads ``out_of_service`` and ``in_service`` (for MQTT Explorer users).
    """

    out_of_service: bool
    reason: str | None = Field(default=None, max_length=500)


class MachineAck(Payload):
    """The edge applied the machine's desired state of ``revision`` (retained, like the state)."""

    machine: Id
    revision: int = Field(ge=1)
    out_of_service: bool
    applied_at: datetime


class FaultAlert(Payload):
    """A fault report was made or resolved on a machine (not retained: for alerting; the
    current count is in the room's retained ``summary``)."""

    machine: Id
    fault_id: int = Field(ge=1)
    action: Literal["reported", "resolved"]
    automatic: bool = Field(description="detected by the edge's sensors rather than reported by a person")
    reason: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=500)
    open_faults: int = Field(ge=0, description="open reports on the machine after this one")
    ts: datetime


class KindSummary(BaseModel):
    """Washers or dryers of a room as a dashboard tile shows them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    total: int = Field(ge=0)
    free: int = Field(ge=0)
    free_machines: tuple[Id, ...] = ()
    waitlist: int = Field(ge=0, description="students waiting (or holding a machine) for this kind")


class RoomSummary(Payload):
    """The cloud's picture of a room for dashboards (retained; republished when it changes)."""

    site: Id
    room: Id
    online: bool
    washers: KindSummary
    dryers: KindSummary
    open_faults: int = Field(ge=0)
    out_of_service: tuple[Id, ...] = ()
    ts: datetime


class SensorHealth(BaseModel):
    """One machine's sensors as the edge sees them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    machine: Id
    ok: bool
    state: MachineState
    fault: str | None = None


class EdgeHealth(Payload):
    """The edge agent's own figures (retained): on connect, every ``health_interval_s`` and when
    something notable changes (the board or broker link, a sensor's health)."""

    boot_id: str
    agent_version: str
    uptime_s: float = Field(ge=0)
    outbox_depth: int = Field(description="events not yet acknowledged by the broker (-1: outbox unreadable)")
    events_pending: int = Field(description="events in the outbox not yet handed to the broker")
    events_in_flight: int = Field(ge=0, description="events handed to the broker, awaiting PUBACK")
    unsaved_events: int = Field(default=0, ge=0, description="events kept in memory while the disk refuses them")
    last_seq: int
    last_sent_seq: int
    last_acked_seq: int
    board_connected: bool
    serial_errors: int = Field(ge=0, description="serial port errors and failed opens")
    bad_frames: int = Field(ge=0)
    board_reconnects: int = Field(ge=0, description="times the serial port was opened again after the first")
    mqtt_connects: int = Field(ge=0)
    mqtt_reconnects: int = Field(ge=0, description="connects after the first of this boot")
    mqtt_connect_failures: int = Field(ge=0)
    telemetry_dropped: int = Field(ge=0)
    sensor_faults: int = Field(ge=0, description="sensor faults raised this boot")
    bad_profiles: int = Field(default=0, ge=0, description="malformed profiles from the broker refused this boot")
    sensors: tuple[SensorHealth, ...] = ()
    ts: datetime


# --- topics ------------------------------------------------------------------------------

ROOM_LEAVES: Final = ("status", "info", "health")
"""Room topics the edge publishes (and the cloud subscribes)."""
CLOUD_ROOM_LEAVES: Final = ("replay", "summary")
"""Room topics the cloud publishes (the edge subscribes ``replay``; dashboards ``summary``)."""
MACHINE_LEAVES: Final = ("state", "event", "telemetry", "desired", "ack", "fault", "profile")
COMMAND_LEAF: Final = "cmd"
"""``.../machine/{machine}/cmd/{user}``: one level more than the other machine topics."""

HA_PREFIX: Final = "homeassistant"
HA_STATUS_TOPIC: Final = f"{HA_PREFIX}/status"
"""Home Assistant's birth (``online``) and last will (``offline``): discovery is sent again on ``online``."""

PAYLOAD_BY_LEAF: Final[dict[str, type[Payload]]] = {
    "status": RoomStatus,
    "info": RoomInfo,
    "state": MachineStatePayload,
    "event": MachineEvent,
    "telemetry": Telemetry,
    "desired": MachineDesired,
    "replay": ReplayRequest,
    "summary": RoomSummary,
    "health": EdgeHealth,
    "ack": MachineAck,
    "fault": FaultAlert,
    "profile": MachineProfile,
    "cmd": MachineCommand,
}


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One row of the topic table in the README (checked by a test)."""

    pattern: str
    publisher: str
    retained: bool
    qos: int
    payload: type[Payload]

    @property
    def leaf(self) -> str:
        """The level that names the message (``cmd`` for ``.../cmd/{user}``)."""
        return next(part for part in reversed(self.pattern.split("/")) if not part.startswith("{"))


TOPIC_TABLE: Final = (
    TopicSpec("kywash/v1/{site}/{room}/status", "edge (LWT offline)", True, 1, RoomStatus),
    TopicSpec("kywash/v1/{site}/{room}/info", "edge", True, 1, RoomInfo),
    TopicSpec("kywash/v1/{site}/{room}/machine/{machine}/state", "edge", True, 1, MachineStatePayload),
    TopicSpec("kywash/v1/{site}/{room}/machine/{machine}/event", "edge", False, 1, MachineEvent),
    TopicSpec("kywash/v1/{site}/{room}/machine/{machine}/telemetry", "edge", False, 0, Telemetry),
    TopicSpec("kywash/v1/{site}/{room}/machine/{machine}/desired", "cloud", True, 1, MachineDesired),
    TopicSpec("kywash/v1/{site}/{room}/replay", "cloud", False, 1, ReplayRequest),
    TopicSpec("kywash/v1/{site}/{room}/summary", "cloud", True, SUMMARY_QOS, RoomSummary),
    TopicSpec("kywash/v1/{site}/{room}/health", "edge", True, HEALTH_QOS, EdgeHealth),
    TopicSpec("kywash/v1/{site}/{room}/machine/{machine}/ack", "edge", True, ACK_QOS, MachineAck),
    TopicSpec("kywash/v1/{site}/{room}/machine/{machine}/fault", "cloud", False, FAULT_QOS, FaultAlert),
    TopicSpec(
        "kywash/v1/{site}/{room}/machine/{machine}/profile", "edge (cloud restores)", True, PROFILE_QOS, MachineProfile
    ),
    TopicSpec(
        "kywash/v1/{site}/{room}/machine/{machine}/cmd/{user}", "staff dashboard", False, COMMAND_QOS, MachineCommand
    ),
)


def room_topic(site: str, room: str, leaf: str) -> str:
    if leaf not in ROOM_LEAVES and leaf not in CLOUD_ROOM_LEAVES:
        raise ContractError("bad_topic", f"unknown room topic leaf {leaf!r}")
    return f"{TOPIC_ROOT}/{check_id(site, 'site')}/{check_id(room, 'room')}/{leaf}"


def machine_topic(site: str, room: str, machine: str, leaf: str) -> str:
    if leaf not in MACHINE_LEAVES:
        raise ContractError("bad_topic", f"unknown machine topic leaf {leaf!r}")
    return (
        f"{TOPIC_ROOT}/{check_id(site, 'site')}/{check_id(room, 'room')}/machine/{check_id(machine, 'machine')}/{leaf}"
    )


def command_topic(site: str, room: str, machine: str, user: str) -> str:
    """Where staff user ``user`` asks for a machine to go out of (or back into) service."""
    return f"{machine_topic(site, room, machine, 'ack').rsplit('/', 1)[0]}/{COMMAND_LEAF}/{check_user(user)}"


def room_filters(site: str = "+", room: str = "+", leaves: tuple[str, ...] = ("status", "info")) -> list[str]:
    """Subscription filters for room-level topics (subscribe these first: see ``ingest``)."""
    return [f"{TOPIC_ROOT}/{site}/{room}/{leaf}" for leaf in leaves]


def command_filter(site: str = "+", room: str = "+") -> str:
    """Every staff command of the matching rooms, whoever sent it."""
    return f"{TOPIC_ROOT}/{site}/{room}/machine/+/{COMMAND_LEAF}/+"


def machine_filters(site: str = "+", room: str = "+", leaves: tuple[str, ...] = ("state", "event")) -> list[str]:
    return [f"{TOPIC_ROOT}/{site}/{room}/machine/+/{leaf}" for leaf in leaves]


@dataclass(frozen=True, slots=True)
class TopicRef:
    site: str
    room: str
    leaf: str
    machine: str | None = None
    user: str | None = None
    """The sender's broker username (``cmd`` topics only)."""


def parse_topic(topic: str) -> TopicRef:
    parts = topic.split("/")
    if len(parts) < 5 or "/".join(parts[:2]) != TOPIC_ROOT:
        raise ContractError("bad_topic", f"topic {topic!r} is not under {TOPIC_ROOT}/")
    site, room = parts[2], parts[3]
    for value, what in ((site, "site"), (room, "room")):
        check_id(value, what)
    if len(parts) == 5 and (parts[4] in ROOM_LEAVES or parts[4] in CLOUD_ROOM_LEAVES):
        return TopicRef(site, room, parts[4])
    if len(parts) == 7 and parts[4] == "machine" and parts[6] in MACHINE_LEAVES:
        return TopicRef(site, room, parts[6], check_id(parts[5], "machine"))
    if len(parts) == 8 and parts[4] == "machine" and parts[6] == COMMAND_LEAF:
        return TopicRef(site, room, COMMAND_LEAF, check_id(parts[5], "machine"), check_user(parts[7]))
    raise ContractError("bad_topic", f"topic {topic!r} is not part of the contract")


P = TypeVar("P", bound=Payload)


def decode(model: type[P], payload: bytes | bytearray | str) -> P:
    """Validate a payload; every failure is a ``ContractError`` with a counter label."""
    raw = payload.encode() if isinstance(payload, str) else bytes(payload)
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ContractError("too_large", f"payload of {len(raw)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        data: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError("not_json", f"payload is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ContractError("invalid", "payload must be a JSON object")
    schema = data.get("schema")
    if isinstance(schema, int) and schema > SCHEMA_VERSION:
        raise ContractError("newer_schema", f"schema {schema} is newer than {SCHEMA_VERSION}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise ContractError("invalid", f"{model.__name__}.{where}: {first['msg']}") from None


PLAIN_COMMANDS: Final = {"out_of_service": True, "in_service": False}
"""Plain-text ``cmd`` payloads (no reason), for a person typing into MQTT Explorer."""


def decode_command(payload: bytes | bytearray | str) -> MachineCommand:
    """A ``cmd`` payload: a JSON object, or the plain text ``out_of_service`` / ``in_service``."""
    raw = payload.encode() if isinstance(payload, str) else bytes(payload)
    try:
        text = raw.decode().strip().strip('"').lower()
    except UnicodeDecodeError:
        text = ""
    if text in PLAIN_COMMANDS:
        return MachineCommand(out_of_service=PLAIN_COMMANDS[text])
    return decode(MachineCommand, raw)


def decode_message(topic: str, payload: bytes | bytearray | str) -> tuple[TopicRef, Payload]:
    """Parse a topic and its payload together, and check that they agree on the machine."""
    ref = parse_topic(topic)
    if ref.leaf == COMMAND_LEAF:
        return ref, decode_command(payload)
    message = decode(PAYLOAD_BY_LEAF[ref.leaf], payload)
    machine = getattr(message, "machine", None)
    if ref.machine is not None and machine != ref.machine:
        raise ContractError("invalid", f"payload machine {machine!r} differs from topic machine {ref.machine!r}")
    if isinstance(message, RoomInfo | RoomSummary) and (message.site, message.room) != (ref.site, ref.room):
        raise ContractError("invalid", "room info names a different site/room than its topic")
    return ref, message
