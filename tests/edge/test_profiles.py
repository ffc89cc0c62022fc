"""Learned profiles at the edge: stored in SQLite, published retained, restored from the broker."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from edge import messages
from edge.agent import EdgeAgent
from edge.config import RoomConfig
from edge.learning import CycleFacts, Learned
from edge.outbox import MachineStateRow, Outbox
from edge.profile_store import ProfileStore
from kywash.clock import FakeClock
from kywash.contract import MachineDesired, MachineKind, MachineProfile, decode, decode_message, machine_topic
from launchers.broker import free_port
from tests.conftest import BrokerHandle
from tests.edge.fakes import FrameServer, wait_until
from tests.edge.test_agent import Watch, frame, room_config, running
from tests.support.mqtt_watch import MqttWatcher

STANDBY_A = 0.03
MACHINES = 12


def cycles_learned(count: int, *, minutes: float = 40.0, category: str | None = "normal") -> Learned:
    facts = [
        CycleFacts(minutes * 60 + k * 30, 30_000.0, 120.0, STANDBY_A, False, True, category, 1_767_000_000.0 + k * 9000)
        for k in range(count)
    ]
    return Learned.of_cycles(facts, standby=0.021)


def profile_bytes(machine: str, kind: MachineKind, learned: Learned) -> bytes:
    return learned.to_payload(machine, kind, 1_767_225_000.0).to_bytes()


def topic(config: RoomConfig, machine: str, leaf: str = "profile") -> str:
    return machine_topic(config.site, config.room, machine, leaf)


def learn_standby(agent: EdgeAgent, frame_server: FrameServer) -> None:
    """A minute of standby current on every channel: each detector learns its standby."""
    frame_server.wait_connected()
    wait_until(lambda: agent.board.health().connected, what="the board port")
    frame_server.send(b"".join(frame(seq, *[STANDBY_A] * MACHINES) for seq in range(1, 61)))
    wait_until(lambda: agent.status().stats.profiles_saved >= MACHINES, what="12 profiles stored")


def stored(config: RoomConfig, agent: EdgeAgent, machine: str) -> MachineProfile:
    return decode(MachineProfile, agent.outbox.profiles()[machine])


def said(live: MqttWatcher, machine: str, kind: MachineKind) -> list[int]:
    """``learned`` of each valid profile of ``machine`` seen on the broker (the refused ones left out)."""
    out = []
    for message in live.matching(f"/{machine}/profile"):
        try:
            _, profile = decode_message(message.topic, message.payload)
        except ValueError:
            continue
        if isinstance(profile, MachineProfile) and profile.kind is kind:
            out.append(profile.learned)
    return out


def seed_outbox(config: RoomConfig, profiles: dict[str, bytes]) -> None:
    with Outbox(config.data_dir / "outbox.db") as outbox:
        outbox.save_profiles(profiles, now=1.0)


def test_a_learned_standby_is_stored_and_published_retained(
    amqtt_broker: BrokerHandle, watch: Watch, mock_factory: MockFactory, unique_site: str, tmp_path: Path,
    frame_server: FrameServer,
) -> None:  # fmt: skip
    config = room_config(unique_site, amqtt_broker.url, tmp_path, frame_server.url)
    live = watch(amqtt_broker.host, amqtt_broker.port, f"kywash/v1/{unique_site}/+/machine/+/profile")
    with running(config, mock_factory, FakeClock()) as agent:
        wait_until(lambda: agent.publisher.connected, what="the broker")
        assert agent.outbox.profiles() == {} and not live.received  # nothing learned: nothing said
        learn_standby(agent, frame_server)
        message = live.wait_for("/washer-1/profile")
        assert message["standby_a"] == pytest.approx(STANDBY_A) and message["learned"] == 0
        assert stored(config, agent, "dryer-6").standby_a == pytest.approx(STANDBY_A)
        assert agent.learned("washer-1").standby == pytest.approx(STANDBY_A)
        late = watch(amqtt_broker.host, amqtt_broker.port, f"kywash/v1/{unique_site}/+/machine/+/profile")
        # amqtt may hand a new subscriber a retained message more than once: count the topics
        wait_until(lambda: len({m.topic for m in late.received}) == MACHINES, what="12 retained profiles")
        assert len(live.received) == MACHINES  # each said once
        assert all(m.retain for m in late.received)
        for received in late.received:
            _, profile = decode_message(received.topic, received.payload)
            assert isinstance(profile, MachineProfile)


def test_a_learned_profile_survives_a_restart_through_sqlite(
    amqtt_broker: BrokerHandle, mock_factory: MockFactory, unique_site: str, tmp_path: Path, frame_server: FrameServer
) -> None:
    config = room_config(unique_site, amqtt_broker.url, tmp_path, frame_server.url)
    with running(config, mock_factory, FakeClock()) as agent:
        learn_standby(agent, frame_server)
    mock_factory.close()
    offline = config.model_copy(update={"broker": config.broker.model_copy(update={"port": free_port()})})
    factory = MockFactory()
    try:
        with running(offline, factory, FakeClock()) as again:  # no broker to restore from: SQLite alone
            assert again.learned("washer-1").standby == pytest.approx(STANDBY_A)
            assert again.learned("dryer-1").standby == pytest.approx(STANDBY_A)
            assert again.status().stats.profiles_saved == 0  # nothing new learned, nothing rewritten
    finally:
        factory.close()


def test_a_replaced_edge_gets_its_profiles_back_from_the_broker_and_uses_the_claim_prior(
    amqtt_broker: BrokerHandle, watch: Watch, mock_factory: MockFactory, unique_site: str, tmp_path: Path,
    frame_server: FrameServer,
) -> None:  # fmt: skip
    config = room_config(unique_site, amqtt_broker.url, tmp_path / "new-sd-card", frame_server.url)
    live = watch(amqtt_broker.host, amqtt_broker.port, f"kywash/v1/{unique_site}/#")
    washer, dryer = cycles_learned(5), cycles_learned(3, minutes=70.0)
    # What the old Pi (or the cloud) left retained on the broker, and the live claim of washer-1.
    live.publish(topic(config, "washer-1"), profile_bytes("washer-1", MachineKind.WASHER, washer), retain=True)
    live.publish(topic(config, "dryer-2"), profile_bytes("dryer-2", MachineKind.DRYER, dryer), retain=True)
    desired = MachineDesired(
        machine="washer-1", out_of_service=False, revision=1, ts=datetime.now(UTC),
        claim_category="extra_10", claim_extra_minutes=10,
    )  # fmt: skip
    live.publish(topic(config, "washer-1", "desired"), desired.to_bytes(), retain=True)
    clock = FakeClock()
    with running(config, mock_factory, clock) as agent:
        wait_until(lambda: agent.status().stats.profiles_adopted == 2, what="two profiles taken from the broker")
        assert agent.learned("washer-1") == washer and agent.learned("dryer-2") == dryer
        assert agent.learned("washer-2") == Learned.empty()
        wait_until(lambda: set(agent.outbox.profiles()) == {"washer-1", "dryer-2"}, what="both stored in SQLite")
        assert stored(config, agent, "washer-1").learned == 5
        wait_until(lambda: agent.publisher.service.applied().get("washer-1"), what="the desired state applied")

        frame_server.wait_connected()
        wait_until(lambda: agent.board.health().connected, what="the board port")
        frame_server.send(frame(1, *[5.0] + [0.0] * 11))
        wait_until(lambda: agent.status().stats.board_readings == 1, what="the first reading")
        started_at = clock.now()
        clock.advance(11)
        frame_server.send(frame(2, *[5.0] + [0.0] * 11))
        state = live.wait_for("/washer-1/state", lambda s: s["state"] == "running")
        assert datetime.fromisoformat(state["cycle_started_at"]).timestamp() == pytest.approx(started_at)
        expected, usual = washer.expected_duration("extra_10", 10), washer.expected_duration()
        assert expected is not None and usual is not None and expected == pytest.approx(usual + 600)
        end = datetime.fromisoformat(state["expected_end"]).timestamp()
        assert end == pytest.approx(started_at + expected)
        idle = next(m.json() for m in live.matching("/washer-2/state"))
        assert idle["cycle_started_at"] is None and idle["expected_end"] is None


def test_bad_profiles_are_refused_and_counted_and_the_old_one_kept(
    amqtt_broker: BrokerHandle, watch: Watch, mock_factory: MockFactory, unique_site: str, tmp_path: Path
) -> None:
    config = room_config(unique_site, amqtt_broker.url, tmp_path)
    ours = cycles_learned(3)
    seed_outbox(config, {"washer-1": profile_bytes("washer-1", MachineKind.WASHER, ours)})
    live = watch(amqtt_broker.host, amqtt_broker.port, f"kywash/v1/{unique_site}/#")
    with running(config, mock_factory, FakeClock()) as agent:
        assert agent.learned("washer-1") == ours  # from SQLite
        on_connect = live.wait_for("/washer-1/profile")  # and said on connect
        assert on_connect["learned"] == 3
        good = profile_bytes("washer-1", MachineKind.WASHER, cycles_learned(6))
        bad = [
            (topic(config, "washer-1"), b"not json {"),
            (topic(config, "washer-1"), b'{"schema": 1, "machine": "washer-1"}'),
            (topic(config, "washer-1"), profile_bytes("washer-2", MachineKind.WASHER, cycles_learned(6))),
            (topic(config, "washer-1"), profile_bytes("washer-1", MachineKind.DRYER, cycles_learned(6))),
            (topic(config, "washer-99"), profile_bytes("washer-99", MachineKind.WASHER, cycles_learned(6))),
            (topic(config, "washer-1"), good.replace(b'"schema":1', b'"schema":99')),
        ]
        for where, payload in bad:
            live.publish(where, payload, retain=False)
        wait_until(lambda: agent.status().stats.bad_profiles == len(bad), what="six refusals")
        assert agent.learned("washer-1") == ours
        assert stored(config, agent, "washer-1").learned == 3
        agent.publisher.request_health()
        health = live.wait_for("/health", lambda h: h["bad_profiles"] == len(bad))
        assert health["sensor_faults"] == 0

        live.publish(
            topic(config, "washer-1"), profile_bytes("washer-1", MachineKind.WASHER, cycles_learned(1)), retain=True
        )
        # Ours learned more: kept, and said again so the broker holds the newer.
        wait_until(lambda: said(live, "washer-1", MachineKind.WASHER) == [3, 1, 3], what="ours republished")
        assert agent.learned("washer-1") == ours and agent.status().stats.profiles_adopted == 0
    assert agent.status().stats.bad_profiles == len(bad)


def test_the_store_skips_unreadable_rows_and_profiles_of_other_machines(tmp_path: Path) -> None:
    config = room_config("north", "mqtt://127.0.0.1:1", tmp_path)
    with Outbox(tmp_path / "outbox.db") as outbox:
        store = ProfileStore(config, outbox)
        assert store.stored() == {} and store.stored_messages() == []
        store.save({"washer-1": cycles_learned(2), "dryer-1": Learned(standby=0.05)}, now=10.0)
        outbox.save_profiles({"washer-2": b"garbage", "dryer-2": profile_bytes("dryer-2", MachineKind.WASHER,
                                                                                Learned(standby=0.01))})  # fmt: skip
        assert store.stored() == {"washer-1": cycles_learned(2), "dryer-1": Learned(standby=0.05)}
        assert [t for t, _ in store.stored_messages({"dryer-1"})] == [topic(config, "dryer-1")]
        assert store.submit(topic(config, "washer-1"), b"") is False and store.bad == 0  # a cleared retained one
        assert store.submit(topic(config, "washer-1"), profile_bytes("washer-1", MachineKind.WASHER, Learned()))
        assert store.take() == ("washer-1", Learned()) and store.take() is None


def test_a_restarted_agent_uses_the_stored_claim_prior_and_profile_for_the_expected_end(
    mock_factory: MockFactory, unique_site: str, tmp_path: Path, frame_server: FrameServer
) -> None:
    config = room_config(unique_site, f"mqtt://127.0.0.1:{free_port()}", tmp_path, frame_server.url)  # no broker
    washer = cycles_learned(4)
    seed_outbox(config, {"washer-1": profile_bytes("washer-1", MachineKind.WASHER, washer)})
    with Outbox(config.data_dir / "outbox.db") as outbox:  # what the desired desk stored before the restart
        outbox.put_meta("desired:washer-1", json.dumps({
            "revision": 3, "out_of_service": False, "reason": None, "applied_at": 5.0,
            "claim_category": "extra_5", "claim_extra_minutes": 5,
        }))  # fmt: skip
    clock = FakeClock()
    with running(config, mock_factory, clock) as agent:
        assert agent.publisher.service.applied()["washer-1"].claim_extra_minutes == 5
        timing = agent.publisher.timing
        assert timing is not None and timing("washer-1") == (None, None)  # idle: no cycle, no end
        frame_server.wait_connected()
        wait_until(lambda: agent.board.health().connected, what="the board port")
        frame_server.send(frame(1, *[5.0] + [0.0] * 11))
        wait_until(lambda: agent.status().stats.board_readings == 1, what="the first reading")
        started_at = clock.now()
        clock.advance(11)
        frame_server.send(frame(2, *[5.0] + [0.0] * 11))
        usual = washer.expected_duration()
        assert usual is not None
        wait_until(lambda: timing("washer-1") == (started_at, started_at + usual + 300), what="the expected end")


def test_a_state_message_without_the_detector_takes_the_cycle_start_from_the_row(tmp_path: Path) -> None:
    config = room_config("north", "mqtt://127.0.0.1:1", tmp_path)
    row = MachineStateRow("washer-1", "ending", 100.0, "closed", 0.02, "ending", 100.0, cycle_started_at=40.0)
    payload = json.loads(messages.state_message(config, row, 120.0)[1])
    assert payload["cycle_started_at"] == "1970-01-01T00:00:40Z" and payload["expected_end"] is None
    done = json.loads(messages.state_message(config, replace(row, state="finished", cycle_state="finished"), 1.0)[1])
    assert done["cycle_started_at"] is None
    timed = json.loads(messages.state_message(config, row, 120.0, timing=(40.0, 2440.0))[1])
    assert timed["expected_end"] == "1970-01-01T00:40:40Z"
