"""Learned machine profiles: kept from the edge's retained ``profile`` messages, given back to it.

The edge's detector learns each machine's standby level and recent cycles and publishes
them retained on ``.../machine/{machine}/profile`` (contract ``MachineProfile``). The cloud
keeps the latest one per machine (``machines.profile``), so a replaced Pi, or a broker that
lost its retained messages, gets them back: when a room's edge comes online, every stored
profile of its machines is published again, retained (``restore_profiles``).

Of two profiles of one machine the one that ``learned`` more wins, on both sides: an older
one (a redelivery, or our own republication coming back) never replaces a newer one here,
and the edge keeps whichever it has that learned more, so republishing is always harmless.
Storing is one conditional update, so replicas and redeliveries agree without locks.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import Connection, select, update

from cloud.platform.errors import IngestRejected
from cloud.platform.storage.repository import MachineRecord
from cloud.platform.storage.tables import machines, rooms
from cloud.platform.unit_of_work import Tx
from kywash.contract import MachineProfile, machine_topic

log = logging.getLogger(__name__)


def store_profile(conn: Connection, machine: MachineRecord, profile: MachineProfile, now: datetime) -> bool:
    """Keep ``profile`` unless the stored one learned more; True if stored.

    A profile of another kind than the machine (a washer's on a dryer) is refused: it would
    teach the edge's detector the wrong machine."""
    if profile.kind.value != machine.kind:
        raise IngestRejected(
            "invalid", f"a {profile.kind.value} profile for {machine.machine_id!r}, which is a {machine.kind}"
        )
    stored = conn.execute(
        update(machines)
        .where(machines.c.id == machine.id, machines.c.profile_learned <= profile.learned)
        .values(
            profile=profile.model_dump(mode="json", by_alias=True),
            profile_learned=profile.learned,
            profile_at=now,
        )
    ).rowcount
    return stored == 1


def stored_profiles(conn: Connection, room_id: int) -> list[tuple[str, bytes]]:
    """``(topic, payload)`` of every stored profile of the room's machines; one that no longer
    validates (stored by an older cloud, say) is left out with a warning, never published."""
    rows = conn.execute(
        select(rooms.c.site, rooms.c.room, machines.c.machine_id, machines.c.profile)
        .select_from(machines.join(rooms, machines.c.room_id == rooms.c.id))
        .where(machines.c.room_id == room_id, machines.c.profile.is_not(None))
        .order_by(machines.c.machine_id)
    )
    found: list[tuple[str, bytes]] = []
    for site, room, machine_id, data in rows:
        try:
            profile = MachineProfile.model_validate(data)
        except ValidationError as exc:
            log.warning("stored profile of %s/%s/%s is not valid; not restoring it: %s", site, room, machine_id, exc)
            continue
        if profile.machine != machine_id:
            continue
        found.append((machine_topic(site, room, machine_id, "profile"), profile.to_bytes()))
    return found


def restore_profiles(tx: Tx, room_id: int) -> int:
    """The room's edge came online: publish its machines' stored profiles again, retained,
    once the transaction commits; how many."""
    found = stored_profiles(tx.conn, room_id)
    for topic, payload in found:
        tx.changes.publish(topic, payload, retain=True)
    if found:
        log.info("restoring %d learned machine profile(s) of room %d to its edge", len(found), room_id)
    return len(found)
