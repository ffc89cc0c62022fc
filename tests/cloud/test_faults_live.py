"""What the room hears live, and faults the edge reports itself (once per edge event)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient
from starlette.testclient import WebSocketTestSession as Socket

from cloud.domain.faults.reports import report_automatic
from cloud.platform.storage import repository as repo
from cloud.platform.storage.tables import faults, notifications
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.faults_support import Feed, register, report


def until(socket: Socket, type_: str, limit: int = 50) -> dict[str, dict[str, Any]]:
    """Messages up to the next one of ``type_``, the last of each type (machine views come first)."""
    heard: dict[str, dict[str, Any]] = {}
    for _ in range(limit):
        message: dict[str, Any] = socket.receive_json()
        heard[message["type"]] = message
        if message["type"] == type_:
            return heard
    raise AssertionError(f"no {type_} message in {limit}")


def automatic(
    client: TestClient, edge: FakeEdge, machine_id: str, edge_seq: int | None, reason: str = "no_current"
) -> int | None:
    state: Any = client.app.state.cloud  # type: ignore[attr-defined]

    def work(tx: Any) -> int | None:
        room = repo.find_room(tx.conn, edge.site, edge.room)
        assert room is not None
        found = repo.find_machine(tx.conn, room.id, machine_id)
        assert found is not None
        return report_automatic(
            tx,
            room_id=room.id,
            machine_pk=found.id,
            reason=reason,
            description="The current sensor reads nothing while the door is shut.",
            edge_seq=edge_seq,
        )

    result: int | None = state.transactions.run(work)
    return result


def test_the_room_hears_of_reports_and_service_changes_without_names(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge
) -> None:
    register(db_feed, edge)
    watcher, reporter = make_account(db_client, "999999"), make_account(db_client, "111111")
    staff = make_account(db_client, "boss", role="staff")
    params = f"?site={edge.site}&room={edge.room}"
    with db_client.websocket_connect(f"/api/ws{params}", headers=watcher.headers) as socket:
        assert socket.receive_json()["type"] == "snapshot"
        report(db_client, reporter, kind="dryer", number=1)
        heard = until(socket, "fault_reported")
        assert heard["machine"]["machine"]["open_faults"] == 1
        assert heard["fault_reported"] == {
            "type": "fault_reported",
            "site": edge.site,
            "room": "r1",
            "machine": "dryer-1",
            "kind": "dryer",
            "number": 1,
            "open_faults": 1,
            "automatic": False,
        }

        db_client.post("/api/v1/machines/dryer/1/out-of-service", json={"reason": "lint fire"}, headers=staff.headers)
        heard = until(socket, "machine_service")
        assert heard["machine"]["machine"]["usage"] == "out_of_service"
        service = heard["machine_service"]
        assert (service["machine"], service["out_of_service"], service["reason"]) == ("dryer-1", True, "lint fire")
        assert service["since"].startswith("2026-01-01")

        db_client.post("/api/v1/machines/dryer/1/back-in-service", headers=staff.headers)
        back = until(socket, "machine_service")["machine_service"]
        assert (back["out_of_service"], back["reason"]) == (False, None)


def test_an_edge_fault_is_recorded_once(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    staff = make_account(db_client, "boss", role="staff")
    first = automatic(db_client, edge, "washer-2", edge_seq=7)
    assert first is not None
    assert automatic(db_client, edge, "washer-2", edge_seq=7) is None  # a redelivery
    assert automatic(db_client, edge, "washer-2", edge_seq=8) is None  # the same fault again while it is open
    assert automatic(db_client, edge, "washer-2", edge_seq=None, reason="cycle_too_long") not in (None, first)
    page = db_client.get("/api/v1/faults/", headers=staff.headers).json()
    shown = page["items"][-1]
    assert (shown["id"], shown["automatic"], shown["reason"], shown["reporter"]) == (first, True, "no_current", None)
    assert [m["open_faults"] for m in page["machines"]] == [2]
    with db_client.app.state.cloud.engine.connect() as conn:  # type: ignore[attr-defined]
        types = conn.execute(select(notifications.c.type).where(notifications.c.user_id == staff.id)).scalars()
        assert list(types) == ["fault_detected", "fault_detected"]
        assert conn.execute(select(faults.c.edge_seq).order_by(faults.c.id)).scalars().all() == [7, None]


def test_edge_faults_never_take_a_machine_out_of_service(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    for seq in range(1, 6):
        automatic(db_client, edge, "washer-1", edge_seq=seq, reason=f"reason_{seq}")
    shown = db_client.get("/api/v1/machines/washer/1").json()
    assert (shown["open_faults"], shown["out_of_service"]) == (5, False)


def test_a_wiped_edges_fault_on_a_reused_seq_is_still_recorded(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge
) -> None:
    register(db_feed, edge)
    state: Any = db_client.app.state.cloud  # type: ignore[attr-defined]

    def detected(boot_id: str, reason: str) -> int | None:
        def work(tx: Any) -> int | None:
            room = repo.find_room(tx.conn, edge.site, edge.room)
            assert room is not None
            found = repo.find_machine(tx.conn, room.id, "washer-1")
            assert found is not None
            return report_automatic(
                tx, room_id=room.id, machine_pk=found.id, reason=reason, description="d", edge_seq=3,
                edge_boot_id=boot_id,
            )  # fmt: skip

        return state.transactions.run(work)

    first = detected("boot-old", "cycle_too_long")
    assert first is not None
    assert detected("boot-old", "cycle_too_long") is None  # a redelivery of the same event
    assert detected("boot-new", "current_with_door_open") not in (None, first)  # seq 3 again, after a wipe
