"""Writes a ``RoomConfig`` back as TOML, so the demo and ``kywash provision`` can create room files.

The standard library reads TOML but does not write it; the config's shape is small and
fixed (scalars, a few tables, an array of machine tables), so a tiny writer suffices.
``load_room_config`` reads the output back to an equal ``RoomConfig`` (tested).

It takes any pydantic model of that shape rather than ``RoomConfig`` itself, so that
``edge.config`` can offer ``RoomConfig.to_toml()`` without the two modules importing
each other.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel


def toml_value(value: Any) -> str:
    """One TOML scalar; JSON string escapes are valid TOML basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value} to TOML")
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value))
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _scalars(mapping: Mapping[str, Any]) -> list[str]:
    return [
        f"{key} = {toml_value(value)}"
        for key, value in mapping.items()
        if value is not None and not isinstance(value, Mapping | list | tuple)
    ]


def _table(header: str, mapping: Mapping[str, Any]) -> list[str]:
    return ["", header, *_scalars(mapping)]


def room_config_to_toml(config: BaseModel) -> str:
    """The whole config, every default written out, so a technician sees what is in force."""
    data = config.model_dump(mode="json")
    lines = ["# KY Wash laundry room configuration (edge agent)", *_scalars(data)]
    for section in ("broker", "board", "door"):
        lines += _table(f"[{section}]", data[section])
    for kind in ("washer", "dryer"):
        lines += _table(f"[thresholds.{kind}]", data["thresholds"][kind])
    for machine in data["machines"]:
        lines += _table("[[machines]]", machine)
        overrides = {k: v for k, v in (machine.get("thresholds") or {}).items() if v is not None}
        if overrides:
            lines += _table("[machines.thresholds]", overrides)
    return "\n".join(lines) + "\n"


def write_room_config(config: BaseModel, path: str | Path) -> Path:
    """Write the config readable by its owner only: it may hold the broker password."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(room_config_to_toml(config))
    os.chmod(target, 0o600)
    return target
