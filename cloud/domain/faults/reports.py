"""Fault reports: from students (with an optional photo) and from the edge's sensors.

Every report is logged, counted on its machine's live view and announced to the room
(without the reporter's identity). Whether enough students have reported a machine to
take it out of service is policy's (``cloud.policy.fault_reports``); resolving reports
never puts a machine back (``cloud.policy.out_of_service``).
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import select, update

from cloud.domain.activity.record import record_activity
from cloud.domain.faults.photos import StoredPhoto
from cloud.domain.faults.reads import OPEN, RESOLVED, fault_by_id, open_count
from cloud.domain.faults.schemas import FaultPublic, FaultReportedMessage
from cloud.domain.laundry.store import MachineRef, machine_place
from cloud.domain.notifications.send import notify, notify_staff
from cloud.platform.errors import Conflict, NotFound
from cloud.platform.hub import Audience
from cloud.platform.storage.repository import insert_ignoring_duplicates
from cloud.platform.storage.tables import faults
from cloud.platform.unit_of_work import Tx
from cloud.platform.viewer import Viewer
from kywash.contract import FaultAlert, MachineKind, machine_topic


def report_fault(
    tx: Tx, *, viewer: Viewer, machine_pk: int, description: str, photo: StoredPhoto | None
) -> FaultPublic:
    """A person's report. Whether enough people have now reported the machine to take it out
    of service is policy's decision (``cloud.policy.fault_reports``), made in the same
    transaction with the machine's row still locked."""
    place = machine_place(tx.conn, machine_pk, lock=True)
    fault_id = _insert(
        tx,
        place,
        reporter_id=viewer.id,
        description=description,
        photo_file=photo.name if photo else None,
        photo_type=photo.content_type if photo else None,
    )
    _announce_report(tx, place, fault_id, automatic=False, user_id=viewer.id, has_photo=photo is not None)
    return fault_by_id(tx.conn, fault_id, viewer)


def report_automatic(
    tx: Tx,
    *,
    room_id: int,
    machine_pk: int,
    reason: str,
    description: str,
    edge_seq: int | None,
    edge_boot_id: str | None = None,
    notify: bool = True,
) -> int | None:
    """A fault the edge detected from its sensors; None if this edge event was already recorded.
    ``notify`` False: staff were told of it another way (a sensor-fault alarm that opened with it).

    Idempotent on (room, edge boot id, edge seq), so a redelivered event or a second replica
    adds nothing (and a wiped edge's new sequence does not collide with the old one);
    and while an automatic report with the same reason is still open on the machine, a
    repeat (the edge restarted in the middle of an over-long cycle, say) adds nothing either.
    """
    place = machine_place(tx.conn, machine_pk)
    already = tx.conn.execute(
        select(faults.c.id).where(
            faults.c.machine_pk == machine_pk,
            faults.c.automatic.is_(True),
            faults.c.reason == reason,
            faults.c.status == OPEN,
        )
    ).first()
    if already is not None:
        return None
    if edge_seq is None:
        fault_id = _insert(tx, place, automatic=True, reason=reason, description=description)
    else:
        values = _values(tx, place, automatic=True, reason=reason, description=description, edge_seq=edge_seq)
        values["edge_boot_id"] = edge_boot_id
        if not insert_ignoring_duplicates(tx.conn, faults, values, ("room_id", "edge_boot_id", "edge_seq")):
            return None
        fault_id = int(
            tx.conn.execute(
                select(faults.c.id).where(
                    faults.c.room_id == room_id,
                    faults.c.edge_boot_id.is_(None) if edge_boot_id is None else faults.c.edge_boot_id == edge_boot_id,
                    faults.c.edge_seq == edge_seq,
                )
            ).scalar_one()
        )
    _announce_report(tx, place, fault_id, automatic=True, user_id=None, reason=reason)
    if not notify:
        return fault_id
    notify_staff(
        tx,
        "fault_detected",
        f"{place.full_name}: the sensors report a fault",
        description,
        {"fault_id": fault_id, "site": place.site, "room": place.room, "machine": place.machine_id, "reason": reason},
    )
    return fault_id


def resolve_fault(tx: Tx, fault_id: int, *, by: Viewer, note: str | None) -> FaultPublic:
    """Close an open report (staff); ``Conflict`` if it was already resolved. The reporter is told."""
    row = tx.conn.execute(
        update(faults)
        .where(faults.c.id == fault_id, faults.c.status == OPEN)
        .values(status=RESOLVED, resolved_at=tx.now, resolved_by=by.id, resolution_note=note)
        .returning(faults.c.machine_pk, faults.c.reporter_id, faults.c.automatic, faults.c.reason)
    ).first()
    if row is None:
        if tx.conn.execute(select(faults.c.id).where(faults.c.id == fault_id)).first() is None:
            raise NotFound(f"no fault report {fault_id}", code="no_such_fault")
        raise Conflict(f"fault report {fault_id} is already resolved", code="already_resolved")
    machine_pk, reporter_id = int(row.machine_pk), row.reporter_id
    place = machine_place(tx.conn, machine_pk)
    tx.changes.machine(machine_pk)
    count = open_count(tx.conn, machine_pk)
    publish_alert(tx, place, fault_id, "resolved", automatic=bool(row.automatic), reason=row.reason, open_faults=count)
    record_activity(
        tx,
        "fault_resolved",
        f"A fault report on {place.full_name} was resolved" + (f": {note}" if note else ""),
        room_id=place.room_id,
        user_id=reporter_id,
        machine_pk=machine_pk,
        data={"fault_id": fault_id, "machine": place.machine_id, "resolved_by": by.id, "note": note},
    )
    if reporter_id is not None:
        body = note or "Thank you for reporting it."
        notify(tx, int(reporter_id), "fault_resolved", f"Your report on {place.full_name} was resolved", body)
    return fault_by_id(tx.conn, fault_id, by)


def publish_alert(
    tx: Tx,
    place: MachineRef,
    fault_id: int,
    action: Literal["reported", "resolved"],
    *,
    automatic: bool,
    reason: str | None,
    open_faults: int,
) -> None:
    """Tell MQTT dashboards (alerting: Home Assistant, Node-RED) after commit; never who reported it."""
    alert = FaultAlert(
        machine=place.machine_id,
        fault_id=fault_id,
        action=action,
        automatic=automatic,
        reason=reason[:200] if reason else None,
        open_faults=open_faults,
        ts=tx.now,
    )
    topic = machine_topic(place.site, place.room, place.machine_id, "fault")
    tx.changes.publish(topic, alert.to_bytes(), retain=False)


def _values(tx: Tx, place: MachineRef, **values: Any) -> dict[str, Any]:
    return {"room_id": place.room_id, "machine_pk": place.pk, "status": OPEN, "created_at": tx.now, **values}


def _insert(tx: Tx, place: MachineRef, **values: Any) -> int:
    stmt = faults.insert().values(**_values(tx, place, **values)).returning(faults.c.id)
    return int(tx.conn.execute(stmt).scalar_one())


def _announce_report(
    tx: Tx,
    place: MachineRef,
    fault_id: int,
    *,
    automatic: bool,
    user_id: int | None,
    reason: str | None = None,
    has_photo: bool = False,
) -> None:
    """Log the report, refresh the machine's view and tell the room (never who reported it)."""
    count = open_count(tx.conn, place.pk)
    tx.changes.machine(place.pk)
    message = FaultReportedMessage(
        site=place.site,
        room=place.room,
        machine=place.machine_id,
        kind=MachineKind(place.kind),
        number=place.number,
        open_faults=count,
        automatic=automatic,
    )
    tx.changes.send(message.model_dump(mode="json"), Audience.of_room(place.site, place.room))
    publish_alert(tx, place, fault_id, "reported", automatic=automatic, reason=reason, open_faults=count)
    text = f"Fault reported on {place.full_name}"
    if automatic:
        text = f"The sensors reported a fault on {place.full_name}: {reason}"
    record_activity(
        tx,
        "fault_reported",
        text,
        room_id=place.room_id,
        user_id=user_id,
        machine_pk=place.pk,
        data={"fault_id": fault_id, "machine": place.machine_id, "automatic": automatic, "photo": has_photo},
    )
