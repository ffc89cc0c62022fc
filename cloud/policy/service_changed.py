"""What claims and waitlists do when a machine leaves or returns to service.

Called by the service-state code (staff, or the fault threshold) inside its transaction.
"""

from __future__ import annotations

from cloud.domain.laundry import claims, store, waitlist
from cloud.domain.laundry.rules import ClaimStatus
from cloud.domain.notifications.send import notify
from cloud.domain.notifications.texts import Machine, text
from cloud.platform.unit_of_work import Tx


def machine_unavailable(tx: Tx, machine_pk: int, reason: str) -> None:
    """Taken out of service: a claim the sensors have not confirmed is cancelled (and its
    student told), a hold on it is withdrawn (its student keeps their place and is offered
    another free machine). A running cycle is left alone: the sensors end it."""
    machine = store.machine_ref(tx.conn, machine_pk)
    if machine is None:
        return
    claim = store.live_claim(tx.conn, machine_pk)
    pending = claim is not None and claim.status is ClaimStatus.PENDING
    if claim is not None and pending and claims.close(tx, machine, claim, ClaimStatus.CANCELLED, "out_of_service"):
        notify(
            tx,
            claim.user_id,
            "claim_cancelled",
            text("claim_cancelled.title", machine=Machine.of(machine)),
            text("claim_cancelled.body", machine=Machine.of(machine), reason=reason),
            machine.data,
        )
    waitlist.withdraw_hold(tx, machine, text("hold_withdrawn.out_of_service", machine=Machine.of(machine)))


def machine_available(tx: Tx, machine_pk: int) -> None:
    """Back in service: if it is free, the head of its waitlist is offered it."""
    machine = store.machine_ref(tx.conn, machine_pk)
    if machine is not None:
        waitlist.offer_free_machines(tx, machine.room_id, machine.kind)
