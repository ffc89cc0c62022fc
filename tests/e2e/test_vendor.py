"""The vendored axe-core is the file its README names, with its licence beside it."""

from __future__ import annotations

import hashlib
import re

from tests.support.browser import AXE_JS


def test_vendored_axe_core_matches_its_readme() -> None:
    vendor = AXE_JS.parent
    readme = (vendor / "README.md").read_text()
    version = re.search(r"^## axe-core (\S+)", readme, re.MULTILINE)
    assert version is not None
    assert AXE_JS.read_text().startswith(f"/*! axe v{version[1]}\n")
    assert hashlib.sha256(AXE_JS.read_bytes()).hexdigest() in readme
    assert "Mozilla Public License" in (vendor / "axe-core-LICENSE.txt").read_text()
