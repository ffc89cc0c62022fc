"""What happens when an incident opens or clears: the one seam for everything that reacts.

Staff are notified (in the app and by Web Push, ``notify_staff``), every staff client hears
a live ``alarm`` message, and webhooks are queued (``staff.alarm`` for every incident,
``room.offline`` / ``room.online`` for a silent edge). Called inside the transaction that
opened or cleared the incident, once per incident (``store.py`` decides once), so each
webhook is queued once too, and not at all if the change rolls back.
"""

from __future__ import annotations

import logging

from cloud.domain.alarms import reads, rules
from cloud.domain.alarms.rules import Change
from cloud.domain.alarms.store import AlarmRecord
from cloud.domain.notifications.send import notify_staff
from cloud.domain.webhooks.queue import enqueue_webhooks
from cloud.platform.hub import Audience
from cloud.platform.unit_of_work import Tx

log = logging.getLogger(__name__)


def alarm_opened(tx: Tx, alarm: AlarmRecord) -> None:
    """An incident opened (any kind)."""
    _tell_staff(tx, alarm, Change.OPEN)


def alarm_cleared(tx: Tx, alarm: AlarmRecord) -> None:
    """An incident cleared (any kind)."""
    _tell_staff(tx, alarm, Change.CLEAR)


def alarm_withdrawn(tx: Tx, alarm: AlarmRecord) -> None:
    """An incident closed because its machine was removed from the room: staff clients drop it;
    nobody is notified."""
    tx.changes.send(reads.alarm_message(alarm, tx.settings.timezone, "cleared"), Audience.of_staff())


def room_went_offline(tx: Tx, alarm: AlarmRecord) -> None:
    """A room's edge went silent for longer than the threshold (``alarm`` is its
    ``edge_silent`` incident; it then goes on to ``alarm_opened``, as every kind does)."""
    _room_webhook(tx, alarm, "room.offline", f"{alarm.room} ({alarm.site}): sensors silent")
    alarm_opened(tx, alarm)


def room_came_online(tx: Tx, alarm: AlarmRecord) -> None:
    """A silent room's edge was heard again (``alarm``: its cleared ``edge_silent`` incident)."""
    _room_webhook(tx, alarm, "room.online", f"{alarm.room} ({alarm.site}): sensors back online")
    alarm_cleared(tx, alarm)


def _room_webhook(tx: Tx, alarm: AlarmRecord, event: str, text: str) -> None:
    data = {"room": alarm.room, "alarm_id": alarm.id, "alarm_opened_at": alarm.opened_at.isoformat()}
    enqueue_webhooks(tx, event, site=alarm.site, data=data, text=text)


def _tell_staff(tx: Tx, alarm: AlarmRecord, change: Change) -> None:
    shown = reads.alarm_public(alarm, tx.settings.timezone)
    log.info("staff alarm %d (%s) %s: %s", alarm.id, alarm.kind.value, change.value, shown.title)
    live = reads.alarm_message(alarm, tx.settings.timezone, "opened" if change is Change.OPEN else "cleared")
    tx.changes.send(live, Audience.of_staff())
    data = {"alarm_id": alarm.id, "kind": alarm.kind.value, "site": alarm.site, "room": alarm.room}
    if alarm.machine is not None:
        data["machine"] = alarm.machine
    body = rules.body_text(alarm.kind, change, alarm.details)
    notify_staff(
        tx, rules.NOTIFICATION_TYPES[(alarm.kind, change)], reads.title_text(alarm, tx.settings.timezone), body, data
    )
    said = "opened" if change is Change.OPEN else "cleared"
    enqueue_webhooks(tx, "staff.alarm", site=alarm.site, data=data | {"change": said}, text=shown.title)
