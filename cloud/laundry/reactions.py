"""How policy reacts to what the sensors report, inside the ingest transaction.

Claims follow the machine's new state (a finished cycle that runs on resumes its claim:
``Transition.same_cycle``), a sensor fault becomes an automatic fault report,
a hold on a machine that stopped being free is withdrawn, and any machine that became
free is offered to its waitlist — all before the message's transaction commits.
"""

from __future__ import annotations

from cloud.faults.service import report_automatic
from cloud.ingest.apply import Applied, Transition
from cloud.laundry import claims, store, waitlist
from cloud.laundry.rules import EMPTYABLE
from cloud.tx import Tx
from kywash.contract import EventType

AUTOMATIC_FAULT_EVENTS = frozenset({EventType.SENSOR_FAULT, EventType.FAULT_DETECTED})


def react(tx: Tx, applied: Applied) -> None:
    """Move claims, holds and faults after ``applied`` changed machines' sensor states."""
    for transition in applied.transitions:
        _react_to(tx, transition)
    if applied.room_changed and applied.room_id is not None:  # back online: machines may be free
        for kind in ("washer", "dryer"):
            waitlist.offer_free_machines(tx, applied.room_id, kind)


def _react_to(tx: Tx, transition: Transition) -> None:
    machine = store.machine_ref(tx.conn, transition.machine_pk)
    if machine is None:
        return
    claims.follow_sensors(tx, machine, transition.before, same_cycle=transition.same_cycle)
    event = transition.event
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
        )
    if machine.state not in EMPTYABLE and machine.state is not None:
        if machine.state == "sensor_fault":
            waitlist.withdraw_hold(tx, machine, f"{machine.name.capitalize()} reported a sensor fault.")
        return
    waitlist.offer_free_machines(tx, machine.room_id, machine.kind)
