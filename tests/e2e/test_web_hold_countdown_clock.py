"""The hold countdown counts on the server's clock, not the phone's.

A held machine shows "Claim within 59:12" (``format.js`` ``countdown``, ticked once a
second). Counted on a phone's own clock hours off it would say "239:12", or that the hold
had already expired (issue 15); ``test_web_waitlist.py``'s "M:SS" passes either way. Here
the student holding the machine is logged in on two phones, three hours slow and three
hours fast: both must show about the hour the hold lasts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import pytest
from playwright.sync_api import Locator, expect

from tests.e2e.web_steps import WAIT_MS, StaffApi, card, log_in, phone_off_by, register
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack

HOLD_MINUTES = 60
"""Simulated: a real minute at the stack's 60x, time enough to read both phones."""
SLACK_MIN = 3
"""Simulated minutes a countdown may lag the API's: a real second each (a redraw a second,
and the test reads the API after the page)."""
COUNTDOWN = re.compile(r"^(\d+):\d\d$")


@pytest.fixture
def web_stack(start_web_stack_for: Callable[..., WebStack]) -> WebStack:
    return start_web_stack_for(hold_minutes=HOLD_MINUTES, claim_confirm_minutes=30)


def minutes_shown(countdown: Locator) -> int:
    """The minutes of one reading that matches: the countdown redraws every second, so a read
    just after ``expect`` may fall on a redraw; read again until one matches."""
    expect(countdown).to_have_text(COUNTDOWN, timeout=WAIT_MS)
    for _ in range(50):
        shown = COUNTDOWN.match(countdown.inner_text().strip())
        if shown is not None:
            return int(shown[1])
        countdown.page.wait_for_timeout(100)
    raise AssertionError(f"the countdown never read as minutes:seconds: {countdown.inner_text()!r}")


def minutes_left_on_the_server(stack: WebStack, machine_id: str) -> int:
    """Whole minutes of the hold left, as ``countdown`` floors them, on the server's clock."""
    until = datetime.fromisoformat(stack.machine(machine_id)["hold_until"]).timestamp()
    return int((until - stack.clock.now()) // 60)


def test_the_hold_countdown_shows_the_servers_time_left_on_phones_hours_off(
    web_stack: WebStack, page_factory: PageFactory
) -> None:
    staff = StaffApi(web_stack)
    for number in range(2, 7):
        staff.out_of_service(f"washer-{number}", "waiting for a technician")
    web_stack.start_cycle("washer-1")  # someone else's wash: no washer is free
    slow, fast = phone_off_by(page_factory, -3), phone_off_by(page_factory, 3)
    register(slow, web_stack, "300001")
    log_in(fast, web_stack, "300001")  # the same student on a second phone
    queue = slow.locator('.waitlist-row[data-kind="washer"]')
    expect(queue).to_contain_text("No washer is free right now.", timeout=WAIT_MS)
    queue.get_by_role("button", name="Join the washer waitlist").click()
    expect(queue.locator(".position")).to_be_visible(timeout=WAIT_MS)

    web_stack.finish_cycle("washer-1")
    web_stack.sim.open_door("washer-1")  # its owner takes the laundry out: the washer is held
    web_stack.sim.close_door("washer-1")
    for page, hours in ((slow, -3), (fast, 3)):
        for countdown in (
            page.locator('.held[data-held="washer-1"] .countdown'),
            card(page, "washer-1").locator(".countdown"),
        ):
            shown = minutes_shown(countdown)
            truth = minutes_left_on_the_server(web_stack, "washer-1")
            assert truth <= shown <= min(truth + SLACK_MIN, HOLD_MINUTES), (
                f"{shown} min, {hours} h off; server: {truth}"
            )
