"""The room page logged in, on a phone and on a laptop: screenshots for people to look at, no
serious or critical axe-core violations (login view, room, every tab), no sideways scrolling,
and the cards' controls reachable by keyboard with a visible focus outline."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.web_steps import WAIT_MS, card, claim, log_in, open_app, register
from tests.support.browser import LAPTOP, PHONE, PageFactory
from tests.support.web_stack import WebStack


@pytest.fixture
def web_stack(start_web_stack_for: Callable[..., WebStack]) -> WebStack:
    """Claims wait 30 simulated minutes for the sensors, so the claim shown stays pending."""
    return start_web_stack_for(claim_confirm_minutes=30)


def assert_fits(page: Page, width: int) -> None:
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page scrolls sideways: {scroll_width} px wide in a {width} px viewport"


def test_the_room_page_on_a_phone_and_a_laptop(
    web_stack: WebStack,
    page_factory: PageFactory,
    assert_no_serious_violations: Callable[..., object],
    save_screenshot: Callable[..., Path],
) -> None:
    phone = page_factory(viewport=PHONE)
    open_app(phone, web_stack)
    assert_no_serious_violations(phone)  # the login view
    save_screenshot(phone, "web-login-360x740")

    register(phone, web_stack, "500001")
    claim(phone, "washer-1")
    expect(card(phone, "washer-1")).to_have_attribute("data-usage", "claimed", timeout=WAIT_MS)
    web_stack.start_cycle("dryer-1")  # someone else's dryer runs
    expect(card(phone, "dryer-1")).to_have_attribute("data-usage", "in_use", timeout=WAIT_MS)
    expect(phone.locator("#busy-chart table")).to_be_visible(timeout=WAIT_MS)
    assert_fits(phone, PHONE[0])
    save_screenshot(phone, "web-room-360x740")
    assert_no_serious_violations(phone)

    for tab, content in (
        ("Alerts", "#enable-alerts"),
        ("Activity", "#activity-list li"),
        ("Profile", "#profile-phone"),
    ):
        phone.get_by_role("link", name=tab, exact=True).click()
        expect(phone.get_by_role("heading", level=2, name=tab)).to_be_visible()
        expect(phone.locator(content).first).to_be_visible(timeout=WAIT_MS)
        assert_fits(phone, PHONE[0])
        assert_no_serious_violations(phone)
        if tab == "Alerts":  # permission is granted; Web Push may or may not work in a headless browser
            phone.get_by_role("button", name="Enable alerts").click()
            expect(phone.locator("#alerts-state")).to_have_text(re.compile(r"^Alerts are on .*\.\)?$"), timeout=WAIT_MS)

    laptop = page_factory(viewport=LAPTOP)
    log_in(laptop, web_stack, "500001")  # the same student on a second device
    expect(card(laptop, "washer-1").locator(".state-label")).to_have_text("Claimed by you — start it")
    expect(laptop.locator("#busy-chart table")).to_be_visible(timeout=WAIT_MS)
    assert_fits(laptop, LAPTOP[0])
    save_screenshot(laptop, "web-room-1280x800")
    assert_no_serious_violations(laptop)
    laptop.emulate_media(color_scheme="dark")  # readable at night too
    assert_no_serious_violations(laptop)
    save_screenshot(laptop, "web-room-1280x800-dark")
    laptop.emulate_media(color_scheme="light")
    worker = laptop.evaluate("async () => (await navigator.serviceWorker.ready).active.scriptURL")
    assert worker == f"{web_stack.base_url}/sw.js"  # installed for Web Push, scope "/"

    # Keyboard only: Tab from the top reaches a free washer's Claim button, with a visible outline.
    target = card(laptop, "washer-2").get_by_role("button", name="Claim: Washer 2")
    laptop.locator("body").focus()
    for _ in range(80):
        laptop.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the Claim button of washer 2")
    assert target.evaluate("el => getComputedStyle(el).outlineStyle") != "none", "no visible focus outline"
    laptop.keyboard.press("Enter")  # one washer at a time: a clear refusal
    expect(laptop.locator("#action-status")).to_have_text(
        "You already have 1 washer claim(s); end or cancel one first.", timeout=WAIT_MS
    )
