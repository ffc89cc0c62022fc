"""A newcomer's phone (issue 15): the first screen shows the room (login and waitlist below it),
feedback shows where the student looks and stays on its tab, a field's error goes once the field
is fixed, and the busy-hours chart tells "no data" apart from "quiet" and says plainly when no
hour ahead is quiet."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, Route, expect

from tests.e2e.web_steps import WAIT_MS, StaffApi, card, claim, open_app, register, wait_live
from tests.support.browser import PHONE, PageFactory
from tests.support.web_stack import WebStack


def assert_first_screen_shows_the_room(page: Page) -> None:
    """The summary line and the whole first washer card lie within the first 360x740 viewport."""
    page.evaluate("() => window.scrollTo(0, 0)")
    expect(page.locator("#room-summary")).to_be_in_viewport(ratio=1, timeout=WAIT_MS)
    expect(page.locator("#washers li.card").first).to_be_in_viewport(ratio=1, timeout=WAIT_MS)


def assert_comes_below(page: Page, above: str, below: str) -> None:
    """``below`` is visible and follows ``above`` both in the DOM (what a screen reader reads
    first) and on screen (its top at or under the other's bottom: what a thumb scrolls to)."""
    expect(page.locator(below)).to_be_visible(timeout=WAIT_MS)
    follows = page.evaluate(
        "([a, b]) => Boolean(document.querySelector(a).compareDocumentPosition(document.querySelector(b))"
        " & Node.DOCUMENT_POSITION_FOLLOWING)",
        [above, below],
    )
    assert follows, f"{below} comes before {above} in the page"
    upper, lower = page.locator(above).bounding_box(), page.locator(below).bounding_box()
    assert upper is not None and lower is not None
    assert lower["y"] >= upper["y"] + upper["height"], f"{below} is drawn above the bottom of {above}: {lower} {upper}"


def test_the_first_phone_screen_shows_the_room_logged_out_and_in(
    web_stack: WebStack, page_factory: PageFactory, save_screenshot: Callable[..., Path]
) -> None:
    page = page_factory(viewport=PHONE)
    open_app(page, web_stack)
    expect(page.locator("#room-summary")).to_contain_text("washers free", timeout=WAIT_MS)
    assert_first_screen_shows_the_room(page)

    cta = page.get_by_role("link", name="Log in to claim a machine ↓")
    expect(cta).to_be_in_viewport(ratio=1)  # the way to claim is near the top too
    cta.click()
    expect(page.locator("#student-id")).to_be_focused()
    expect(page.locator("#student-id")).to_be_in_viewport(ratio=1)

    register(page, web_stack, "150001")
    expect(page.get_by_role("link", name="Log in to claim a machine ↓")).to_be_hidden()
    page.goto(web_stack.room_url())  # a logged-in student opening the app again
    wait_live(page)
    assert_first_screen_shows_the_room(page)
    expect(page.locator("#busy-chart table")).to_be_visible(timeout=WAIT_MS)
    save_screenshot(page, "web-room-360x740", full_page=False)

    staff = StaffApi(web_stack)  # no washer free: the waitlist offers to queue, below the room
    for washer in (m["id"] for m in web_stack.machines() if m["kind"] == "washer"):
        staff.out_of_service(washer, "Descaling")
    expect(page.get_by_role("button", name="Join the washer waitlist")).to_be_visible(timeout=WAIT_MS)
    assert_comes_below(page, "#dryers", "#waitlist")  # the issue: "login and waitlist below"
    assert_first_screen_shows_the_room(page)


def test_feedback_shows_in_the_viewport_and_stays_on_its_tab(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory(viewport=PHONE)
    register(page, web_stack, "150002")
    last_dryer = page.locator("#dryers li.card").last
    machine_id = last_dryer.get_attribute("data-machine")
    assert machine_id is not None
    claim(page, machine_id)  # far down the page: Playwright scrolls there first
    status = page.locator("#action-status")
    expect(status).to_contain_text("is yours once it starts", timeout=WAIT_MS)
    expect(status).to_be_in_viewport(ratio=1)
    assert page.evaluate("() => window.scrollY") > 0, "the action was not far down the page"

    page.get_by_role("link", name="Alerts", exact=True).click()
    expect(page.get_by_role("heading", level=2, name="Alerts")).to_be_visible()
    expect(status).to_be_empty()
    expect(status).to_be_hidden()


def test_an_error_goes_once_its_field_is_fixed(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory(viewport=PHONE)
    open_app(page, web_stack)
    student_id = page.locator("#student-id")
    error = page.locator("#login-error")
    student_id.fill("12")
    page.locator("#pin").fill("1234")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(error).to_have_text("Student ID: enter your 6 digits.")
    expect(student_id).to_have_attribute("aria-invalid", "true")
    student_id.fill("123")  # still not valid: the message stays
    expect(error).to_have_text("Student ID: enter your 6 digits.")
    student_id.fill("123456")
    expect(error).to_be_empty()
    expect(student_id).to_have_attribute("aria-invalid", "false")

    register(page, web_stack, "150003")
    card(page, "washer-2").get_by_role("button", name="Report a problem: Washer 2").click()
    dialog = page.get_by_role("dialog", name="Report a problem with Washer 2")
    dialog.get_by_role("button", name="Send report").click()
    description = dialog.get_by_label("What is wrong?")
    expect(dialog.locator("#report-error")).not_to_be_empty()
    expect(description).to_have_attribute("aria-invalid", "true")
    description.fill("The drum does not turn")
    expect(dialog.locator("#report-error")).to_be_empty()
    expect(description).to_have_attribute("aria-invalid", "false")


def test_busy_hours_show_no_data_and_say_when_no_hour_is_quiet(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory(viewport=PHONE)
    open_app(page, web_stack)  # a fresh room: its history covers minutes, not weeks
    chart = page.locator("#busy-chart table")
    expect(chart).to_be_visible(timeout=WAIT_MS)
    no_data = chart.locator("td.heat.none")
    assert no_data.count() > 100, "a room with minutes of history shows most hours as no data"
    expect(no_data.first).to_have_text("no data")
    assert chart.locator("td.heat.l0").count() < 24, "uncovered hours are drawn as quiet"
    expect(page.locator(".legend")).to_contain_text("no data")
    expect(page.locator("#busy-quiet li").first).to_be_visible()  # the current hour is covered and idle

    def no_quiet_hour(route: Route) -> None:
        body = route.fetch().json()
        body["quietest"] = []  # every covered hour ahead at least 25 % busy
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/busy-hours?*", no_quiet_hour)
    page.reload()
    expect(page.locator("#busy-no-quiet")).to_have_text(
        "No quiet hour in the next 24 hours: every hour ahead is usually at least a quarter busy, or has no data yet.",
        timeout=WAIT_MS,
    )
    expect(page.locator("#busy-quiet")).to_be_hidden()
