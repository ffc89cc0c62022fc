"""Which webhook events a machine's move or service change makes, with their readable lines.

Called from ``machine_moved`` (the sensors) and ``out_of_service`` (staff, the fault
threshold, MQTT dashboards) inside their transactions; the deliveries commit with them.
"""

from __future__ import annotations

from typing import Any

from cloud.domain.ingest.apply import Transition
from cloud.domain.laundry.rules import EMPTYABLE
from cloud.domain.laundry.store import MachineRef
from cloud.domain.webhooks.queue import enqueue_webhooks
from cloud.platform.unit_of_work import Tx

FINISHED = "finished"


def machine_data(machine: MachineRef) -> dict[str, Any]:
    return {"room": machine.room, "machine": machine.machine_id, "kind": machine.kind, "number": machine.number}


def machine_moved(tx: Tx, machine: MachineRef, transition: Transition) -> None:
    """``machine.state_changed`` always; ``machine.finished`` when a cycle ended; ``machine.free``
    when it can be used again (door shut or open, empty, in service)."""
    before, after = transition.before, transition.after
    if before == after:
        return
    name = machine.full_name
    data = machine_data(machine) | {"state": after, "previous_state": before, "door": transition.door}
    if transition.event is not None:
        data["edge_event"] = transition.event.type.value
    site = machine.site
    enqueue_webhooks(tx, "machine.state_changed", site=site, data=data, text=f"{name} is now {after.replace('_', ' ')}")
    if after == FINISHED:
        enqueue_webhooks(tx, "machine.finished", site=site, data=data, text=f"{name} finished")
    if after in EMPTYABLE and before not in EMPTYABLE and not machine.out_of_service:
        enqueue_webhooks(tx, "machine.free", site=site, data=data, text=f"{name} is free")


def service_changed(
    tx: Tx, machine: MachineRef, *, out_of_service: bool, reason: str | None, automatic: bool, note: str | None = None
) -> None:
    data = machine_data(machine) | {
        "out_of_service": out_of_service,
        "reason": reason,
        "automatic": automatic,
        "note": note,
    }
    if out_of_service:
        text = f"{machine.full_name} was taken out of service" + (" automatically" if automatic else "")
        text += f": {reason}" if reason else ""
    else:
        text = f"{machine.full_name} is back in service" + (f": {note}" if note else "")
    enqueue_webhooks(tx, "machine.service_changed", site=machine.site, data=data, text=text)
