"""A machine's QR code, /claim/{site}/{room}/{machine}: opened logged out, the page asks for a
login for that machine, then lands on its claim choices, and the claim goes through."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.e2e.web_steps import WAIT_MS, card, choose_create_account, wait_live
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack


def test_a_qr_link_opened_logged_out_lands_on_the_machines_claim_choices_after_login(
    web_stack: WebStack, page_factory: PageFactory, assert_no_serious_violations: Callable[..., object]
) -> None:
    web_stack.register_student("600001")
    page = page_factory()
    page.goto(f"{web_stack.base_url}/claim/{web_stack.site}/{web_stack.room}/washer-1")
    expect(page.locator("#login-title")).to_have_text("Log in to claim Washer 1", timeout=WAIT_MS)
    expect(page.locator("#room-select")).to_have_value(f"{web_stack.site}/{web_stack.room}")
    assert_no_serious_violations(page)

    page.locator("#login-form").get_by_label("Student ID").fill("600001")
    page.locator("#login-form").get_by_label("PIN").fill("1234")
    page.get_by_role("button", name="Log in", exact=True).click()
    wait_live(page)

    washer = card(page, "washer-1")
    choice = washer.get_by_label("Cycle")
    expect(choice).to_be_focused(timeout=WAIT_MS)
    expect(washer).to_have_class("card linked")
    expect(washer).to_be_in_viewport()
    expect(page.locator("#action-status")).to_have_text("Washer 1: choose a cycle, then Claim.")
    assert page.url.endswith(f"/?site={web_stack.site}&room={web_stack.room}#room")

    choice.select_option("extra_10")
    washer.get_by_role("button", name="Claim:").click()
    expect(washer).to_have_attribute("data-usage", "claimed", timeout=WAIT_MS)
    claimed = web_stack.wait_for_machine("washer-1", usage="claimed")
    assert claimed["in_use_by"] == "someone"


def test_a_qr_link_when_logged_in_goes_straight_to_the_claim_choices(
    web_stack: WebStack, page_factory: PageFactory
) -> None:
    page = page_factory()
    page.goto(web_stack.room_url())
    choose_create_account(page)
    page.locator("#login-form").get_by_label("Student ID").fill("600002")
    page.locator("#login-form").get_by_label("PIN").fill("1234")
    page.locator("#login-form").get_by_label("Phone number").fill("+1 202-555-0143")
    page.get_by_role("button", name="Create account").click()
    wait_live(page)

    page.goto(f"{web_stack.base_url}/claim/{web_stack.site}/{web_stack.room}/dryer-3")
    wait_live(page)
    expect(card(page, "dryer-3").get_by_label("Cycle")).to_be_focused(timeout=WAIT_MS)


def test_a_link_to_a_machine_the_room_does_not_have_says_so(web_stack: WebStack, page_factory: PageFactory) -> None:
    web_stack.register_student("600003")
    page = page_factory()
    page.goto(f"{web_stack.base_url}/claim/{web_stack.site}/{web_stack.room}/washer-99")
    page.locator("#login-form").get_by_label("Student ID").fill("600003")
    page.locator("#login-form").get_by_label("PIN").fill("1234")
    page.get_by_role("button", name="Log in", exact=True).click()
    wait_live(page)
    expect(page.locator("#action-status")).to_have_text(
        f"There is no machine washer-99 in {web_stack.room}: choose one below.", timeout=WAIT_MS
    )
    expect(card(page, "washer-1")).to_be_visible()
