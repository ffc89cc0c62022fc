"""Staff moving a fault report along: acknowledged, scheduled (for a date), resolved, wont_fix.

Each step is checked against the pure rules (``lifecycle.check_step``), stored on the
report (its latest note and date, which lists show) and in its history (``fault_updates``),
told to the room live (``fault_updated``, never who reported it), to the reporter as a
notification (in the app and by web push), to the activity log, and — when the step
closes the report — to MQTT dashboards. The update is conditional on the status it was
read with, so two staff members racing cannot both move the same report from one status.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from cloud.domain.activity.record import record_activity
from cloud.domain.faults.lifecycle import CLOSED, FaultStatus, check_step
from cloud.domain.faults.reads import fault_by_id, open_count
from cloud.domain.faults.reports import publish_alert, webhook_data
from cloud.domain.faults.schemas import FaultPublic, FaultUpdatedMessage
from cloud.domain.laundry.store import MachineRef, machine_place
from cloud.domain.notifications.send import notify
from cloud.domain.notifications.texts import Day, Machine, Text, text
from cloud.domain.webhooks.queue import enqueue_webhooks
from cloud.platform.errors import CloudError, Conflict, NotFound
from cloud.platform.hub import Audience
from cloud.platform.storage.tables import fault_updates, faults
from cloud.platform.unit_of_work import Tx
from cloud.platform.viewer import Viewer
from kywash.contract import MachineKind

log = logging.getLogger(__name__)


def change_status(
    tx: Tx, fault_id: int, target: FaultStatus, *, by: Viewer, note: str | None, eta: date | None = None
) -> FaultPublic:
    """Take one step on a report (staff); the errors are ``check_step``'s, or ``NotFound``."""
    note = note.strip() if note and note.strip() else None
    row = tx.conn.execute(
        select(faults.c.status, faults.c.machine_pk, faults.c.reporter_id, faults.c.automatic, faults.c.reason).where(
            faults.c.id == fault_id
        )
    ).first()
    if row is None:
        raise NotFound(text("error.fault.no_such_fault", fault_id=fault_id), code="no_such_fault")
    current = FaultStatus(row.status)
    try:
        check_step(current, target, eta=eta, note=note, today=_today(tx))
    except CloudError as refused:  # counted by route and status in kywash_http_request_duration_seconds
        log.info("fault %s: %s -> %s refused (%s): %s", fault_id, current, target, refused.code, refused)
        raise
    values: dict[str, Any] = {"status": target.value, "eta": eta, "status_note": note, "status_at": tx.now}
    if target in CLOSED:
        values.update(resolved_at=tx.now, resolved_by=by.id, resolution_note=note)
    changed = tx.conn.execute(
        update(faults).where(faults.c.id == fault_id, faults.c.status == current.value).values(**values)
    ).rowcount
    if not changed:
        raise Conflict(text("error.fault.changed", fault_id=fault_id), code="fault_changed")
    tx.conn.execute(
        fault_updates.insert().values(
            fault_id=fault_id, status=target.value, note=note, eta=eta, by_id=by.id, created_at=tx.now
        )
    )
    place = machine_place(tx.conn, int(row.machine_pk))
    count = open_count(tx.conn, place.pk)
    _announce(tx, place, fault_id, target, eta=eta, note=note, open_faults=count, automatic=bool(row.automatic))
    if target in CLOSED:
        publish_alert(
            tx, place, fault_id, "resolved", automatic=bool(row.automatic), reason=row.reason, open_faults=count
        )
    _log(tx, place, fault_id, target, eta=eta, note=note, by=by, reporter_id=row.reporter_id)
    if row.reporter_id is not None:
        _tell_reporter(tx, int(row.reporter_id), place, fault_id, target, eta=eta, note=note)
    said = f"A fault report on {place.full_name} {_PHRASES[target]}" + (f" for {eta:%a %d %b}" if eta else "")
    said += f": {note}" if note else ""
    enqueue_webhooks(
        tx,
        "fault.updated",
        site=place.site,
        data=webhook_data(place, fault_id, automatic=bool(row.automatic), open_faults=count)
        | {"status": target.value, "note": note, "eta": eta.isoformat() if eta else None},
        text=said,
    )
    return fault_by_id(tx.conn, fault_id, by)


_PHRASES = {
    FaultStatus.OPEN: "is open",
    FaultStatus.ACKNOWLEDGED: "was acknowledged",
    FaultStatus.SCHEDULED: "has a repair scheduled",
    FaultStatus.RESOLVED: "was resolved",
    FaultStatus.WONT_FIX: "will not be fixed",
}
"""How a webhook's readable line says each step."""


def _today(tx: Tx) -> date:
    """The date in the residence's time zone: what "today" means to the staff who pick a date."""
    return tx.now.astimezone(ZoneInfo(tx.settings.timezone)).date()


def _announce(
    tx: Tx,
    place: MachineRef,
    fault_id: int,
    status: FaultStatus,
    *,
    eta: date | None,
    note: str | None,
    open_faults: int,
    automatic: bool,
) -> None:
    """Refresh the machine's view (its count and ``service_eta``) and tell the room, after commit."""
    tx.changes.machine(place.pk)
    message = FaultUpdatedMessage(
        site=place.site,
        room=place.room,
        machine=place.machine_id,
        kind=MachineKind(place.kind),
        number=place.number,
        fault_id=fault_id,
        status=status,
        eta=eta,
        note=note,
        at=tx.now,
        open_faults=open_faults,
        automatic=automatic,
    )
    tx.changes.send(message.model_dump(mode="json"), Audience.of_room(place.site, place.room))


def _log(
    tx: Tx,
    place: MachineRef,
    fault_id: int,
    status: FaultStatus,
    *,
    eta: date | None,
    note: str | None,
    by: Viewer,
    reporter_id: int | None,
) -> None:
    data = {"fault_id": fault_id, "machine": place.machine_id, "status": status.value, "note": note}
    where = place.where
    said = {"note": note} if note else {}
    if status is FaultStatus.RESOLVED:  # the entry resolving has always written
        line = text("activity.fault_resolved_note" if note else "activity.fault_resolved", **where, **said)
        data |= {"resolved_by": by.id}
        record_activity(
            tx, "fault_resolved", line, room_id=place.room_id, user_id=reporter_id, machine_pk=place.pk, data=data
        )
        return
    step = _step_words(status, eta)
    line = text("activity.fault_updated_note" if note else "activity.fault_updated", **where, step=step, **said)
    data |= {"eta": eta.isoformat() if eta else None, "by": by.id}
    record_activity(
        tx, "fault_updated", line, room_id=place.room_id, user_id=reporter_id, machine_pk=place.pk, data=data
    )


def _tell_reporter(
    tx: Tx,
    reporter_id: int,
    place: MachineRef,
    fault_id: int,
    status: FaultStatus,
    *,
    eta: date | None,
    note: str | None,
) -> None:
    """ "Washer 3: repair scheduled for Tue 8 Dec", with staff's note as the body."""
    data = {
        "fault_id": fault_id,
        "site": place.site,
        "room": place.room,
        "status": status.value,
        "eta": eta.isoformat() if eta else None,
        **place.data,
    }
    if status is FaultStatus.RESOLVED:  # as resolving has always told it
        title = text("fault_resolved.title", machine=Machine.of(place), site=place.site, room=place.room)
        notify(tx, reporter_id, "fault_resolved", title, note or text("fault_resolved.body"), data)
        return
    title = text("fault_step.title", machine=Machine.of(place), step=_step_words(status, eta))
    default = {
        FaultStatus.ACKNOWLEDGED: text("fault_step.acknowledged.body"),
        FaultStatus.SCHEDULED: text("fault_step.scheduled.body"),
        FaultStatus.WONT_FIX: text("fault_step.wont_fix.body"),
    }.get(status, "")
    notify(tx, reporter_id, f"fault_{status.value}", title, note or default, data)


def _step_words(status: FaultStatus, eta: date | None) -> Text | str:
    """The step as the reporter reads it, in their language: "repair scheduled for Tue 8 Dec"."""
    if status is FaultStatus.SCHEDULED and eta is not None:
        return text("fault_step.scheduled_for", day=Day(eta))
    keys = {
        FaultStatus.ACKNOWLEDGED: "fault_step.acknowledged",
        FaultStatus.RESOLVED: "fault_step.resolved",
        FaultStatus.WONT_FIX: "fault_step.wont_fix",
    }
    return text(keys[status]) if status in keys else status.value
