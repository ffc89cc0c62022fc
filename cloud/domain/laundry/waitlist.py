"""Waitlists per room and machine type, and the reservation holds they hand out.

When a machine of a type is free and its waitlist is not empty, the head gets a hold: only
they can claim that machine until ``hold_until`` (a stored deadline, fired by the timer
loop on any replica). If they do not, the next in line is offered it. Offers are made
whenever something may have freed a machine, in the same transaction as that change.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from cloud.domain.activity.record import record_activity
from cloud.domain.laundry import store
from cloud.domain.laundry.live import ReservationOfferedMessage, WaitlistMessage
from cloud.domain.laundry.rules import is_free
from cloud.domain.laundry.store import EntryRecord, MachineRef
from cloud.domain.notifications.send import notify
from cloud.domain.notifications.texts import Clock, Machine, Text, text
from cloud.platform.errors import Conflict, NotFound
from cloud.platform.hub import Audience
from cloud.platform.storage.repository import RoomRecord
from cloud.platform.unit_of_work import Tx
from kywash.clock import iso
from kywash.contract import MachineKind


def _free_unheld(tx: Tx, room_id: int, kind: str) -> list[MachineRef]:
    free = []
    for machine in store.machine_refs(tx.conn, room_id=room_id, kind=kind):
        if not is_free(
            machine.state,
            room_online=machine.room_online,
            out_of_service=machine.out_of_service,
            has_live_claim=store.live_claim(tx.conn, machine.pk) is not None,
        ):
            continue
        if store.hold_on(tx.conn, machine.pk) is None:
            free.append(machine)
    return free


def offer_free_machines(tx: Tx, room_id: int, kind: str) -> int:
    """Pair free, unheld machines with the waiting students in order; returns holds made."""
    waiting = [entry for entry, _ in store.live_entries(tx.conn, room_id, kind) if entry.status == "waiting"]
    if not waiting:
        return 0
    made = 0
    machines = _free_unheld(tx, room_id, kind)
    for entry, machine in zip(waiting, machines, strict=False):
        hold_until = tx.now + timedelta(minutes=tx.settings.hold_minutes)
        try:
            with tx.conn.begin_nested():  # another replica may have offered this machine a moment ago
                won = store.move_entry(
                    tx.conn,
                    entry.id,
                    "waiting",
                    "offered",
                    offered_machine_pk=machine.pk,
                    offered_at=tx.now,
                    hold_until=hold_until,
                )
        except IntegrityError:
            continue
        if not won:
            continue
        made += 1
        clock_time = hold_until.strftime("%H:%M")
        offered = ReservationOfferedMessage(
            site=machine.site,
            room=machine.room,
            machine=machine.machine_id,
            kind=MachineKind(kind),
            number=machine.number,
            hold_until=hold_until,
        )
        tx.changes.send(offered.model_dump(mode="json"), Audience.of_user(entry.user_id))
        notify(
            tx,
            entry.user_id,
            "reservation_offered",
            text("reservation_offered.title", machine=Machine.of(machine)),
            text(
                "reservation_offered.body",
                machine=Machine.of(machine),
                until=Clock(hold_until, tx.settings.timezone_of(machine.site)),
            ),
            {
                "machine": machine.machine_id,
                "kind": kind,
                "number": machine.number,
                "hold_until": iso(hold_until),
            },
        )
        record_activity(
            tx,
            "reservation_offered",
            text("activity.reservation_offered", machine=Machine.of(machine), time=clock_time),
            room_id=room_id,
            user_id=entry.user_id,
            machine_pk=machine.pk,
            data={"hold_until": iso(hold_until)},
        )
        tx.changes.machine(machine.pk)
    if made:
        announce(tx, room_id, kind)
    return made


def announce(tx: Tx, room_id: int, kind: str) -> None:
    """Tell the room the list's length, and each waiting student their position."""
    entries = store.live_entries(tx.conn, room_id, kind)
    ref = store.machine_refs(tx.conn, room_id=room_id)
    if not ref:
        return
    site, room = ref[0].site, ref[0].room
    base = WaitlistMessage(site=site, room=room, kind=MachineKind(kind), length=len(entries))
    tx.changes.send(base.model_dump(mode="json"), Audience.of_room(site, room))
    for position, (entry, _) in enumerate(entries, start=1):
        own = base.model_copy(update={"position": position, "status": entry.status})
        tx.changes.send(own.model_dump(mode="json"), Audience.of_user(entry.user_id))


def join(tx: Tx, room: RoomRecord, kind: str, user_id: int) -> EntryRecord:
    if store.live_entry_of(tx.conn, room.id, kind, user_id) is not None:
        raise Conflict(text(f"error.waitlist.already_waiting.{kind}"), code="already_waiting")
    try:
        with tx.conn.begin_nested():
            entry_id = store.insert_entry(tx.conn, room_id=room.id, kind=kind, user_id=user_id, now=tx.now)
    except IntegrityError:
        raise Conflict(text(f"error.waitlist.already_waiting.{kind}"), code="already_waiting") from None
    record_activity(tx, "waitlist_joined", text(f"activity.waitlist_joined.{kind}"), room_id=room.id, user_id=user_id)
    announce(tx, room.id, kind)
    offer_free_machines(tx, room.id, kind)
    entry = store.get_entry(tx.conn, entry_id)
    assert entry is not None
    return entry


def leave(tx: Tx, room: RoomRecord, kind: str, user_id: int) -> None:
    entry = store.live_entry_of(tx.conn, room.id, kind, user_id)
    if entry is None:
        raise NotFound(text(f"error.waitlist.not_waiting.{kind}"), code="not_waiting")
    if not store.move_entry(tx.conn, entry.id, entry.status, "left", closed_at=tx.now):
        raise Conflict(text("error.waitlist.retry"), code="retry")
    record_activity(tx, "waitlist_left", text(f"activity.waitlist_left.{kind}"), room_id=room.id, user_id=user_id)
    if entry.offered_machine_pk is not None:
        tx.changes.machine(entry.offered_machine_pk)
    announce(tx, room.id, kind)
    offer_free_machines(tx, room.id, kind)


def leave_on_claim(tx: Tx, machine: MachineRef, user_id: int) -> bool:
    """A student who claims a machine of a type leaves that type's waitlist (their hold is used)."""
    entry = store.live_entry_of(tx.conn, machine.room_id, machine.kind, user_id)
    if entry is None:
        return False
    store.move_entry(tx.conn, entry.id, entry.status, "claimed", closed_at=tx.now)
    if entry.offered_machine_pk is not None:
        tx.changes.machine(entry.offered_machine_pk)
    announce(tx, machine.room_id, machine.kind)
    if entry.offered_machine_pk is not None and entry.offered_machine_pk != machine.pk:
        offer_free_machines(tx, machine.room_id, machine.kind)  # the machine held for them is free again
    return True


def withdraw_hold(tx: Tx, machine: MachineRef, why: Text | str) -> None:
    """The held machine can no longer be offered (taken without a claim, out of service): the
    student keeps their place at the head and is offered the next free machine."""
    entry = store.hold_on(tx.conn, machine.pk)
    if entry is None:
        return
    if not store.move_entry(tx.conn, entry.id, "offered", "waiting", offered_machine_pk=None, hold_until=None):
        return
    notify(
        tx,
        entry.user_id,
        "reservation_withdrawn",
        text("reservation_withdrawn.title", machine=Machine.of(machine)),
        text(f"reservation_withdrawn.{machine.kind}_body", why=why),
        machine.data,
    )
    tx.changes.machine(machine.pk)
    offer_free_machines(tx, machine.room_id, machine.kind)
    announce(tx, machine.room_id, machine.kind)


def expire_hold(tx: Tx, entry_id: int) -> bool:
    """A hold ran out unclaimed: the student leaves the list, the next in line is offered."""
    entry = store.get_entry(tx.conn, entry_id)
    if entry is None or entry.hold_until is None or entry.hold_until > tx.now:
        return False
    if not store.move_entry(tx.conn, entry.id, "offered", "expired", closed_at=tx.now):
        return False  # another replica fired it, or the student claimed just now
    machine = store.machine_ref(tx.conn, entry.offered_machine_pk) if entry.offered_machine_pk else None
    shown = Machine.of(machine) if machine else text(f"kind.{entry.kind}")
    notify(
        tx,
        entry.user_id,
        "reservation_expired",
        text("reservation_expired.title", machine=shown),
        text("reservation_expired.body", machine=shown),
        {"kind": entry.kind, "machine": machine.machine_id if machine else None},
    )
    record_activity(
        tx,
        "reservation_expired",
        text("activity.reservation_expired", machine=shown),
        room_id=entry.room_id,
        user_id=entry.user_id,
        machine_pk=entry.offered_machine_pk,
    )
    if machine is not None:
        tx.changes.machine(machine.pk)
    offer_free_machines(tx, entry.room_id, entry.kind)
    announce(tx, entry.room_id, entry.kind)
    return True
