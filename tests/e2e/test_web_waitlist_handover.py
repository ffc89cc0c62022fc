"""A hold nobody claimed passes to the next in line, and their page shows it live (issue 15's
neighbour): the timers hand it on, not a sensor event, and no page reloads meanwhile."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.web_steps import WAIT_MS, StaffApi, card, register
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack

HOLD_MINUTES = 10
"""Simulated: 10 real seconds at the stack's 60x, long enough to see the first hold, short
enough for its expiry to come well within ``WAIT_MS``."""


@pytest.fixture
def web_stack(start_web_stack_for: Callable[..., WebStack]) -> WebStack:
    return start_web_stack_for(hold_minutes=HOLD_MINUTES, claim_confirm_minutes=30)


def test_a_hold_left_unclaimed_shows_up_on_the_next_students_page(
    web_stack: WebStack, page_factory: PageFactory
) -> None:
    staff = StaffApi(web_stack)
    for number in range(2, 7):
        staff.out_of_service(f"washer-{number}", "waiting for a technician")
    web_stack.start_cycle("washer-1")
    first, second = page_factory(), page_factory()
    register(first, web_stack, "200001")
    register(second, web_stack, "200002")
    for page in (first, second):
        queue = page.locator('.waitlist-row[data-kind="washer"]')
        expect(queue).to_contain_text("No washer is free right now.", timeout=WAIT_MS)
        queue.get_by_role("button", name="Join the washer waitlist").click()
        expect(queue.locator(".position")).to_be_visible(timeout=WAIT_MS)

    web_stack.finish_cycle("washer-1")
    web_stack.sim.open_door("washer-1")
    web_stack.sim.close_door("washer-1")
    expect(first.locator('.held[data-held="washer-1"]')).to_contain_text("Washer 1 is held for you", timeout=WAIT_MS)
    expect(card(second, "washer-1").locator(".state-label")).to_have_text("Held for the waitlist", timeout=WAIT_MS)

    # the first student lets the hold run out: the timers pass it to the second, live
    held = second.locator('.held[data-held="washer-1"]')
    expect(held).to_contain_text("Washer 1 is held for you", timeout=WAIT_MS)
    expect(card(second, "washer-1").locator(".state-label")).to_have_text("Held for you")
    expect(card(second, "washer-1").get_by_role("button", name="Claim:")).to_have_count(1)
    expect(first.locator(".held")).to_have_count(0, timeout=WAIT_MS)
    expect(card(first, "washer-1").locator(".state-label")).to_have_text("Held for the waitlist")
