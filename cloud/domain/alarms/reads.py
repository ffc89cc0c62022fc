"""Reading alarms: a staff page of them, and how one is shown (the API, live messages, notifications)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, select

from cloud.domain.alarms import rules
from cloud.domain.alarms.schemas import AlarmMessage, AlarmPublic, AlarmsPage
from cloud.domain.alarms.store import COLUMNS, AlarmRecord, record
from cloud.domain.notifications.texts import Text, render
from cloud.platform.hub import Message, localized
from cloud.platform.languages import DEFAULT, SUPPORTED, Language, language_or_default
from cloud.platform.pagination import AnyRow, PageRequest, fetch_page
from cloud.platform.storage.tables import staff_alarms


def began_at(alarm: AlarmRecord) -> datetime:
    """When the incident really began: a silent edge's last message, else when it opened."""
    since = alarm.details.get("since")
    return datetime.fromisoformat(since) if isinstance(since, str) else alarm.opened_at


def title(alarm: AlarmRecord, timezone: str, language: Language = DEFAULT) -> str:
    """The alarm's title in ``language`` (webhooks and logs: English; the API: the staff reader's)."""
    return render(title_text(alarm, timezone), language)


def title_text(alarm: AlarmRecord, timezone: str) -> Text:
    """The title as a catalog text: staff notifications are rendered in each one's language."""
    if alarm.cleared_at is None:
        return rules.opened_title(alarm.kind, alarm.site, alarm.room, alarm.machine, began_at(alarm), timezone)
    if alarm.machine is not None and alarm.machine_pk is None:  # the machine's row is gone
        return rules.removed_title(alarm.site, alarm.room, alarm.machine)
    return rules.cleared_title(alarm.kind, alarm.site, alarm.room, alarm.machine, alarm.cleared_at - began_at(alarm))


def alarm_public(alarm: AlarmRecord, timezone: str, language: Language = DEFAULT) -> AlarmPublic:
    return AlarmPublic(
        id=alarm.id,
        kind=alarm.kind.value,
        site=alarm.site,
        room=alarm.room,
        machine=alarm.machine,
        title=title(alarm, timezone, language),
        opened_at=alarm.opened_at,
        cleared_at=alarm.cleared_at,
        open=alarm.cleared_at is None,
        details=alarm.details,
    )


def alarm_message(alarm: AlarmRecord, timezone: str, change: Literal["opened", "cleared"]) -> Message:
    """The live ``alarm`` message for staff, each getting the title in their language (rendered
    once per language)."""
    variants: dict[str, Message] = {
        language: AlarmMessage(change=change, alarm=alarm_public(alarm, timezone, language)).model_dump(mode="json")
        for language in SUPPORTED
    }
    return localized(variants[DEFAULT], variants)


@dataclass(frozen=True, slots=True)
class AlarmFilter:
    """What a list is narrowed to; None means "any"."""

    open: bool | None = None
    site: str | None = None
    room: str | None = None
    kind: str | None = None


def list_alarms(
    conn: Connection, page: PageRequest, where: AlarmFilter, timezone: str, language: str | None = None
) -> AlarmsPage:
    """A page of incidents, newest first, titled in the reader's ``language``."""
    shown_in = language_or_default(language)
    query = select(*COLUMNS)
    if where.open is not None:
        cleared = staff_alarms.c.cleared_at
        query = query.where(cleared.is_(None) if where.open else cleared.is_not(None))
    if where.site is not None:
        query = query.where(staff_alarms.c.site == where.site)
    if where.room is not None:
        query = query.where(staff_alarms.c.room == where.room)
    if where.kind is not None:
        query = query.where(staff_alarms.c.kind == where.kind)

    def to_item(row: AnyRow) -> AlarmPublic:
        return alarm_public(record(row), timezone, shown_in)

    found = fetch_page(conn, query, staff_alarms.c.id, page, to_item)
    return AlarmsPage(items=found.items, next_before=found.next_before)
