"""The page counts time on the server's clock (the snapshot's ``server_time``), not the device's.

A phone whose clock is hours off, or the demo's sped-up server clock, made cards say
"About 356 min left" and "just now" everywhere (issue 15). Here the browser's clock is set
three hours behind the server's: what the page shows must not move.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.web_steps import WAIT_MS, card, register
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack


def test_time_left_and_freshness_use_the_servers_clock(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory()
    page.clock.install(time=datetime.now(UTC) - timedelta(hours=3))  # this phone's clock is 3 h slow
    page.clock.resume()
    register(page, web_stack, "100401")
    web_stack.start_cycle("washer-2")  # someone else's wash
    washer = card(page, "washer-2")
    expect(washer).to_have_attribute("data-usage", "in_use", timeout=WAIT_MS)
    left = washer.locator(".detail .time-left")
    expect(left).to_have_text(re.compile(r"About \d+ min left"), timeout=WAIT_MS)
    minutes = int(re.search(r"About (\d+) min", left.inner_text())[1])  # type: ignore[index]
    assert minutes <= 120, f"{minutes} min left: counted on the device's clock, 3 h behind"
    expect(washer).not_to_contain_text("h ago")
