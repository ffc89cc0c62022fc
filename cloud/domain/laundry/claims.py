"""Claims: a student's "I am using this machine", which the sensors must confirm.

A claim starts ``pending``; the sensors seeing the machine run make it ``active`` within
``claim_confirm_minutes`` or it expires (a stored deadline). The sensors seeing the cycle
finish make it ``finished`` and tell the student (``ending``, quiet but not surely done,
is still in use and tells nobody anything); a finished cycle that runs on after all
(``cycle_continued``) makes it ``active`` again and tells the student so, and its next
``finished`` tells them again; opening the door ends it. Students may
cancel a pending claim and end theirs once the sensors agree nothing runs; staff may end
any. Every rule about states is in ``rules.py``; this module does the bookkeeping.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from cloud.domain.activity.record import record_activity
from cloud.domain.laundry import store, waitlist
from cloud.domain.laundry.desired import republish_desired
from cloud.domain.laundry.live import CycleContinuedMessage, CycleFinishedMessage
from cloud.domain.laundry.rules import RUNNING, Category, ClaimMove, ClaimStatus, claim_after_sensors, student_may_end
from cloud.domain.laundry.store import ClaimRecord, MachineRef
from cloud.domain.notifications.send import notify
from cloud.domain.notifications.texts import Machine, Text, text
from cloud.platform.errors import Conflict, NotFound
from cloud.platform.hub import Audience
from cloud.platform.languages import DEFAULT
from cloud.platform.texts import catalog
from cloud.platform.unit_of_work import Tx
from cloud.platform.viewer import Viewer
from kywash.clock import iso
from kywash.contract import MachineKind

LAPSED_HOLD_NOTICE = timedelta(hours=1)
"""How long after a student's hold ran out a claim on that machine is refused as ``hold_expired``
(saying what happened to them) rather than the general ``machine_reserved``."""

_REFUSALS = {
    "running": "machine_in_use",
    "paused": "machine_in_use",
    "ending": "machine_in_use",
    "finished": "machine_not_unloaded",
    "sensor_fault": "machine_unavailable",
}
"""The error code of a claim refused for the machine's sensor state; its words are the
catalog's ``error.claim.<state>``."""


def start(tx: Tx, machine: MachineRef, viewer: Viewer, category: Category) -> ClaimRecord:
    """Claim ``machine`` for ``viewer``; every refusal is a 409 saying why."""
    store.lock_machine(tx.conn, machine.pk)
    _check_claimable(tx, machine, viewer)
    try:
        with tx.conn.begin_nested():
            claim = store.insert_claim(
                tx.conn,
                machine_pk=machine.pk,
                user_id=viewer.id,
                category=category.value,
                now=tx.now,
                confirm_by=tx.now + timedelta(minutes=tx.settings.claim_confirm_minutes),
            )
    except IntegrityError:  # a racing claim on another replica won
        raise Conflict(text("error.claim.just_taken", machine=Machine.of(machine)), code="machine_taken") from None
    waitlist.leave_on_claim(tx, machine, viewer.id)
    republish_desired(tx, machine.pk)  # the edge's detector gets the claim's category as a prior
    minutes = tx.settings.claim_confirm_minutes
    record_activity(
        tx,
        "claim_created",
        text("activity.claim_created", machine=Machine.of(machine), category=_category(category)),
        room_id=machine.room_id,
        user_id=viewer.id,
        machine_pk=machine.pk,
        data={"category": category.value, "confirm_within_minutes": minutes},
    )
    tx.changes.machine(machine.pk)
    return claim


def _category(category: Category) -> Text:
    """ "normal cycle" / "10 extra minutes", in the reader's language."""
    if category is Category.NORMAL:
        return text("category.normal")
    return text("category.extra", minutes=category.extra_minutes)


def _check_claimable(tx: Tx, machine: MachineRef, viewer: Viewer) -> None:
    shown = Machine.of(machine)
    if machine.out_of_service:
        raise Conflict(text("error.claim.out_of_service", machine=shown), code="out_of_service")
    if not machine.room_online or machine.state is None:
        raise Conflict(text("error.claim.offline", machine=shown), code="machine_unknown")
    if machine.state in _REFUSALS:
        raise Conflict(text(f"error.claim.{machine.state}", machine=shown), code=_REFUSALS[machine.state])
    if store.live_claim(tx.conn, machine.pk) is not None:
        raise Conflict(text("error.claim.taken", machine=shown), code="machine_taken")
    hold = store.hold_on(tx.conn, machine.pk)
    if hold is not None and hold.user_id != viewer.id:
        until = iso(hold.hold_until) if hold.hold_until else None
        if store.hold_lapsed(tx.conn, machine.pk, viewer.id, since=tx.now - LAPSED_HOLD_NOTICE):
            raise Conflict(
                text("error.claim.hold_expired", machine=shown),
                code="hold_expired",
                until=until,
            )
        raise Conflict(text("error.claim.held", machine=shown), code="machine_reserved", until=until)
    count = len(store.live_claims_of(tx.conn, viewer.id, machine.kind))
    if count >= tx.settings.claims_per_student:
        key = "error.claim.limit_one" if count == 1 else "error.claim.limit_other"
        raise Conflict(text(key, count=count, kind=text(f"kind.{machine.kind}")), code="claim_limit")


def cancel(tx: Tx, machine: MachineRef, viewer: Viewer) -> ClaimRecord:
    """Withdraw a claim the sensors have not confirmed (staff: any pending claim)."""
    claim = _live_claim_for(tx, machine, viewer)
    if claim.status is not ClaimStatus.PENDING:
        raise Conflict(text("error.claim.active", machine=Machine.of(machine)), code="claim_active")
    close(tx, machine, claim, ClaimStatus.CANCELLED, "cancelled_by_staff" if _others(claim, viewer) else "cancelled")
    return _reloaded(tx, claim)


def end(tx: Tx, machine: MachineRef, viewer: Viewer) -> ClaimRecord:
    """End a claim: a student's once the sensors agree nothing runs; staff may force any."""
    claim = _live_claim_for(tx, machine, viewer)
    forced = viewer.is_staff and not student_may_end(claim.status, machine.state)
    if not viewer.is_staff and not student_may_end(claim.status, machine.state):
        raise Conflict(text("error.claim.cycle_running", machine=Machine.of(machine)), code="cycle_running")
    reason = "forced_by_staff" if forced else ("ended_by_staff" if _others(claim, viewer) else "ended")
    close(tx, machine, claim, ClaimStatus.ENDED, reason)
    return _reloaded(tx, claim)


def _claim_activity(tx: Tx, machine: MachineRef, claim: ClaimRecord, type: str, message: Text) -> None:
    record_activity(
        tx,
        type,
        message,
        room_id=machine.room_id,
        user_id=claim.user_id,
        machine_pk=machine.pk,
        data={"claim_id": claim.id},
    )


def _others(claim: ClaimRecord, viewer: Viewer) -> bool:
    return claim.user_id != viewer.id


def _live_claim_for(tx: Tx, machine: MachineRef, viewer: Viewer) -> ClaimRecord:
    claim = store.live_claim(tx.conn, machine.pk)
    if claim is None or (claim.user_id != viewer.id and not viewer.is_staff):
        raise NotFound(text("error.claim.none", machine=Machine.of(machine)), code="no_claim")
    return claim


def _reloaded(tx: Tx, claim: ClaimRecord) -> ClaimRecord:
    found = store.get_claim(tx.conn, claim.id)
    assert found is not None
    return found


def close(tx: Tx, machine: MachineRef, claim: ClaimRecord, to: ClaimStatus, reason: str) -> bool:
    if not store.move_claim(
        tx.conn,
        claim.id,
        claim.status,
        to,
        closed_at=tx.now,
        close_reason=reason,
        next_reminder_at=None,
        alert_at=None,  # no alert before the end of a claim that is over
    ):
        return False
    republish_desired(tx, machine.pk)  # no claim prior any more
    record_activity(
        tx,
        f"claim_{to.value}",
        _closed(machine, to, reason),
        room_id=machine.room_id,
        user_id=claim.user_id,
        machine_pk=machine.pk,
        data={"claim_id": claim.id, "reason": reason},
    )
    tx.changes.machine(machine.pk)
    waitlist.offer_free_machines(tx, machine.room_id, machine.kind)
    return True


def _closed(machine: MachineRef, to: ClaimStatus, reason: str) -> Text:
    """ "claim on washer 3 ended (ended by staff)", in the reader's language (a status or
    reason the catalog does not know is shown as it is)."""
    known = catalog(DEFAULT)
    key = f"activity.claim_reason.{reason}"
    why: Text | str = text(key) if key in known else reason.replace("_", " ")
    if f"activity.claim_{to.value}" in known:
        return text(f"activity.claim_{to.value}", machine=Machine.of(machine), reason=why)
    return text("activity.claim_closed", machine=Machine.of(machine), status=to.value, reason=why)


# --- the sensors' word -------------------------------------------------------------------


def _unclaimed(tx: Tx, machine: MachineRef, kind: str, line: Text) -> None:
    """The activity log's line for a machine that moved with nobody's claim on it."""
    record_activity(tx, kind, line, room_id=machine.room_id, machine_pk=machine.pk, data={"claimed": False})


def follow_sensors(tx: Tx, machine: MachineRef, before: str | None, *, same_cycle: bool = False) -> None:
    """Move the machine's live claim to agree with its sensor state (idempotent).

    ``same_cycle``: the cycle running now is the one reported finished before (see
    ``rules.claim_after_sensors`` and ``cloud/domain/ingest/apply.py``)."""
    sensor = machine.state
    claim = store.live_claim(tx.conn, machine.pk)
    if claim is None:
        if sensor in RUNNING and before == "finished" and same_cycle:
            _unclaimed(
                tx, machine, "cycle_continued", text("activity.cycle_continued_unclaimed", machine=Machine.of(machine))
            )
        elif sensor in RUNNING and before not in RUNNING:
            _unclaimed(
                tx, machine, "cycle_started", text("activity.cycle_started_unclaimed", machine=Machine.of(machine))
            )
            waitlist.withdraw_hold(tx, machine, text("hold_withdrawn.started_unclaimed", machine=Machine.of(machine)))
        elif sensor == "finished" and before != "finished":
            _unclaimed(
                tx, machine, "cycle_finished", text("activity.cycle_finished_unclaimed", machine=Machine.of(machine))
            )
        return
    if sensor is None:
        return
    move = claim_after_sensors(claim.status, sensor, before, same_cycle=same_cycle)
    if move is None:
        return
    if move.to is ClaimStatus.ACTIVE and claim.status is ClaimStatus.FINISHED:
        _continue(tx, machine, claim)
    elif move.to is ClaimStatus.ACTIVE:
        _activate(tx, machine, claim)
    elif move.to is ClaimStatus.FINISHED:
        _finish(tx, machine, claim)
    else:
        _ended_by_sensors(tx, machine, claim, move)


def _activate(tx: Tx, machine: MachineRef, claim: ClaimRecord) -> None:
    if store.move_claim(tx.conn, claim.id, ClaimStatus.PENDING, ClaimStatus.ACTIVE, started_at=tx.now):
        record_activity(
            tx,
            "cycle_started",
            text("activity.cycle_started_claimed", machine=Machine.of(machine)),
            room_id=machine.room_id,
            user_id=claim.user_id,
            machine_pk=machine.pk,
            data={"claimed": True, "claim_id": claim.id},
        )


def _finish(tx: Tx, machine: MachineRef, claim: ClaimRecord) -> None:
    reminders = tx.settings.reminder_max > 0
    next_reminder = tx.now + timedelta(minutes=tx.settings.reminder_minutes) if reminders else None
    if not store.move_claim(
        tx.conn,
        claim.id,
        claim.status,
        ClaimStatus.FINISHED,
        finished_at=tx.now,
        next_reminder_at=next_reminder,
        started_at=claim.started_at or tx.now,
        alert_at=None,  # it ended: "done" replaces "nearly done"
    ):
        return
    finished = CycleFinishedMessage(
        site=machine.site,
        room=machine.room,
        machine=machine.machine_id,
        kind=MachineKind(machine.kind),
        number=machine.number,
        finished_at=tx.now,
    )
    tx.changes.send(finished.model_dump(mode="json"), Audience.of_user(claim.user_id))
    notify(
        tx,
        claim.user_id,
        "cycle_finished",
        text(f"cycle_finished.{machine.kind}_title"),
        text("cycle_finished.body", machine=Machine.of(machine)),
        machine.data,
    )
    _claim_activity(
        tx, machine, claim, "cycle_finished", text("activity.cycle_finished_claimed", machine=Machine.of(machine))
    )


def _continue(tx: Tx, machine: MachineRef, claim: ClaimRecord) -> None:
    """The cycle the claimant was told is done runs on: the claim is ``active`` again, its
    collect reminders are cancelled and the student is told; the next ``finished`` tells
    them "done" again (``_finish``). A conditional move, so it happens once across replicas."""
    if not store.move_claim(
        tx.conn,
        claim.id,
        ClaimStatus.FINISHED,
        ClaimStatus.ACTIVE,
        finished_at=None,
        next_reminder_at=None,
        reminders_sent=0,
    ):
        return
    continued = CycleContinuedMessage(
        site=machine.site,
        room=machine.room,
        machine=machine.machine_id,
        kind=MachineKind(machine.kind),
        number=machine.number,
        continued_at=tx.now,
    )
    tx.changes.send(continued.model_dump(mode="json"), Audience.of_user(claim.user_id))
    notify(
        tx,
        claim.user_id,
        "cycle_continued",
        text("cycle_continued.title", machine=Machine.of(machine)),
        text("cycle_continued.body", machine=Machine.of(machine)),
        machine.data,
    )
    _claim_activity(
        tx, machine, claim, "cycle_continued", text("activity.cycle_continued_claimed", machine=Machine.of(machine))
    )
    tx.changes.machine(machine.pk)


def _ended_by_sensors(tx: Tx, machine: MachineRef, claim: ClaimRecord, move: ClaimMove) -> None:
    if not close(tx, machine, claim, ClaimStatus.ENDED, move.reason):
        return
    if move.reason == "interrupted":
        notify(
            tx,
            claim.user_id,
            "cycle_interrupted",
            text("cycle_interrupted.title", machine=Machine.of(machine)),
            text("cycle_interrupted.body", machine=Machine.of(machine)),
            machine.data,
        )


# --- deadlines ---------------------------------------------------------------------------


def expire(tx: Tx, claim_id: int) -> tuple[MachineRef, ClaimRecord] | None:
    """A pending claim the sensors never confirmed in time, and its machine; None if it was not
    due or already gone. What the machine's silence means is policy's (``cloud.policy.machine_moved``)."""
    claim = store.get_claim(tx.conn, claim_id)
    if claim is None or claim.status is not ClaimStatus.PENDING or claim.confirm_by > tx.now:
        return None
    machine = store.machine_ref(tx.conn, claim.machine_pk)
    if machine is None or not store.move_claim(
        tx.conn, claim.id, ClaimStatus.PENDING, ClaimStatus.EXPIRED, closed_at=tx.now, close_reason="not_started"
    ):
        return None
    republish_desired(tx, machine.pk)
    minutes = tx.settings.claim_confirm_minutes
    notify(
        tx,
        claim.user_id,
        "claim_expired",
        text("claim_expired.title", machine=Machine.of(machine)),
        text("claim_expired.body", machine=Machine.of(machine), minutes=float(minutes)),
        machine.data,
    )
    _claim_activity(tx, machine, claim, "claim_expired", text("activity.claim_expired", machine=Machine.of(machine)))
    return machine, claim


def remind(tx: Tx, claim_id: int) -> bool:
    """The cycle finished a while ago and the door is still shut: remind the claimant."""
    claim = store.get_claim(tx.conn, claim_id)
    if claim is None or claim.status is not ClaimStatus.FINISHED or claim.next_reminder_at is None:
        return False
    if claim.next_reminder_at > tx.now:
        return False
    sent = claim.reminders_sent + 1
    more = sent < tx.settings.reminder_max
    next_at = tx.now + timedelta(minutes=tx.settings.reminder_minutes) if more else None
    if not store.advance_reminder(tx.conn, claim.id, claim.next_reminder_at, sent=sent, next_at=next_at):
        return False  # another replica sent this reminder
    machine = store.machine_ref(tx.conn, claim.machine_pk)
    name = Machine.of(machine) if machine else text("collect_reminder.your_machine")
    notify(
        tx,
        claim.user_id,
        "collect_reminder",
        text("collect_reminder.title", machine=name),
        text("collect_reminder.body", machine=name, ago=_ago(claim, tx), sent=sent, max=tx.settings.reminder_max),
        {"machine": machine.machine_id if machine else None, "reminder": sent},
    )
    return True


def _ago(claim: ClaimRecord, tx: Tx) -> Text:
    minutes = int((tx.now - (claim.finished_at or tx.now)).total_seconds() // 60)
    return text("minutes_one" if minutes == 1 else "minutes_other", minutes=minutes)
