"""Fault reports: from students (with an optional photo) and from the edge's sensors.

Every report is logged, counted on its machine's live view and announced to the room
(without the reporter's identity). Whether enough students have reported a machine to
take it out of service is policy's (``cloud.policy.fault_reports``); staff's later steps
(acknowledged, scheduled, resolved, wont_fix) are ``steps``'s, and closing reports never
puts a machine back (``cloud.policy.out_of_service``).
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import select

from cloud.domain.activity.record import record_activity
from cloud.domain.faults.photos import StoredPhoto
from cloud.domain.faults.reads import OPEN, fault_by_id, is_active, open_count
from cloud.domain.faults.schemas import FaultPublic, FaultReportedMessage
from cloud.domain.laundry.store import MachineRef, machine_place
from cloud.domain.notifications.send import notify_staff
from cloud.domain.notifications.texts import Machine, render, text
from cloud.domain.webhooks.queue import enqueue_webhooks
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
    _announce_report(
        tx, place, fault_id, automatic=False, user_id=viewer.id, description=description, has_photo=photo is not None
    )
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
            is_active(),
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
    _announce_report(tx, place, fault_id, automatic=True, user_id=None, description=description, reason=reason)
    if not notify:
        return fault_id
    notify_staff(
        tx,
        "fault_detected",
        text("fault_detected.title", machine=Machine.of(place), site=place.site, room=place.room),
        description,
        {"fault_id": fault_id, "site": place.site, "room": place.room, "machine": place.machine_id, "reason": reason},
    )
    return fault_id


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
    description: str,
    reason: str | None = None,
    has_photo: bool = False,
) -> None:
    """Log the report, refresh the machine's view, tell the room and queue the ``fault.reported``
    webhooks (never who reported it)."""
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
    where = place.where
    line = text("activity.fault_reported", **where)
    if automatic:
        line = text("activity.fault_reported_by_sensors", **where, reason=reason)
    record_activity(
        tx,
        "fault_reported",
        line,
        room_id=place.room_id,
        user_id=user_id,
        machine_pk=place.pk,
        data={"fault_id": fault_id, "machine": place.machine_id, "automatic": automatic, "photo": has_photo},
    )
    enqueue_webhooks(
        tx,
        "fault.reported",
        site=place.site,
        data=webhook_data(place, fault_id, automatic=automatic, open_faults=count)
        | {"status": OPEN, "reason": reason, "description": description, "photo": has_photo},
        text=render(line),  # webhooks are read by tools: English
    )


def webhook_data(place: MachineRef, fault_id: int, *, automatic: bool, open_faults: int) -> dict[str, Any]:
    """What a ``fault.*`` webhook says of a report: the machine and the count, never the reporter."""
    return {
        "fault_id": fault_id,
        "room": place.room,
        "machine": place.machine_id,
        "kind": place.kind,
        "number": place.number,
        "automatic": automatic,
        "open_faults": open_faults,
    }
