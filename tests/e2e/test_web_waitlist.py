"""The waitlist on two phones: with every washer busy or out of service, the second student
joins; when the first student's washer frees, it is held for the second with a countdown,
and one tap claims it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.web_steps import RECORD_NOTIFICATIONS, WAIT_MS, StaffApi, card, claim, register
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack


@pytest.fixture
def web_stack(start_web_stack_for: Callable[..., WebStack]) -> WebStack:
    """Holds last an hour and claims wait 30 minutes, simulated: a minute and half a minute here."""
    return start_web_stack_for(hold_minutes=60, claim_confirm_minutes=30)


def test_the_next_student_gets_the_freed_washer_held_and_claims_it(
    web_stack: WebStack, page_factory: PageFactory
) -> None:
    staff = StaffApi(web_stack)
    for number in range(2, 7):
        staff.out_of_service(f"washer-{number}", "waiting for a technician")
    first, second = page_factory(), page_factory()
    second.context.add_init_script(RECORD_NOTIFICATIONS)
    register(first, web_stack, "200001")
    register(second, web_stack, "200002")

    claim(first, "washer-1")
    web_stack.start_cycle("washer-1")
    expect(card(second, "washer-1")).to_have_attribute("data-usage", "in_use", timeout=WAIT_MS)

    queue = second.locator('.waitlist-row[data-kind="washer"]')
    expect(queue).to_contain_text("No washer is free right now.", timeout=WAIT_MS)
    queue.get_by_role("button", name="Join the washer waitlist").click()
    expect(queue.locator(".position")).to_have_text("You are number 1 of 1 on the washer waitlist.", timeout=WAIT_MS)
    expect(second.locator("#action-status")).to_have_text("You joined the washer waitlist: number 1.")
    expect(first.locator('.waitlist-row[data-kind="washer"]')).to_contain_text("1 waiting", timeout=WAIT_MS)

    web_stack.finish_cycle("washer-1")
    expect(card(first, "washer-1")).to_have_attribute("data-usage", "finished", timeout=WAIT_MS)
    web_stack.sim.open_door("washer-1")  # the first student takes the laundry out
    web_stack.sim.close_door("washer-1")

    held = second.locator('.held[data-held="washer-1"]')
    expect(held).to_contain_text("Washer 1 is held for you", timeout=WAIT_MS)
    expect(held.locator(".countdown")).to_have_text(re.compile(r"^\d+:\d\d$"), timeout=WAIT_MS)
    expect(card(second, "washer-1").locator(".state-label")).to_have_text("Held for you")
    second.wait_for_function(
        "() => window.__notifications.some(n => n.title === 'Washer 1 is held for you')", timeout=WAIT_MS
    )
    expect(card(first, "washer-1").locator(".state-label")).to_have_text("Held for the waitlist", timeout=WAIT_MS)
    expect(card(first, "washer-1").get_by_role("button", name="Claim:")).to_have_count(0)

    held.get_by_role("button", name="Claim washer 1 now").click()
    expect(card(second, "washer-1")).to_have_attribute("data-usage", "claimed", timeout=WAIT_MS)
    expect(card(second, "washer-1").locator(".state-label")).to_have_text("Claimed by you — start it")
    expect(second.locator(".held")).to_have_count(0, timeout=WAIT_MS)
    expect(queue.locator(".position")).to_have_count(0, timeout=WAIT_MS)
