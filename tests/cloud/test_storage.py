"""Migrations and the apply rules, on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from cloud.domain.ingest.apply import Applied, apply_message
from cloud.domain.machines import views
from cloud.domain.machines.views import RoomChoice
from cloud.platform.errors import IngestRejected
from cloud.platform.storage import repository as repo
from cloud.platform.storage.engine import make_engine
from cloud.platform.storage.migrate import current_revision, head_revision, upgrade_database
from cloud.platform.storage.tables import metadata
from kywash.clock import FakeClock, to_datetime
from kywash.contract import EventType, MachineInfo, MachineKind, MachineState, decode_message
from tests.cloud.fake_edge import T0, FakeEdge, Message


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


class Room:
    """Apply fake-edge messages straight to the database, the way ingest does."""

    def __init__(self, engine: Engine, edge: FakeEdge, clock: FakeClock) -> None:
        self.engine, self.edge, self.clock = engine, edge, clock

    def apply(self, message: Message, *, auto_register: bool = True) -> Applied:
        ref, payload = decode_message(*message)
        with self.engine.begin() as conn:
            return apply_message(conn, ref, payload, self.now, auto_register=auto_register)

    @property
    def now(self) -> datetime:
        return to_datetime(self.clock.now())

    def machine(self, machine_id: str) -> dict[str, object]:
        with self.engine.connect() as conn:
            room = repo.find_room(conn, self.edge.site, self.edge.room)
            assert room is not None
            shown = {m.id: m for m in views.machine_views(conn, room.id)}
        return shown[machine_id].model_dump()

    def events(self) -> int:
        with self.engine.connect() as conn:
            room = repo.find_room(conn, self.edge.site, self.edge.room)
            assert room is not None
            return repo.count_events(conn, room.id)


@pytest.fixture
def room(engine: Engine, edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return Room(engine, edge, fake_clock)


def test_migrations_are_idempotent_and_match_the_tables(database_url: str, engine: Engine) -> None:
    upgrade_database(database_url)  # a second run changes nothing
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision() == "0014"
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert set(inspect(engine).get_table_names()) >= {"rooms", "machines", "edge_events", "alembic_version"}


def test_info_registers_the_room_and_its_machines(room: Room) -> None:
    applied = room.apply(room.edge.info())
    assert applied.kind == "info" and applied.room_changed
    with room.engine.connect() as conn:
        (record,) = repo.list_rooms(conn, room.edge.site)
    assert record.status == "online"  # only a running edge publishes its info
    washer = room.machine("washer-2")
    assert (washer["kind"], washer["number"], washer["label"]) == (MachineKind.WASHER, 2, "W2 (by the window)")
    assert washer["state"] == "unknown" and washer["since"] is None


def test_state_then_events_move_the_machine_forward(room: Room) -> None:
    room.apply(room.edge.info())
    room.apply(room.edge.status(online=True))
    assert room.apply(room.edge.state("washer-1", MachineState.IDLE)).kind == "state"
    assert room.apply(room.edge.event("washer-1", minutes=5)).kind == "event"
    washer = room.machine("washer-1")
    assert washer["state"] == "running"
    assert washer["since"] == T0 + timedelta(minutes=5)  # the event's time: when it started running
    assert washer["current_a"] == 9.5 and washer["door"] == "closed" and washer["room_online"] is True


def test_a_duplicate_event_is_applied_once(room: Room) -> None:
    room.apply(room.edge.info())
    event = room.edge.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING)
    assert room.apply(event).kind == "event"
    assert room.apply(event).kind == "duplicate"
    assert room.events() == 1
    assert room.machine("washer-1")["state"] == "running"


def test_a_redelivered_old_event_does_not_move_the_machine_back(room: Room) -> None:
    room.apply(room.edge.info())
    started = room.edge.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING, minutes=1)
    finished = room.edge.event("washer-1", EventType.CYCLE_FINISHED, MachineState.FINISHED, minutes=50)
    room.apply(finished)
    applied = room.apply(started)  # arrives late: stored, but the machine stays finished
    assert applied.kind == "event" and applied.machines == ()
    assert room.events() == 2
    assert room.machine("washer-1")["state"] == "finished"


def test_a_state_with_an_older_seq_does_not_overwrite(room: Room) -> None:
    room.apply(room.edge.info())
    room.apply(room.edge.status())
    room.apply(room.edge.state("dryer-1", MachineState.RUNNING, seq=7, current_a=12.0))
    older = room.apply(room.edge.state("dryer-1", MachineState.IDLE, seq=6))
    assert older.kind == "stale"
    assert room.machine("dryer-1")["state"] == "running"
    same = room.apply(room.edge.state("dryer-1", MachineState.RUNNING, seq=7, current_a=4.0))
    assert same.kind == "state" and room.machine("dryer-1")["current_a"] == 4.0


def test_an_event_that_keeps_the_state_keeps_its_since(room: Room) -> None:
    room.apply(room.edge.info())
    room.apply(room.edge.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING, minutes=1))
    since = room.machine("washer-1")["since"]
    room.apply(room.edge.event("washer-1", EventType.CYCLE_RESUMED, MachineState.RUNNING, minutes=30))
    assert room.machine("washer-1")["since"] == since


def test_an_offline_room_shows_its_machines_as_unknown_since(room: Room, fake_clock: FakeClock) -> None:
    room.apply(room.edge.info())
    room.apply(room.edge.status(online=True))
    room.apply(room.edge.state("washer-1", MachineState.RUNNING, current_a=10.0))
    fake_clock.advance(600)
    went_silent = room.now
    assert room.apply(room.edge.status(online=False)).room_changed
    washer = room.machine("washer-1")
    assert washer["state"] == "unknown"
    assert washer["unknown_since"] == went_silent == washer["since"]
    assert washer["door"] is None and washer["current_a"] is None and washer["room_online"] is False
    fake_clock.advance(60)
    assert not room.apply(room.edge.status(online=False)).room_changed  # since does not move
    assert room.machine("washer-1")["unknown_since"] == went_silent
    room.apply(room.edge.status(online=True))
    assert room.machine("washer-1")["state"] == "running"


def test_info_does_not_override_a_known_status(room: Room, fake_clock: FakeClock) -> None:
    room.apply(room.edge.info())
    room.apply(room.edge.status(online=False))
    went_silent = room.now
    fake_clock.advance(60)
    room.apply(room.edge.info())  # the retained info, seen again after a restart of the cloud
    assert room.machine("washer-1")["unknown_since"] == went_silent


def test_messages_for_unknown_rooms_and_machines_are_rejected(room: Room) -> None:
    for message in (room.edge.status(), room.edge.state("washer-1"), room.edge.event("washer-1")):
        with pytest.raises(IngestRejected) as exc:
            room.apply(message)
        assert exc.value.reason == "unknown_room"
    room.apply(room.edge.info())
    with pytest.raises(IngestRejected) as exc:
        room.apply(room.edge.event("washer-7"))
    assert exc.value.reason == "unknown_machine"
    assert room.events() == 0


def test_without_auto_register_an_unknown_room_info_is_rejected(room: Room) -> None:
    with pytest.raises(IngestRejected, match="not registered"):
        room.apply(room.edge.info(), auto_register=False)


def test_a_new_info_replaces_the_machine_list(room: Room) -> None:
    room.apply(room.edge.info())
    room.apply(room.edge.state("washer-2", MachineState.RUNNING))
    room.edge.machines = (
        MachineInfo(id="washer-2", kind=MachineKind.WASHER, number=2, label="renamed"),
        MachineInfo(id="dryer-5", kind=MachineKind.DRYER, number=5),
    )
    room.apply(room.edge.info())
    with room.engine.connect() as conn:
        machines = views.machines_in(conn, views.choose_room(conn, RoomChoice()))
    assert [(m.id, m.label, m.state) for m in machines.washers] == [("washer-2", "renamed", "running")]
    assert [m.id for m in machines.dryers] == ["dryer-5"]


def test_timestamps_come_back_in_utc(room: Room, fake_clock: FakeClock) -> None:
    room.apply(room.edge.info())
    room.apply(room.edge.status())
    with room.engine.connect() as conn:
        (record,) = repo.list_rooms(conn, room.edge.site)
    assert record.status_since == to_datetime(fake_clock.now())
    assert record.status_since is not None and record.status_since.utcoffset() == timedelta(0)
