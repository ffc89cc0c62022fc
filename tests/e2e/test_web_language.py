"""English and Spanish, and the room's time zone, in the browser: the browser's language picks
the page's, the switch changes it at once and it stays after a reload; a Spanish student's "done"
arrives in Spanish; times are the room's, not the browser's. Also the login's two tabs (the phone
number only to create an account) and the card's "Report a problem" as a secondary action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.web_steps import (
    RECORD_NOTIFICATIONS,
    WAIT_MS,
    card,
    claim,
    log_in_staff,
    notifications,
    open_app,
    register,
)
from tests.support.browser import LAPTOP, PageFactory
from tests.support.web_stack import WebStack


@pytest.fixture
def web_stack(start_web_stack_for: Callable[..., WebStack]) -> WebStack:
    return start_web_stack_for(timezone="Europe/Madrid")


def as_student(stack: WebStack, student_id: str, path: str) -> dict[str, Any]:
    """GET ``path`` as the student, in a session of its own (the page's is left alone)."""
    access = stack.log_in_student(student_id)["access_token"]
    response = httpx.get(f"{stack.base_url}{path}", headers={"Authorization": f"Bearer {access}"}, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def register_in_spanish(page: Page, stack: WebStack, student_id: str) -> None:
    open_app(page, stack)
    page.get_by_role("tab", name="Crear cuenta").click()
    page.locator("#student-id").fill(student_id)
    page.locator("#pin").fill("1234")
    page.locator("#phone").fill("+1 202-555-0143")
    page.get_by_role("button", name="Crear cuenta").click()
    expect(page.locator("#connection")).to_have_text("En directo", timeout=WAIT_MS)


def test_a_spanish_browser_gets_spanish_and_the_switch_changes_it_live_and_for_good(
    web_stack: WebStack, page_factory: PageFactory, assert_no_serious_violations: Callable[..., object]
) -> None:
    page = page_factory(locale="es-ES")
    register_in_spanish(page, web_stack, "300001")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#washers-title")).to_have_text("Lavadoras")
    expect(card(page, "washer-1").locator(".state-label")).to_have_text("Libre", timeout=WAIT_MS)
    assert_no_serious_violations(page)

    switch = page.get_by_label("Idioma")
    switch.select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#washers-title")).to_have_text("Washers")
    expect(card(page, "washer-1").locator(".state-label")).to_have_text("Free")
    expect(card(page, "washer-1").get_by_role("button", name="Claim: Washer 1")).to_be_visible()
    expect(page.locator("#connection")).to_have_text("Live")

    page.get_by_label("Language").select_option("es")
    expect(page.locator("#washers-title")).to_have_text("Lavadoras")
    expect(card(page, "washer-1").get_by_role("button", name="Reservar: Lavadora 1")).to_be_visible()
    page.get_by_label("Idioma").select_option("en")
    expect(page.locator("#dryers-title")).to_have_text("Dryers")

    page.reload()
    expect(page.locator("#connection")).to_have_text("Live", timeout=WAIT_MS)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#washers-title")).to_have_text("Washers")
    me = as_student(web_stack, "300001", "/api/v1/profile/me")
    assert me["language"] == "en"  # kept on the account too: notifications follow it


def test_an_english_browser_gets_english(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory(locale="en-GB")
    open_app(page, web_stack)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("tab", name="Create account")).to_be_visible()


def test_a_spanish_students_done_arrives_in_spanish(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory(locale="es-MX")
    page.add_init_script(RECORD_NOTIFICATIONS)
    register_in_spanish(page, web_stack, "300002")
    dryer = card(page, "dryer-1")
    expect(dryer).to_have_attribute("data-usage", "free", timeout=WAIT_MS)
    dryer.get_by_role("button", name="Reservar: Secadora 1").click()
    expect(dryer).to_have_attribute("data-usage", "claimed", timeout=WAIT_MS)
    web_stack.run_cycle("dryer-1")
    expect(page.locator("#done-title")).to_have_text("Tu secado ha terminado", timeout=WAIT_MS)
    expect(page.locator("#done-body")).to_contain_text("Secadora 1")
    page.wait_for_function(
        "() => (window.__notifications ?? []).some((n) => n.title === 'Tu secado ha terminado')", timeout=WAIT_MS
    )
    [shown] = [n for n in notifications(page) if n["title"] == "Tu secado ha terminado"]
    assert shown["body"].startswith("La secadora 1 ha terminado. Recoge tu ropa")
    page.locator("#tab-alerts").click()
    expect(page.locator("#notes .note-head strong").first).to_have_text("Tu secado ha terminado", timeout=WAIT_MS)


def test_times_are_the_rooms_not_the_browsers(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory(timezone_id="Asia/Tokyo")
    register(page, web_stack, "300003")
    claim(page, "washer-1")
    washer = card(page, "washer-1")
    expect(washer).to_have_attribute("data-usage", "claimed", timeout=WAIT_MS)
    deadline = as_student(
        web_stack, "300003", f"/api/v1/machines/washer/1?site={web_stack.site}&room={web_stack.room}"
    )["claim"]["confirm_by"]
    at = datetime.fromisoformat(deadline)
    madrid = at.astimezone(ZoneInfo("Europe/Madrid")).strftime("%I:%M %p")
    tokyo = at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%I:%M %p")
    expect(washer.locator(".detail")).to_contain_text(f"Start it by {madrid}", timeout=WAIT_MS)
    assert tokyo not in (washer.locator(".detail").text_content() or "")


def test_log_in_and_create_account_are_separate_and_only_creating_asks_for_a_phone(
    web_stack: WebStack, page_factory: PageFactory, assert_no_serious_violations: Callable[..., object]
) -> None:
    page = page_factory()
    open_app(page, web_stack)
    log_in_tab = page.get_by_role("tab", name="Log in")
    create_tab = page.get_by_role("tab", name="Create account")
    expect(log_in_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#phone")).to_be_hidden()
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Create account")).to_have_count(0)

    create_tab.click()
    expect(create_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#login-form").get_by_label("Phone number")).to_be_visible()
    expect(page.get_by_role("button", name="Create account")).to_be_visible()
    expect(page.get_by_role("button", name="Log in", exact=True)).to_have_count(0)
    assert_no_serious_violations(page)

    create_tab.press("ArrowLeft")
    expect(log_in_tab).to_be_focused()
    expect(page.locator("#phone")).to_be_hidden()


def test_report_a_problem_is_a_secondary_action_on_a_card(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory(viewport=LAPTOP)
    register(page, web_stack, "300004")
    washer = card(page, "washer-2")
    expect(washer).to_have_attribute("data-usage", "free", timeout=WAIT_MS)
    claim_button = washer.get_by_role("button", name="Claim: Washer 2")
    report = washer.get_by_role("button", name="Report a problem: Washer 2")
    expect(report).to_have_class("link-button secondary-action")
    claim_box, report_box = claim_button.bounding_box(), report.bounding_box()
    assert claim_box and report_box
    assert report_box["height"] < claim_box["height"]
    assert report_box["width"] * report_box["height"] < claim_box["width"] * claim_box["height"]
    claim(page, "washer-2")
    expect(washer.get_by_role("button", name="Cancel claim: Washer 2")).to_have_class("secondary", timeout=WAIT_MS)


def test_take_out_of_service_is_a_secondary_action_for_staff(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory(viewport=LAPTOP)
    log_in_staff(page, web_stack, web_stack.make_staff("card.staff"))
    washer = card(page, "washer-3")
    take_out = washer.get_by_role("button", name="Take out of service: Washer 3")
    expect(take_out).to_have_class("link-button secondary-action", timeout=WAIT_MS)
    box = take_out.bounding_box()
    assert box is not None and box["height"] < 40  # a link-sized action, not the card's big button
