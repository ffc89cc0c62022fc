"""The web app loads on a phone and on a laptop: a title, a main landmark, no script errors, screenshots, axe."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import LAPTOP, PHONE, PageFactory, describe_violations, serious_violations
from tests.support.web_stack import WebStack


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_the_room_page_loads_cleanly(
    web_stack: WebStack,
    page_factory: PageFactory,
    viewport: tuple[int, int],
    check_accessibility: Callable[..., list[dict[str, Any]]],
    save_screenshot: Callable[..., Path],
) -> None:
    page = page_factory(viewport=viewport)
    response = page.goto(web_stack.room_url())
    assert response is not None and response.ok, response and response.status
    page.wait_for_load_state("networkidle")

    assert page.title().strip(), "the page has no <title>"
    assert page.get_by_role("main").count() == 1, "the page needs exactly one main landmark"
    assert page.evaluate("() => document.documentElement.lang"), "<html> needs a lang attribute"
    shot = save_screenshot(page, f"smoke-{viewport[0]}x{viewport[1]}")
    assert shot.stat().st_size > 0
    page_factory.assert_no_page_errors()

    serious = serious_violations(check_accessibility(page))
    assert not serious, "serious accessibility violations (axe-core):\n" + describe_violations(serious)
