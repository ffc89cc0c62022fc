"""What the edge is told about a machine: the retained ``desired`` state (contract ``MachineDesired``).

Out of service or not (``cloud/policy/out_of_service.py`` decides), and the machine's live
claim's category and extra minutes, a prior on the cycle's length for the edge's detector.
Every change bumps ``machines.desired_revision`` in the caller's transaction and publishes
the whole desired state again once it commits, so an edge that was away reads the latest
when it reconnects and a higher revision always supersedes a lower one.

A claim is live from the moment it is made until it closes (``cloud/domain/laundry/rules.py``
``LIVE``: pending, active, and finished until the door is opened), so the prior stays while
a finished cycle may still run on (``cycle_continued``) and goes when the claim ends,
is cancelled or expires; ``cloud/domain/laundry/claims.py`` republishes at those moments.
"""

from __future__ import annotations

from sqlalchemy import Connection, update

from cloud.domain.laundry import store
from cloud.domain.laundry.rules import Category
from cloud.domain.laundry.store import MachineRef
from cloud.platform.storage.tables import machines
from cloud.platform.unit_of_work import Tx
from kywash.contract import MachineDesired, machine_topic


def claim_prior(conn: Connection, machine_pk: int) -> tuple[str | None, int]:
    """The live claim's ``(category, extra minutes)``; ``(None, 0)`` without one."""
    claim = store.live_claim(conn, machine_pk)
    if claim is None:
        return None, 0
    try:
        return claim.category, Category(claim.category).extra_minutes
    except ValueError:  # a category this cloud no longer offers: the name alone is still a hint
        return claim.category, 0


def desired_message(
    tx: Tx, place: MachineRef, *, out_of_service: bool, reason: str | None, revision: int
) -> MachineDesired:
    """The desired state of ``revision``, with the claim prior as it is in this transaction."""
    category, extra = claim_prior(tx.conn, place.pk)
    return MachineDesired(
        machine=place.machine_id,
        out_of_service=out_of_service,
        reason=reason,
        revision=revision,
        ts=tx.now,
        claim_category=category,
        claim_extra_minutes=extra,
    )


def publish_desired(tx: Tx, place: MachineRef, *, out_of_service: bool, reason: str | None, revision: int) -> None:
    """Publish the machine's desired state of ``revision`` (retained) once the transaction commits."""
    desired = desired_message(tx, place, out_of_service=out_of_service, reason=reason, revision=revision)
    tx.changes.publish(machine_topic(place.site, place.room, place.machine_id, "desired"), desired.to_bytes())


def republish_desired(tx: Tx, machine_pk: int) -> int | None:
    """The machine's claim prior changed: a new revision of its desired state (service state as
    it is) for the edge; the revision, or None if the machine is gone."""
    row = tx.conn.execute(
        update(machines)
        .where(machines.c.id == machine_pk)
        .values(desired_revision=machines.c.desired_revision + 1)
        .returning(machines.c.desired_revision, machines.c.out_of_service, machines.c.service_reason)
    ).one_or_none()
    place = store.machine_ref(tx.conn, machine_pk) if row is not None else None
    if row is None or place is None:
        return None
    revision, out_of_service, reason = int(row[0]), bool(row[1]), row[2]
    publish_desired(tx, place, out_of_service=out_of_service, reason=reason, revision=revision)
    tx.changes.machine(machine_pk)  # its desired revision (staff see the edge's sync) moved
    return revision
