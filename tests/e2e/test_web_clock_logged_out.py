"""Logged out, the page counts time on the server's clock too, from the machine list it polls.

Logged in, the WebSocket snapshot sets the page's clock; logged out, the page only polls
``GET /api/v1/machines/``, and without the server's now in that answer it counted on the
device's clock: a newcomer in the demo at 60x saw "About 356 min left" and a stuck
"updated 0 s ago" (issue 15). Here two logged-out phones, one three hours slow and one
three hours fast, must both show what the server's clock says.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from playwright.sync_api import expect

from tests.e2e.web_steps import WAIT_MS, card, open_app, phone_off_by
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack

MACHINE = "washer-2"
SLACK_MIN = 3
"""Simulated minutes the page's figure may lag the API's: a real second each at 60x (the
page redraws once a second, and the test reads the API after the page)."""


def minutes_left_on_the_server(stack: WebStack) -> int:
    """As the page rounds them (``format.js`` ``minutesUntil``), counted on the server's clock."""
    end = datetime.fromisoformat(stack.machine(MACHINE)["expected_end"]).timestamp()
    return max(0, math.ceil((end - stack.clock.now()) / 60))


def test_logged_out_phones_with_clocks_hours_off_show_the_servers_time_left_and_freshness(
    web_stack: WebStack, page_factory: PageFactory
) -> None:
    web_stack.start_cycle(MACHINE)  # someone's wash
    for hours in (-3, 3):
        page = phone_off_by(page_factory, hours)
        open_app(page, web_stack)  # logged out: the login form, the room polled
        expect(page.locator("#connection")).to_have_text("Log in for live updates", timeout=WAIT_MS)
        washer = card(page, MACHINE)
        expect(washer).to_have_attribute("data-usage", "in_use", timeout=WAIT_MS)
        left = washer.locator(".detail .time-left")
        expect(left).to_have_text(re.compile(r"^About \d+ min left$"), timeout=WAIT_MS)
        shown = int(re.search(r"\d+", left.inner_text())[0])  # type: ignore[index]
        truth = minutes_left_on_the_server(web_stack)
        assert truth <= shown <= truth + SLACK_MIN, f"{shown} min left, {hours} h off; server: {truth}"
        freshness = washer.locator(".observed")
        expect(freshness).to_have_text(re.compile(r"^updated \d+ (s|min) ago$"), timeout=WAIT_MS)
        expect(freshness).not_to_have_text("updated 0 s ago", timeout=WAIT_MS)  # it ages, on the server's clock
