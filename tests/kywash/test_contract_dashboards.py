"""The dashboard topics of issue 6: summary, health, ack and staff commands round-trip and parse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kywash import contract as c

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ROOM = "kywash/v1/north/room-1"

SAMPLES: list[tuple[str, c.Payload]] = [
    (
        f"{ROOM}/summary",
        c.RoomSummary(
            site="north",
            room="room-1",
            online=True,
            washers=c.KindSummary(total=2, free=1, free_machines=("washer-2",), waitlist=0),
            dryers=c.KindSummary(total=1, free=0, waitlist=3),
            open_faults=1,
            out_of_service=("washer-1",),
            ts=NOW,
        ),
    ),
    (
        f"{ROOM}/health",
        c.EdgeHealth(
            boot_id="b1",
            agent_version="0.1.0",
            uptime_s=12.5,
            outbox_depth=3,
            events_pending=1,
            events_in_flight=2,
            last_seq=10,
            last_sent_seq=9,
            last_acked_seq=7,
            board_connected=True,
            serial_errors=0,
            bad_frames=4,
            board_reconnects=1,
            mqtt_connects=2,
            mqtt_reconnects=1,
            mqtt_connect_failures=0,
            telemetry_dropped=5,
            sensor_faults=0,
            sensors=(c.SensorHealth(machine="washer-1", ok=True, state=c.MachineState.IDLE),),
            ts=NOW,
        ),
    ),
    (
        f"{ROOM}/machine/washer-1/ack",
        c.MachineAck(machine="washer-1", revision=3, out_of_service=True, applied_at=NOW),
    ),
    (f"{ROOM}/machine/washer-1/cmd/alice", c.MachineCommand(out_of_service=True, reason="leaking")),
]


@pytest.mark.parametrize(("topic", "payload"), SAMPLES, ids=[t.rsplit("/", 1)[1] for t, _ in SAMPLES])
def test_new_payloads_round_trip(topic: str, payload: c.Payload) -> None:
    ref, decoded = c.decode_message(topic, payload.to_bytes())
    assert decoded == payload
    assert ref.site == "north" and ref.room == "room-1"


def test_a_command_topic_names_the_machine_and_the_sender() -> None:
    topic = c.command_topic("north", "room-1", "washer-1", "alice")
    assert topic == f"{ROOM}/machine/washer-1/cmd/alice"
    ref = c.parse_topic(topic)
    assert (ref.leaf, ref.machine, ref.user) == ("cmd", "washer-1", "alice")
    assert c.command_filter("north") == "kywash/v1/north/+/machine/+/cmd/+"


@pytest.mark.parametrize(
    ("payload", "out_of_service", "reason"),
    [
        (b'{"out_of_service": true, "reason": "leaking"}', True, "leaking"),
        (b'{"out_of_service": false}', False, None),
        (b"out_of_service", True, None),
        (b" IN_SERVICE\n", False, None),
        (b'"in_service"', False, None),
    ],
)
def test_commands_are_json_or_plain_text(payload: bytes, out_of_service: bool, reason: str | None) -> None:
    command = c.decode_command(payload)
    assert (command.out_of_service, command.reason) == (out_of_service, reason)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (f"{ROOM}/machine/washer-1/cmd/alice", b"please", "not_json"),
        (f"{ROOM}/machine/washer-1/cmd/alice", b'{"reason": "no verdict"}', "invalid"),
        (f"{ROOM}/machine/washer-1/cmd/alice", b'{"out_of_service": "maybe"}', "invalid"),
        (f"{ROOM}/machine/washer-1/cmd/alice", b"\xff\xfe", "not_json"),
        (f"{ROOM}/machine/washer-1/cmd/al+ice", b"out_of_service", "bad_id"),
        (f"{ROOM}/machine/washer-1/cmd", b"out_of_service", "bad_topic"),
        (
            f"{ROOM}/machine/washer-1/ack",
            c.MachineAck(machine="washer-2", revision=1, out_of_service=False, applied_at=NOW).to_bytes(),
            "invalid",
        ),
        (f"{ROOM}/summary", SAMPLES[0][1].model_copy(update={"room": "room-2"}).to_bytes(), "invalid"),
    ],
)
def test_bad_dashboard_input_is_refused_with_a_reason(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(c.ContractError) as err:
        c.decode_message(topic, payload)
    assert err.value.reason == reason


def test_state_carries_out_of_service_and_old_states_default_to_in_service() -> None:
    state = c.MachineStatePayload(
        machine="washer-1", kind=c.MachineKind.WASHER, state=c.MachineState.IDLE, since=NOW,
        door=c.Door.CLOSED, current_a=0.0, seq=0, ts=NOW, out_of_service=True,
    )  # fmt: skip
    assert c.decode(c.MachineStatePayload, state.to_bytes()).out_of_service is True
    old = state.model_dump(mode="json", by_alias=True)
    del old["out_of_service"]
    assert c.decode(c.MachineStatePayload, __import__("json").dumps(old)).out_of_service is False
