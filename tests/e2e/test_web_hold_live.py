"""Issue 15 in the browser: a hold stays on its student's page from the moment it is given.

A hold nobody claimed passes to the next in line and their page shows it live (the timers
hand it on, not a sensor event); and a machine list the page asked for before the hold, but
that arrives after it, does not take the hold off the page again."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import APIResponse, Page, Route, expect

from tests.e2e.web_steps import WAIT_MS, StaffApi, card, claim, claim_by_api, register
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


WATCH_THE_HOLD = """() => {
  // every redraw from now on: is washer 1 still shown held for me, on its card and in the queue?
  window.__holdShown = [];
  const held = () =>
    document.querySelector('li.card[data-machine="washer-1"] .state-label')?.textContent === "Held for you" &&
    document.querySelector('.held[data-held="washer-1"]') !== null;
  new MutationObserver(() => window.__holdShown.push(held())).observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
  window.__holdShown.push(held());
}"""
"""Records, at each change of the page, whether the hold is on it (live messages may redraw
it again a moment later: a glimpse of the older list must count)."""


def only_washer_1(web_stack: WebStack) -> None:
    staff = StaffApi(web_stack)
    for number in range(2, 7):
        staff.out_of_service(f"washer-{number}", "waiting for a technician")


def join_washers(page: Page) -> None:
    queue = page.locator('.waitlist-row[data-kind="washer"]')
    expect(queue).to_contain_text("No washer is free right now.", timeout=WAIT_MS)
    queue.get_by_role("button", name="Join the washer waitlist").click()
    expect(queue.locator(".position")).to_be_visible(timeout=WAIT_MS)


def test_a_machine_list_read_before_the_hold_does_not_take_it_off_the_page(
    web_stack: WebStack, page_factory: PageFactory
) -> None:
    only_washer_1(web_stack)
    web_stack.start_cycle("washer-1")
    carol = page_factory()
    register(carol, web_stack, "200002")
    join_washers(carol)

    # while she waits, carol tries a dryer; a rival's claim lands first, so her page reloads the
    # machine list, and that answer is held back until the washer she waits for is held for her
    rival = web_stack.register_student("200005")["access_token"]

    def rival_first(route: Route) -> None:
        claim_by_api(web_stack, rival, "dryer-1")
        route.continue_()

    late: list[tuple[Route, APIResponse]] = []

    def read_now_answer_later(route: Route) -> None:
        if late:
            route.continue_()
        else:
            late.append((route, route.fetch()))

    carol.route(re.compile(r"/api/v1/machines/start$"), rival_first)
    carol.route(re.compile(r"/api/v1/machines/\?"), read_now_answer_later)
    claim(carol, "dryer-1")
    expect(carol.locator("#action-status")).to_contain_text("Someone else just claimed that machine", timeout=WAIT_MS)
    deadline = time.monotonic() + WAIT_MS / 1000
    while not late and time.monotonic() < deadline:
        carol.wait_for_timeout(50)
    assert late, "the page did not reload the machine list after the refused claim"

    web_stack.finish_cycle("washer-1")
    web_stack.sim.open_door("washer-1")
    web_stack.sim.close_door("washer-1")
    held = carol.locator('.held[data-held="washer-1"]')
    expect(held).to_contain_text("Washer 1 is held for you", timeout=WAIT_MS)

    route, before_the_hold = late[0]
    carol.evaluate(WATCH_THE_HOLD)
    with carol.expect_response(re.compile(r"/api/v1/machines/\?")):
        route.fulfill(response=before_the_hold)
    carol.evaluate("() => new Promise((done) => setTimeout(done, 500))")  # the page has applied it
    shown = carol.evaluate("() => window.__holdShown")
    assert shown and all(shown), "the late machine list took the hold off the page"
    expect(held).to_contain_text("Washer 1 is held for you")
    expect(card(carol, "washer-1").locator(".state-label")).to_have_text("Held for you")
    expect(card(carol, "dryer-1").locator(".state-label")).to_have_text("Claimed")
