"""The README is part of the product: its topic table and test command must stay true."""

from __future__ import annotations

import re
from pathlib import Path

from kywash.contract import TOPIC_TABLE

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _topic_rows() -> dict[str, list[str]]:
    rows = {}
    for line in README.splitlines():
        match = re.match(r"^\| `(kywash/v1/[^`]+)` \|(.*)\|$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def test_every_topic_the_code_publishes_is_in_the_readme_table() -> None:
    rows = _topic_rows()
    for spec in TOPIC_TABLE:
        assert spec.pattern in rows, f"README topic table misses {spec.pattern}"
        publisher, retained, qos = rows[spec.pattern][:3]
        assert publisher == spec.publisher
        assert retained == ("yes" if spec.retained else "no"), spec.pattern
        assert qos == str(spec.qos), spec.pattern
    assert set(rows) == {spec.pattern for spec in TOPIC_TABLE}, "README lists a topic the code does not have"


def test_ci_runs_the_readme_test_command() -> None:
    assert "python3 run.py test     # the whole test suite" in README
    assert "python3 run.py demo" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "KYWASH_REQUIRE_SERVICES=1" in ci
    assert "\npython3 run.py test\n" in ci


def test_every_image_the_readme_shows_is_in_the_repository() -> None:
    images = re.findall(r'!\[[^\]]*\]\(([^)]+)\)|<img src="([^"]+)"', README)
    paths = [a or b for a, b in images]
    assert {"docs/screenshots/display-1920x1080.png", "docs/screenshots/labels.png"} <= set(paths)
    for path in paths:
        assert (ROOT / path).is_file(), path
