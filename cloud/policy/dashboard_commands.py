"""What ingest does with a staff command from an MQTT dashboard (``cmd/{user}``).

A staff member (the broker's ACL lets a user publish only under their own
  name) asks for a machine to go out of service or back. The broker username is mapped to
  the staff account of that username when there is one (the activity log names the
  person); otherwise the log keeps the broker username. The change goes through the same
  functions as the web app's (``cloud.policy.out_of_service``): retained ``desired`` with a
  new revision, the activity log, staff notifications, claims and waitlists reacting.

The edge's acks and health, which change no policy, are in ``cloud.domain.ingest.edge_reports``.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection

from cloud.domain.accounts.users import find_by_login
from cloud.platform.errors import IngestRejected
from cloud.platform.storage import repository as repo
from cloud.platform.unit_of_work import Tx
from cloud.policy.out_of_service import put_back_in_service, take_out_of_service
from kywash.contract import MachineCommand, TopicRef

log = logging.getLogger(__name__)

DEFAULT_REASON = "taken out of service from an MQTT dashboard"


def staff_user_id(conn: Connection, broker_user: str) -> int | None:
    """The staff account whose username is ``broker_user``, if any (students never match)."""
    user = find_by_login(conn, username=broker_user)
    return user.id if user is not None and user.role == "staff" else None


def apply_command(tx: Tx, ref: TopicRef, command: MachineCommand) -> tuple[int, bool]:
    """Carry out a staff command; returns (room id, whether the machine changed)."""
    room = repo.find_room(tx.conn, ref.site, ref.room)
    if room is None:
        raise IngestRejected("unknown_room", f"room {ref.site}/{ref.room} is not registered")
    machine = repo.find_machine(tx.conn, room.id, ref.machine or "")
    if machine is None:
        raise IngestRejected("unknown_machine", f"machine {ref.machine!r} is not in {ref.site}/{ref.room}")
    user = ref.user or "unknown"
    by = staff_user_id(tx.conn, user)
    reason = (command.reason or "").strip() or None
    if command.out_of_service:
        changed = take_out_of_service(tx, machine.id, reason=reason or DEFAULT_REASON, by=by, via=user)
    else:
        changed = put_back_in_service(tx, machine.id, by=by, note=reason, via=user)
    log.info(
        "%s asked for %s/%s/%s to be %s%s", user, ref.site, ref.room, machine.machine_id,
        "out of service" if command.out_of_service else "in service", "" if changed else " (it already was)",
    )  # fmt: skip
    return room.id, changed
