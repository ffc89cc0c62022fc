"""Reading systemd unit files in tests, and asking ``systemd-analyze verify`` about them."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

HAVE_SYSTEMD_ANALYZE = shutil.which("systemd-analyze") is not None


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> values (systemd allows a key more than once; an empty value resets)."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        sections[section][key.strip()].append(value.strip())
    return sections


def verify(unit: Path) -> list[str]:
    """``systemd-analyze verify``'s complaints about ``unit`` and its drop-ins beside it (``x.service.d/``).

    It prints unknown keys as warnings with status 0, so every line naming one of our files
    counts as a complaint, as does a non-zero status.
    """
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)], check=False, capture_output=True, text=True, timeout=60
    )
    ours = [line for line in result.stderr.splitlines() if unit.name in line or str(unit.parent) in line]
    if result.returncode != 0:
        ours.append(f"exit status {result.returncode}: {result.stderr.strip()}")
    return ours
