"""Server-written texts (notifications, activity, errors, alarm titles) as catalog keys with
parameters, rendered in each reader's language.

A domain operation says *what* to tell (``text("cycle_finished.title", kind="washer")``); the
words come from ``catalog/<language>.json`` when the notification is stored for a user, so a
Spanish student reads Spanish and an English one the same text as ever. Parameters that are
``Machine``, ``Clock``, ``Day`` or ``Text`` values are rendered in that language too; every
parameter ``{name}`` also exists capitalised as ``{Name}`` (a sentence that starts with it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from pydantic_core import PydanticCustomError

from cloud.platform.languages import DEFAULT, SUPPORTED, Language


@dataclass(frozen=True, slots=True)
class Text:
    """A catalog key and its parameters, not yet in any language."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


def text(key: str, **params: Any) -> Text:
    return Text(key, params)


@dataclass(frozen=True, slots=True)
class Machine:
    """ "washer 3" / "lavadora 3"."""

    kind: str
    number: int

    @classmethod
    def of(cls, machine: Any) -> Machine:
        """Of anything with a ``kind`` and a ``number`` (a ``MachineRef``, a view)."""
        return cls(str(machine.kind), int(machine.number))


@dataclass(frozen=True, slots=True)
class Clock:
    """A moment as the room's wall clock reads it: "14:05 CET"."""

    at: datetime
    zone: str


@dataclass(frozen=True, slots=True)
class Day:
    """A calendar date: "Tue 8 Dec" / "mar 8 dic"."""

    day: date


@cache
def catalog(language: str) -> dict[str, str]:
    """The texts of one language (``catalog/<language>.json``)."""
    source = resources.files(__package__).joinpath("catalog", f"{language}.json")
    loaded: dict[str, str] = json.loads(source.read_text(encoding="utf-8"))
    return loaded


def _value(value: Any, language: Language) -> str:
    words = catalog(language)
    if isinstance(value, Text):
        return render(value, language)
    if isinstance(value, Machine):
        noun = words.get(f"kind.{value.kind}", value.kind)
        return f"{noun} {value.number}"
    if isinstance(value, Clock):
        local = value.at.astimezone(ZoneInfo(value.zone))
        return f"{local:%H:%M} {local.tzname()}"
    if isinstance(value, Day):
        weekday = words[f"weekday.{value.day.weekday()}"]
        month = words[f"month.{value.day.month}"]
        return f"{weekday} {value.day.day} {month}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def render(value: Text | str, language: Language = DEFAULT) -> str:
    """The text in ``language`` (a plain string is already words: returned as it is)."""
    if isinstance(value, str):
        return value
    language = language if language in SUPPORTED else DEFAULT
    params: dict[str, str] = {}
    for name, raw in value.params.items():
        shown = _value(raw, language)
        params[name] = shown
        params[name[:1].upper() + name[1:]] = shown[:1].upper() + shown[1:]
    return catalog(language)[value.key].format_map(params)


def invalid(key: str, **params: str | int | float) -> PydanticCustomError:
    """What a pydantic validator raises for a catalog text: the error's ``type`` is the key and
    its ``ctx`` the parameters, so a 422 is rendered in the reader's language (``cloud.api.errors``).
    Parameters are plain values: pydantic keeps them in the error's JSON."""
    english = render(Text(key, params))
    return PydanticCustomError(key, english.replace("{", "{{").replace("}", "}}"), dict(params))


def in_every_language(value: Text | str) -> dict[Language, str]:
    """The text rendered once per supported language (for live messages to readers of any)."""
    return {language: render(value, language) for language in SUPPORTED}


def to_data(value: Text) -> dict[str, Any]:
    """The text as JSON (stored with an activity entry, so it can be read in any language later)."""
    return {"key": value.key, "params": {name: _encode(raw) for name, raw in value.params.items()}}


def from_data(data: Any) -> Text | None:
    """The text ``to_data`` stored, or None for anything else (an old row, a key since removed)."""
    if not isinstance(data, dict) or not isinstance(data.get("key"), str) or data["key"] not in catalog(DEFAULT):
        return None
    params = data.get("params")
    if not isinstance(params, dict):
        return None
    try:
        return Text(data["key"], {name: _decode(raw) for name, raw in params.items()})
    except (TypeError, ValueError, KeyError):
        return None


def _encode(value: Any) -> Any:
    if isinstance(value, Text):
        return {"text": to_data(value)}
    if isinstance(value, Machine):
        return {"machine": [value.kind, value.number]}
    if isinstance(value, Clock):
        return {"clock": [value.at.isoformat(), value.zone]}
    if isinstance(value, Day):
        return {"day": value.day.isoformat()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "text" in value:
        inner = from_data(value["text"])
        if inner is None:
            raise ValueError("unknown text")
        return inner
    if "machine" in value:
        kind, number = value["machine"]
        return Machine(str(kind), int(number))
    if "clock" in value:
        at, zone = value["clock"]
        return Clock(datetime.fromisoformat(at), str(zone))
    if "day" in value:
        return Day(date.fromisoformat(value["day"]))
    raise ValueError("unknown parameter")
