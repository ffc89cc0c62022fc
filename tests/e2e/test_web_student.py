"""A student's phone: register, claim a washer, watch the cycle run and finish live, get told
it is done (the bell's list and a browser notification); a second student sees the claim
without reloading; clear messages for a machine someone else just took, a wrong PIN and a
locked account."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Route, expect

from tests.e2e.web_steps import (
    RECORD_NOTIFICATIONS,
    WAIT_MS,
    card,
    claim,
    claim_by_api,
    notifications,
    register,
)
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack

RECORD_LABELS = """(machine) => {
  const label = document.querySelector(`li.card[data-machine="${machine}"] .state-label`);
  window.__labels = [label.textContent];
  const watch = { childList: true, characterData: true, subtree: true };
  new MutationObserver(() => window.__labels.push(label.textContent)).observe(label, watch);
}"""
"""Record every text a card's state label shows from now on (in ``window.__labels``), however briefly."""


@pytest.fixture
def web_stack(start_web_stack_for: Callable[..., WebStack]) -> WebStack:
    """Claims wait 30 simulated minutes for the sensors (30 real seconds at 60x) so a slow machine has
    time; a login lock lasts 60 simulated minutes, so it is still on when the page asks again."""
    return start_web_stack_for(claim_confirm_minutes=30, login_lock_minutes=60)


def test_a_claimed_wash_runs_finishes_and_says_it_is_done(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory()
    page.context.add_init_script(RECORD_NOTIFICATIONS)
    register(page, web_stack, "100001")
    washer = card(page, "washer-1")
    expect(washer).to_have_attribute("data-usage", "free", timeout=WAIT_MS)

    claim(page, "washer-1", "extra_10")
    expect(washer).to_have_attribute("data-usage", "claimed", timeout=WAIT_MS)
    expect(washer.locator(".state-label")).to_have_text("Claimed by you — start it")
    expect(page.locator("#action-status")).to_contain_text("Washer 1 is yours once it starts")

    web_stack.start_cycle("washer-1")
    expect(washer).to_have_attribute("data-usage", "in_use", timeout=WAIT_MS)
    expect(washer.locator(".state-label")).to_have_text("In use — yours")
    expect(washer.locator(".detail")).to_contain_text("+10 min")
    expect(washer.locator(".detail .time-left")).to_have_text(re.compile(r"About \d+ min left|any minute"))
    page.evaluate(RECORD_LABELS, "washer-1")

    web_stack.finish_cycle("washer-1")  # quiet first: "ending" (maybe done, not surely) before "finished"
    expect(washer).to_have_attribute("data-usage", "finished", timeout=WAIT_MS)
    labels = page.evaluate("() => window.__labels")
    assert "Finishing — almost done" in labels, labels
    assert labels.index("Finishing — almost done") < labels.index("Finished — collect your laundry"), labels
    expect(washer.get_by_role("button", name="End — I have my laundry: Washer 1")).to_be_visible()
    expect(page.locator("#done-banner")).to_contain_text("Washer 1 finished", timeout=WAIT_MS)
    expect(page.locator("#unread-count")).not_to_have_text("0", timeout=WAIT_MS)

    page.wait_for_function("() => window.__notifications.some(n => n.title === 'Your wash is done')", timeout=WAIT_MS)
    done = [n for n in notifications(page) if n["title"] == "Your wash is done"]
    assert len(done) == 1 and "Washer 1 has finished" in done[0]["body"]

    page.locator("#bell").click()
    note = page.locator('#notes li[data-type="cycle_finished"]')
    expect(note).to_contain_text("Your wash is done", timeout=WAIT_MS)
    note.get_by_role("button", name="Mark read").click()
    expect(note.get_by_role("button", name="Mark read")).to_have_count(0, timeout=WAIT_MS)
    note.get_by_role("button", name="Delete").click()
    expect(page.locator('#notes li[data-type="cycle_finished"]')).to_have_count(0, timeout=WAIT_MS)


def test_one_students_claim_appears_on_anothers_screen_and_a_lost_race_says_so(
    web_stack: WebStack, page_factory: PageFactory
) -> None:
    alice, bob = page_factory(), page_factory(viewport=(1280, 800))
    register(alice, web_stack, "100002")
    register(bob, web_stack, "100003")
    navigations: list[str] = []
    bob.on("framenavigated", lambda frame: navigations.append(frame.url))

    claim(alice, "washer-2")
    expect(card(alice, "washer-2")).to_have_attribute("data-usage", "claimed", timeout=WAIT_MS)
    bobs_view = card(bob, "washer-2")
    expect(bobs_view).to_have_attribute("data-usage", "claimed", timeout=WAIT_MS)
    expect(bobs_view.locator(".state-label")).to_have_text("Claimed")
    expect(bobs_view.get_by_role("button", name="Claim:")).to_have_count(0)

    web_stack.start_cycle("washer-2")
    expect(bobs_view).to_have_attribute("data-usage", "in_use", timeout=WAIT_MS)
    expect(bobs_view.locator(".state-label")).to_have_text("In use")
    free_in = re.compile(r"About \d+ min left|Should be free any minute")
    expect(bobs_view.locator(".detail .time-left")).to_have_text(free_in)  # to everyone, not only the claimant

    # A third student's claim lands between Bob's tap and the server: 409 machine_taken.
    rival = web_stack.register_student("100005")["access_token"]
    answers: list[int] = []

    def rival_first(route: Route) -> None:
        answers.append(claim_by_api(web_stack, rival, "washer-3").status_code)
        route.continue_()

    bob.route(re.compile(r"/api/v1/machines/start$"), rival_first)
    claim(bob, "washer-3")
    status = bob.locator("#action-status")
    expect(status).to_have_text(
        "Someone else just claimed that machine. Pick another one, or join the waitlist.", timeout=WAIT_MS
    )
    expect(status).to_have_class(re.compile(r"\berror\b"))
    assert answers == [201]
    expect(card(bob, "washer-3").locator(".state-label")).to_have_text("Claimed", timeout=WAIT_MS)
    assert navigations == [], "bob's page reloaded"


def test_a_wrong_pin_and_a_lockout_say_so(web_stack: WebStack, page_factory: PageFactory) -> None:
    web_stack.register_student("100004", pin="4321")
    page = page_factory()
    page.goto(web_stack.room_url())
    form = page.locator("#login-form")
    log_in_button = page.get_by_role("button", name="Log in", exact=True)
    form.get_by_label("PIN").fill("12")
    log_in_button.click()
    expect(page.locator("#login-error")).to_have_text("Student ID: enter your 6 digits.")
    expect(form.get_by_label("Student ID")).to_be_focused()
    form.get_by_label("Student ID").fill("100004")
    log_in_button.click()
    expect(page.locator("#login-error")).to_have_text("PIN: enter 4 digits.")
    expect(form.get_by_label("PIN")).to_be_focused()

    form.get_by_label("PIN").fill("1111")
    log_in_button.click()
    expect(page.locator("#login-error")).to_have_text("Wrong student ID or PIN. Check both and try again.")
    expect(page.locator("#account-bar")).to_be_hidden()

    for _ in range(8):  # the throttle locks the account after a few more wrong PINs
        form.get_by_label("PIN").fill("1111")
        log_in_button.click()
        expect(log_in_button).to_be_enabled(timeout=WAIT_MS)  # the answer is in
        if "locked" in (page.locator("#login-error").text_content() or ""):
            break
    expect(page.locator("#login-error")).to_have_text(
        re.compile(r"^Too many wrong attempts: login is locked\. Try again in \d+ (minutes|hours?)\.$")
    )
