"""When an alarm opens or clears, and what staff are told: pure functions, no database.

Every rule takes the facts the caller already has (a state before and after, a time), so
the ``staff_alarms`` table only has to make the decision happen once (its unique
``open_key``), never to make it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from cloud.domain.notifications.texts import Text, text
from kywash.contract import MachineEvent, Payload, RoomInfo, RoomStatus, Telemetry


class AlarmKind(StrEnum):
    EDGE_SILENT = "edge_silent"
    SENSOR_FAULT = "sensor_fault"
    OUT_OF_SERVICE = "out_of_service"


class Change(StrEnum):
    OPEN = "open"
    CLEAR = "clear"


SENSOR_FAULT_STATE = "sensor_fault"


def open_key_prefix(kind: AlarmKind) -> str:
    return f"{kind.value}:"


def open_key(kind: AlarmKind, subject_id: int) -> str:
    """The key an open incident holds (its room's id for a silent edge, else its machine's)."""
    return f"{open_key_prefix(kind)}{subject_id}"


def is_silent(last_seen: datetime | None, now: datetime, silent_minutes: float) -> bool:
    """The room's edge has been unheard for longer than the threshold (a room never heard from
    has nothing to have gone silent from: it is not an incident)."""
    return last_seen is not None and now - last_seen > timedelta(minutes=silent_minutes)


def proves_edge_alive(message: Payload, *, came_online: bool) -> bool:
    """Whether ``message`` shows the room's edge running now, so a silence incident clears.

    Events and telemetry are never retained: only a running edge sends them, and it sends
    telemetry every 30 s. A retained message (state, info, status, health, ack, profile)
    may be the broker's stored copy, replayed when the cloud subscribes again after a
    restart, long after the edge died; of those only a status or info that brought the
    room online (``came_online``: a changed status, or a new boot) counts. The broker's
    ``offline`` last will never does."""
    if isinstance(message, MachineEvent | Telemetry):
        return True
    return isinstance(message, RoomStatus | RoomInfo) and came_online


def sensor_fault_change(before: str | None, after: str) -> Change | None:
    """A machine's sensor state moved from ``before`` to ``after``: does a sensor-fault alarm open or clear?"""
    if after == SENSOR_FAULT_STATE and before != SENSOR_FAULT_STATE:
        return Change.OPEN
    if before == SENSOR_FAULT_STATE and after != SENSOR_FAULT_STATE:
        return Change.CLEAR
    return None


def service_change(*, out_of_service: bool, automatic: bool) -> Change | None:
    """A machine left (``out_of_service``) or returned to service: an automatic removal is an
    incident (staff took no decision yet); one by staff is not; any return clears one."""
    if out_of_service:
        return Change.OPEN if automatic else None
    return Change.CLEAR


def duration_text(length: timedelta) -> str:
    """How long an incident lasted, as staff read it: "40 s", "12 min", "2 h 5 min", "3 d 4 h"."""
    seconds = max(0, int(length.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def clock_text(at: datetime, timezone: str) -> str:
    """A time of day in the campus's time zone ("14:05")."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


def place_text(site: str, room: str) -> str:
    """How staff titles name a room: "Laundry 1 (Hall A)"."""
    return f"{room} ({site})"


def machine_text(machine: str) -> str:
    """A machine's id as a title says it: "washer-2" → "washer 2"."""
    return machine.replace("-", " ")


def _machine(machine: str | None) -> Text | str:
    return machine_text(machine) if machine else text("alarm.a_machine")


def opened_title(kind: AlarmKind, site: str, room: str, machine: str | None, since: datetime, timezone: str) -> Text:
    """What staff are told when an incident opens; ``since``: when it began (the room's last message).
    A catalog text (``cloud.domain.notifications``): rendered in each staff member's language."""
    place = place_text(site, room)
    if kind is AlarmKind.EDGE_SILENT:
        return text("alarm.silent_title", place=place, time=clock_text(since, timezone))
    if kind is AlarmKind.SENSOR_FAULT:
        return text("alarm.sensor_fault_title", place=place, machine=_machine(machine))
    return text("alarm.out_of_service_title", place=place, machine=_machine(machine))


def cleared_title(kind: AlarmKind, site: str, room: str, machine: str | None, lasted: timedelta) -> Text:
    """What staff are told when an incident clears, with how long it lasted."""
    place = place_text(site, room)
    after = duration_text(lasted)
    if kind is AlarmKind.EDGE_SILENT:
        return text("alarm.online_title", place=place, after=after)
    if kind is AlarmKind.SENSOR_FAULT:
        return text("alarm.sensors_working_title", place=place, machine=_machine(machine), after=after)
    return text("alarm.back_in_service_title", place=place, machine=_machine(machine), after=after)


def removed_title(site: str, room: str, machine: str) -> Text:
    """An incident closed because its machine is no longer in the room's info."""
    return text("alarm.removed_title", place=place_text(site, room), machine=machine_text(machine))


def body_text(kind: AlarmKind, change: Change, details: dict[str, Any]) -> Text:
    """The notification's body: what staff should do about it."""
    if change is Change.CLEAR:
        return text("alarm.usable_again" if kind is AlarmKind.OUT_OF_SERVICE else "alarm.nothing_to_do")
    reason = details.get("reason")
    if kind is AlarmKind.EDGE_SILENT:
        return text("alarm.silent_body", minutes=float(details.get("silent_minutes", 0)))
    if kind is AlarmKind.SENSOR_FAULT:
        return text("alarm.sensor_fault_reason_body", reason=reason) if reason else text("alarm.sensor_fault_body")
    return text("alarm.out_of_service_body", reason=reason)


NOTIFICATION_TYPES: dict[tuple[AlarmKind, Change], str] = {
    (AlarmKind.EDGE_SILENT, Change.OPEN): "room_silent",
    (AlarmKind.EDGE_SILENT, Change.CLEAR): "room_back_online",
    (AlarmKind.SENSOR_FAULT, Change.OPEN): "sensor_fault",
    (AlarmKind.SENSOR_FAULT, Change.CLEAR): "sensor_fault_cleared",
    (AlarmKind.OUT_OF_SERVICE, Change.OPEN): "machine_out_of_service",
    (AlarmKind.OUT_OF_SERVICE, Change.CLEAR): "machine_back_in_service",
}
"""The staff notification's ``type`` per incident and change (out of service keeps the type
staff were sent before alarms existed)."""
