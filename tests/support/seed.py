"""A cloud database holding a room as the demo's edge would report it, written through ingest's
own apply rules (not raw SQL), for tests and benchmarks that start a server over it."""

from __future__ import annotations

from datetime import UTC, datetime

from cloud.domain.ingest.apply import apply_message
from cloud.platform.storage.engine import make_engine
from cloud.platform.storage.migrate import upgrade_database
from kywash.contract import EventType, MachineInfo, MachineKind, MachineState, decode_message
from tests.cloud.fake_edge import FakeEdge

DEMO_MACHINES = tuple(
    MachineInfo(id=f"{kind.value}-{n}", kind=kind, number=n) for kind in MachineKind for n in range(1, 7)
)


def demo_room_edge(site: str = "demo", room: str = "laundry-1") -> FakeEdge:
    return FakeEdge(site=site, room=room, machines=DEMO_MACHINES)


def seed_room(
    database_url: str, edge: FakeEdge, running: tuple[str, ...] = ("washer-1", "washer-4", "dryer-2")
) -> None:
    """Migrate the database and record ``edge``'s room online, ``running`` machines running, the rest idle."""
    upgrade_database(database_url)
    messages = [edge.info(), edge.status(online=True), *(edge.state(m.id) for m in edge.machines)]
    messages += [edge.event(m, EventType.CYCLE_STARTED, MachineState.RUNNING) for m in running]
    engine = make_engine(database_url)
    try:
        for topic, payload in messages:
            ref, message = decode_message(topic, payload)
            with engine.begin() as conn:
                apply_message(conn, ref, message, datetime.now(UTC))
    finally:
        engine.dispose()
