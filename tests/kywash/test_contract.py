"""The MQTT contract: payloads round-trip, topics parse, and bad input is refused by reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kywash import contract as c

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

SAMPLES: list[tuple[str, c.Payload]] = [
    ("kywash/v1/north/room-1/status", c.RoomStatus(status=c.RoomStatusValue.ONLINE, boot_id="b1", ts=NOW)),
    (
        "kywash/v1/north/room-1/info",
        c.RoomInfo(
            site="north",
            room="room-1",
            agent_version="0.1.0",
            boot_id="b1",
            started_at=NOW,
            machines=(c.MachineInfo(id="washer-1", kind=c.MachineKind.WASHER, number=1),),
        ),
    ),
    (
        "kywash/v1/north/room-1/machine/washer-1/state",
        c.MachineStatePayload(
            machine="washer-1",
            kind=c.MachineKind.WASHER,
            state=c.MachineState.RUNNING,
            since=NOW,
            door=c.Door.CLOSED,
            current_a=11.5,
            seq=7,
            ts=NOW,
        ),
    ),
    (
        "kywash/v1/north/room-1/machine/washer-1/event",
        c.MachineEvent(
            seq=7,
            boot_id="b1",
            ts=NOW,
            machine="washer-1",
            type=c.EventType.CYCLE_STARTED,
            state=c.MachineState.RUNNING,
            door=c.Door.CLOSED,
            current_a=11.5,
        ),
    ),
    (
        "kywash/v1/north/room-1/machine/washer-1/telemetry",
        c.Telemetry(machine="washer-1", ts=NOW, current_a=0.04, door=c.Door.OPEN),
    ),
]


@pytest.mark.parametrize(("topic", "payload"), SAMPLES)
def test_round_trip(topic: str, payload: c.Payload) -> None:
    raw = payload.to_bytes()
    assert json.loads(raw)["schema"] == c.SCHEMA_VERSION
    ref, decoded = c.decode_message(topic, raw)
    assert decoded == payload
    assert ref.leaf == topic.rsplit("/", 1)[1]


def test_topic_builders_match_parser() -> None:
    assert c.room_topic("north", "room-1", "status") == "kywash/v1/north/room-1/status"
    topic = c.machine_topic("north", "room-1", "dryer-2", "event")
    assert c.parse_topic(topic) == c.TopicRef("north", "room-1", "event", "dryer-2")


def test_unknown_fields_are_ignored() -> None:
    raw = json.loads(SAMPLES[0][1].to_bytes())
    raw["added_in_a_later_minor"] = {"x": 1}
    _, decoded = c.decode_message(SAMPLES[0][0], json.dumps(raw))
    assert decoded == SAMPLES[0][1]


def _with(index: int, **changes: object) -> bytes:
    raw = json.loads(SAMPLES[index][1].to_bytes())
    raw.update(changes)
    return json.dumps(raw).encode()


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("kywash/v1/north/room-1/status", b"not json{", "not_json"),
        ("kywash/v1/north/room-1/status", b"\xff\xfe", "not_json"),
        ("kywash/v1/north/room-1/status", b"[1, 2]", "invalid"),
        ("kywash/v1/north/room-1/status", b'{"schema": 1, "status": "sleeping"}', "invalid"),
        ("kywash/v1/north/room-1/status", _with(0, schema=99), "newer_schema"),
        ("kywash/v1/north/room-1/status", b'{"pad": "' + b"x" * 20_000 + b'"}', "too_large"),
        ("kywash/v1/north/room-1/machine/washer-1/state", _with(2, current_a=-1), "invalid"),
        ("kywash/v1/north/room-1/machine/washer-2/state", SAMPLES[2][1].to_bytes(), "invalid"),
        ("kywash/v1/north/room-1/machine/washer-1/event", _with(3, seq=0), "invalid"),
        ("kywash/v1/north/room-1/info", _with(1, room="room-2"), "invalid"),
        ("kywash/v2/north/room-1/status", SAMPLES[0][1].to_bytes(), "bad_topic"),
        ("kywash/v1/North/room-1/status", SAMPLES[0][1].to_bytes(), "bad_id"),
        ("kywash/v1/north/room-1/machine/washer-1/bogus", b"{}", "bad_topic"),
        ("kywash/v1/north/room-1", b"{}", "bad_topic"),
    ],
)
def test_bad_input_is_refused_with_a_reason(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(c.ContractError) as err:
        c.decode_message(topic, payload)
    assert err.value.reason == reason


@given(st.binary(max_size=300), st.sampled_from([t for t, _ in SAMPLES]))
def test_any_bytes_give_a_payload_or_a_contract_error(payload: bytes, topic: str) -> None:
    try:
        c.decode_message(topic, payload)
    except c.ContractError as exc:
        assert exc.reason in {"not_json", "invalid", "newer_schema", "too_large"}


@given(st.text(max_size=80))
def test_any_topic_parses_or_is_refused(topic: str) -> None:
    try:
        ref = c.parse_topic(topic)
    except c.ContractError:
        return
    assert topic.startswith("kywash/v1/") and ref.leaf in (
        *c.ROOM_LEAVES,
        *c.CLOUD_ROOM_LEAVES,
        *c.MACHINE_LEAVES,
        c.COMMAND_LEAF,
    )


def test_every_leaf_has_one_topic_table_row() -> None:
    leaves = {spec.leaf for spec in c.TOPIC_TABLE}
    assert leaves == set(c.PAYLOAD_BY_LEAF)
    for spec in c.TOPIC_TABLE:
        assert c.PAYLOAD_BY_LEAF[spec.leaf] is spec.payload
