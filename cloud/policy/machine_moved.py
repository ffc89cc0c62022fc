"""What happens when a machine moves, or fails to: the one place where the sensors' news
reaches claims, holds, waitlists and fault reports.

Inside the ingest transaction: claims follow the machine's new state (a finished cycle
that runs on resumes its claim: ``Transition.same_cycle``), a sensor fault becomes an
automatic fault report and a staff alarm (cleared when the sensors recover:
``cloud/domain/alarms/``), a hold on a machine that stopped being free is withdrawn, any
machine that became free is offered to its waitlist, and webhook deliveries are queued
(``machine_webhooks``) — all before the message commits.
On the timers: a claim that expired with its door shut and no current drawn is a
suspected broken machine. Service changes (out of service and back) are in
``service_changed``; the fault threshold in ``fault_reports``.
"""

from __future__ import annotations

import functools

from cloud.domain.alarms import machine_incidents
from cloud.domain.faults.reports import report_automatic
from cloud.domain.ingest.apply import Applied, Transition
from cloud.domain.laundry import claims, store, waitlist
from cloud.domain.laundry.rules import EMPTYABLE
from cloud.domain.laundry.store import ClaimRecord, MachineRef
from cloud.domain.machines import end_alert
from cloud.domain.notifications.texts import Machine, text
from cloud.platform.unit_of_work import Tx
from cloud.policy import machine_webhooks
from kywash.contract import EventType

AUTOMATIC_FAULT_EVENTS = frozenset({EventType.SENSOR_FAULT, EventType.FAULT_DETECTED})


def react(tx: Tx, applied: Applied) -> None:
    """Move claims, holds and faults after ``applied`` changed machines' sensor states."""
    for transition in applied.transitions:
        _react_to(tx, transition)
    if applied.room_changed and applied.room_id is not None:  # back online: machines may be free
        for kind in ("washer", "dryer"):
            _offer_free_machines(tx, applied.room_id, kind)


def _offer_free_machines(tx: Tx, room_id: int, kind: str) -> None:
    """Offer the room's free machines of ``kind`` to its waitlist once, after the whole batch of
    messages: a burst of events in one room would otherwise look for free machines per event."""
    tx.once(("offer_free_machines", room_id, kind), functools.partial(waitlist.offer_free_machines, tx, room_id, kind))


def _react_to(tx: Tx, transition: Transition) -> None:
    machine = store.machine_ref(tx.conn, transition.machine_pk)
    if machine is None:
        return
    claims.follow_sensors(tx, machine, transition.before, same_cycle=transition.same_cycle)
    machine_webhooks.machine_moved(tx, machine, transition)
    # the claim may have become active, or the edge revised the expected end: the alert follows (once per batch)
    tx.once(("end_alert", machine.pk), functools.partial(end_alert.schedule, tx, machine.pk))
    event = transition.event
    reason = event.reason if event is not None else None
    alarmed = machine_incidents.sensors_moved(tx, machine, transition.before, transition.after, reason)
    if event is not None and event.type in AUTOMATIC_FAULT_EVENTS:
        report_automatic(
            tx,
            room_id=machine.room_id,
            machine_pk=machine.pk,
            reason=event.reason or event.type.value,
            description=f"The edge reported {event.type.value.replace('_', ' ')} on {machine.name}"
            + (f": {event.reason}" if event.reason else ""),
            edge_seq=event.seq,
            edge_boot_id=event.boot_id,
            notify=not alarmed,  # the sensor-fault alarm that just opened told staff already
        )
    if machine.state not in EMPTYABLE and machine.state is not None:
        if machine.state == "sensor_fault":
            waitlist.withdraw_hold(tx, machine, text("hold_withdrawn.sensor_fault", machine=Machine.of(machine)))
        return
    _offer_free_machines(tx, machine.room_id, machine.kind)


def claim_expired(tx: Tx, claim_id: int) -> bool:
    """A pending claim ran out (``claims.expire``); False if it was not due or already gone."""
    expired = claims.expire(tx, claim_id)
    if expired is None:
        return False
    machine, claim = expired
    _suspect_no_current(tx, machine, claim)
    tx.changes.machine(machine.pk)
    waitlist.offer_free_machines(tx, machine.room_id, machine.kind)
    return True


def _suspect_no_current(tx: Tx, machine: MachineRef, claim: ClaimRecord) -> None:
    """The claimant shut the door after claiming, yet the machine never drew current: that is
    what a broken machine looks like (or a start button nobody pressed), so staff get an
    automatic fault report to look at. It does not count toward the out-of-service threshold."""
    if machine.state != "idle":
        return
    seq = store.door_closed_since(tx.conn, machine, claim.created_at)
    if seq is None:
        return
    minutes = tx.settings.claim_confirm_minutes
    report_automatic(
        tx,
        room_id=machine.room_id,
        machine_pk=machine.pk,
        reason="no_current_after_claim",
        description=f"{machine.name.capitalize()} drew no current for {minutes:g} minutes after a student claimed "
        "it and shut its door",
        edge_seq=None,
    )
