"""Migration 0010 on a database with reports made before it: a resolved report gets its
resolution as its one step, an open one stays open with no history, and going back to 0009
folds the new statuses into the old two."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import select, text

from cloud.platform.storage.engine import make_engine
from cloud.platform.storage.migrate import alembic_config, upgrade_database
from cloud.platform.storage.tables import fault_updates, faults, machines, rooms, users

T = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_reports_from_before_keep_their_story(database_url: str) -> None:
    upgrade_database(database_url, "0009")
    engine = make_engine(database_url)
    with engine.begin() as conn:
        room_id = conn.execute(
            rooms.insert().values(site="s", room="r", registered_at=T).returning(rooms.c.id)
        ).scalar_one()
        machine_pk = conn.execute(
            machines.insert()
            .values(room_id=room_id, machine_id="washer-1", kind="washer", number=1)
            .returning(machines.c.id)
        ).scalar_one()
        staff_id = conn.execute(
            users.insert().values(role="staff", username="boss", secret_hash="x", created_at=T).returning(users.c.id)
        ).scalar_one()
        common = {"room_id": room_id, "machine_pk": machine_pk, "description": "leaks", "created_at": T}
        resolved = conn.execute(
            faults.insert()
            .values(**common, status="resolved", resolved_at=T, resolved_by=staff_id, resolution_note="new seal")
            .returning(faults.c.id)
        ).scalar_one()
        still_open = conn.execute(faults.insert().values(**common, status="open").returning(faults.c.id)).scalar_one()

    upgrade_database(database_url)
    with engine.connect() as conn:
        steps = conn.execute(
            select(fault_updates.c.fault_id, fault_updates.c.status, fault_updates.c.note, fault_updates.c.by_id)
        ).all()
        assert [tuple(step) for step in steps] == [(resolved, "resolved", "new seal", staff_id)]
        latest = dict(conn.execute(select(faults.c.id, faults.c.status_note)).all())
        assert latest == {resolved: "new seal", still_open: None}
    with engine.begin() as conn:
        conn.execute(faults.update().where(faults.c.id == still_open).values(status="scheduled"))

    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0009")
        conn.commit()
        assert dict(conn.execute(text("SELECT id, status FROM faults")).all()) == {
            resolved: "resolved",
            still_open: "open",
        }
    upgrade_database(database_url)  # and forward again
    engine.dispose()
