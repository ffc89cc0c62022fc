"""Taking a machine out of service and putting it back: the database, the edge, people, policy.

Either way the change is one conditional update (``WHERE out_of_service = <the other
state>``), so when two replicas or two staff members race, exactly one of them changes
the machine and announces it; the other learns it was already done. Each change bumps
the machine's ``desired_revision`` and publishes the retained ``desired`` message, so an
edge (issue 6) and every dashboard sees the latest wish whenever it connects. Students
following the room see the machine change live; staff are notified; claims, holds and
waitlists react through ``cloud.policy.service_changed``. An automatic removal is a staff
alarm (``cloud/domain/alarms/``), cleared when the machine is put back.

Resolving fault reports never puts a machine back by itself: a machine with no open
reports may still be broken, so returning it is always a person's decision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import false, true, update

from cloud.domain.activity.record import record_activity
from cloud.domain.alarms import machine_incidents
from cloud.domain.laundry import store
from cloud.domain.laundry.desired import publish_desired
from cloud.domain.laundry.store import MachineRef
from cloud.domain.machines.schemas import MachineServiceMessage
from cloud.domain.notifications.send import notify_staff
from cloud.domain.notifications.texts import Machine, text
from cloud.platform.hub import Audience, Message
from cloud.platform.storage.tables import machines
from cloud.platform.unit_of_work import Tx
from cloud.policy import machine_webhooks
from cloud.policy import service_changed as policy


def take_out_of_service(tx: Tx, machine_pk: int, *, reason: str, by: int | None, via: str | None = None) -> bool:
    """Take the machine out of service (``by`` None and no ``via``: automatically); False if it
    already was. ``via`` is the broker username of a staff dashboard's command (``cmd/{user}``)."""
    revision = tx.conn.execute(
        update(machines)
        .where(machines.c.id == machine_pk, machines.c.out_of_service == false())
        .values(
            out_of_service=True,
            service_reason=reason,
            service_since=tx.now,
            service_by=by,
            desired_revision=machines.c.desired_revision + 1,
        )
        .returning(machines.c.desired_revision)
    ).scalar_one_or_none()
    if revision is None:
        return False
    place = store.machine_place(tx.conn, machine_pk)
    _announce(tx, place, out_of_service=True, reason=reason, revision=int(revision))
    automatic = by is None and via is None
    who = "automatic" if automatic else ("dashboard" if via else "staff")
    via_param = {"via": via} if via else {}
    data = {"machine": place.machine_id, "reason": reason, "automatic": automatic, "revision": revision}
    record_activity(
        tx,
        "machine_out_of_service",
        text(f"activity.out_of_service_{who}", **place.where, **via_param, reason=reason),
        room_id=place.room_id,
        user_id=by,
        machine_pk=machine_pk,
        data=data | ({"via": "mqtt", "broker_user": via} if via else {}),
    )
    if not machine_incidents.service_moved(tx, place, out_of_service=True, automatic=automatic, reason=reason):
        notify_staff(  # taken out by staff: not an incident, but the other staff hear of it
            tx,
            "machine_out_of_service",
            text(
                "staff_out_of_service.title",
                machine=Machine.of(place),
                site=place.site,
                room=place.room,
            ),
            reason,
            {"site": place.site, "room": place.room, "machine": place.machine_id, "automatic": automatic},
        )
    machine_webhooks.service_changed(tx, place, out_of_service=True, reason=reason, automatic=automatic)
    policy.machine_unavailable(tx, machine_pk, reason)
    return True


def put_back_in_service(tx: Tx, machine_pk: int, *, by: int | None, note: str | None, via: str | None = None) -> bool:
    """Return the machine to service; False if it was not out of service. ``via``: as above."""
    revision = tx.conn.execute(
        update(machines)
        .where(machines.c.id == machine_pk, machines.c.out_of_service == true())
        .values(
            out_of_service=False,
            service_reason=None,
            service_since=None,
            service_by=None,
            desired_revision=machines.c.desired_revision + 1,
        )
        .returning(machines.c.desired_revision)
    ).scalar_one_or_none()
    if revision is None:
        return False
    place = store.machine_place(tx.conn, machine_pk)
    _announce(tx, place, out_of_service=False, reason=None, revision=int(revision))
    if via:
        key = "activity.back_in_service_dashboard_note" if note else "activity.back_in_service_dashboard"
    else:
        key = "activity.back_in_service_note" if note else "activity.back_in_service"
    said = ({"via": via} if via else {}) | ({"note": note} if note else {})
    record_activity(
        tx,
        "machine_back_in_service",
        text(key, **place.where, **said),
        room_id=place.room_id,
        user_id=by,
        machine_pk=machine_pk,
        data={"machine": place.machine_id, "note": note, "revision": revision}
        | ({"via": "mqtt", "broker_user": via} if via else {}),
    )
    if not machine_incidents.service_moved(tx, place, out_of_service=False, automatic=False, reason=note):
        notify_staff(  # an automatic removal's alarm tells staff it cleared instead
            tx,
            "machine_back_in_service",
            text(
                "staff_back_in_service.title",
                machine=Machine.of(place),
                site=place.site,
                room=place.room,
            ),
            note or text("staff_back_in_service.body"),
            {"site": place.site, "room": place.room, "machine": place.machine_id},
        )
    machine_webhooks.service_changed(tx, place, out_of_service=False, reason=None, automatic=False, note=note)
    policy.machine_available(tx, machine_pk)
    return True


def _announce(tx: Tx, place: MachineRef, *, out_of_service: bool, reason: str | None, revision: int) -> None:
    """Tell the edge (retained desired state) and the room's live clients, after commit."""
    publish_desired(tx, place, out_of_service=out_of_service, reason=reason, revision=revision)  # with the claim prior
    tx.changes.machine(place.pk)
    tx.changes.send(service_message(place, out_of_service, reason, tx.now), Audience.of_room(place.site, place.room))


def service_message(place: MachineRef, out_of_service: bool, reason: str | None, since: datetime) -> Message:
    return MachineServiceMessage(
        site=place.site,
        room=place.room,
        machine=place.machine_id,
        out_of_service=out_of_service,
        reason=reason,
        since=since,
    ).model_dump(mode="json")
