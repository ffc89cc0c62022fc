"""Turns pydantic's validation errors into one line a technician can act on.

``machines[2].door_pin: GPIO pin 99 is not a valid BCM number (0-27)``: the field's path
as it reads in the TOML file (list indexes from 0), then the problem in plain words.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from edge.thresholds import FieldProblem


def _format_loc(loc: tuple[str | int, ...] | list[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problem(error: Any) -> tuple[tuple[str | int, ...], str]:
    """One pydantic error's location and a message a technician can act on."""
    loc = tuple(error["loc"])
    message = str(error["msg"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldProblem):
        return (*loc, *cause.loc), str(cause)
    if error["type"] == "extra_forbidden":
        message = "unknown setting (misspelt?)"
    elif error["type"] == "missing":
        message = "required setting is missing"
    return loc, message.removeprefix("Value error, ")


def first_problem(exc: ValidationError) -> tuple[tuple[str | int, ...], str]:
    return _problem(exc.errors()[0])


def describe_problems(exc: ValidationError) -> str:
    """Every problem, most specific only, joined on one line."""
    found = [_problem(error) for error in exc.errors()]
    # A bad machine also empties the list that holds it: report only the most specific.
    found = [(loc, msg) for loc, msg in found if not any(o[: len(loc)] == loc and o != loc for o, _ in found)]
    problems = [f"{_format_loc(loc)}: {message}" if loc else message for loc, message in found]
    return "; ".join(dict.fromkeys(problems))
