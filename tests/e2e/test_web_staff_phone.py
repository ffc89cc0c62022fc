"""Staff on a phone (issue 15), at 360x740: every tab fits, the rooms table turns into cards
with no sideways scroll, a report's photo opens large and closes with Esc, reports on one
machine come under one heading, and a resolve updates the rooms' open-fault counts at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Page, expect

from cloud.api.web import STATIC_DIR
from launchers.broker import EmbeddedBroker, free_port
from tests.e2e.web_steps import WAIT_MS, log_in_staff
from tests.support.browser import PHONE, PageFactory
from tests.support.web_stack import WebStack, start_web_stack

PHOTO = STATIC_DIR / "icons" / "icon-512.png"  # a real PNG, bigger than its thumbnail on a phone
LOADED = "img => img.complete && img.naturalWidth > 0"
TABS = ("Room", "Alerts", "Activity", "Profile", "Staff")
SITE = "demo"
"""The one site on this module's private brokers (no other test's rooms to tell apart from)."""


@pytest.fixture
def web_stack(tmp_path: Path) -> Iterator[WebStack]:
    """The stack on a broker of its own: staff see every room whose retained info the broker
    holds, and the session's broker keeps every earlier test's room (offline, with a random
    site name), which would fill the rooms list and the README's screenshot."""
    with EmbeddedBroker(port=free_port()) as broker, start_web_stack(broker.url, tmp_path, SITE) as stack:
        yield stack


def report(stack: WebStack, student_id: str, machine_id: str, description: str, photo: Path | None = None) -> int:
    """A student reports a machine through the API (multipart, as the page sends it); returns the fault id."""
    token = stack.register_student(student_id)["access_token"]
    kind, number = machine_id.split("-")
    files = {"photo": (photo.name, photo.read_bytes(), "image/png")} if photo else None
    response = httpx.post(
        f"{stack.base_url}/api/v1/faults/report",
        data={
            "machine_type": kind,
            "machine_id": number,
            "description": description,
            "site": stack.site,
            "room": stack.room,
        },
        files=files,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    fault_id: int = response.json()["id"]
    return fault_id


def staff_phone(stack: WebStack, page_factory: PageFactory) -> Page:
    page = page_factory(viewport=PHONE)
    log_in_staff(page, stack, stack.make_staff("phone.staff", "a-long-staff-password"))
    return page


def open_staff_tab(page: Page) -> None:
    page.get_by_role("link", name="Staff").click()
    expect(page.locator("#staff-title")).to_be_visible(timeout=WAIT_MS)


def test_every_tab_is_inside_a_phone_screen_and_clickable(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = staff_phone(web_stack, page_factory)
    for width in (360, 320):
        page.set_viewport_size({"width": width, "height": PHONE[1]})
        for name in TABS:
            tab = page.locator("#tabs").get_by_role("link", name=name, exact=True)
            box = tab.bounding_box()
            assert box is not None, name
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{name} tab is cut off: {box}, viewport {width}"
    open_staff_tab(page)
    expect(page.locator("#tab-staff")).to_have_attribute("aria-current", "page")


def test_the_staff_view_has_no_sideways_scroll_on_a_phone(
    web_stack: WebStack,
    page_factory: PageFactory,
    assert_no_serious_violations: Callable[..., Any],
    save_screenshot: Callable[..., Path],
) -> None:
    """Also the README's screenshot: one room, online, with two reports on one machine (one
    with a photo), so the rooms card, the grouping and a thumbnail are all in frame."""
    report(web_stack, "310000", "washer-2", "Water stays in the drum after the cycle")
    report(web_stack, "310001", "washer-2", "Drum squeaks loudly", PHOTO)
    page = staff_phone(web_stack, page_factory)
    open_staff_tab(page)
    expect(page.locator("#edges-body tr")).to_have_count(1, timeout=WAIT_MS)
    row = page.locator(f'#edges-body tr[data-room="{web_stack.site}/{web_stack.room}"]')
    expect(row.locator(".edge-health")).not_to_have_text("", timeout=WAIT_MS)
    expect(row.locator(".edge-online")).to_be_visible(timeout=WAIT_MS)
    expect(row.locator(".edge-faults")).to_have_text("2", timeout=WAIT_MS)
    group = page.locator("#faults-list > li.fault-group")
    expect(group).to_have_count(1, timeout=WAIT_MS)
    expect(group.get_by_role("heading", level=3)).to_contain_text("2 reports")
    thumbnail = group.get_by_role("button", name="Open the photo of Washer 2 large").locator("img")
    page.wait_for_function(LOADED, arg=thumbnail.element_handle(), timeout=WAIT_MS)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    box = row.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE[0]
    assert_no_serious_violations(page)
    save_screenshot(page, "web-staff-360x740")


def test_a_reports_photo_opens_large_and_closes_with_escape(
    web_stack: WebStack, page_factory: PageFactory, assert_no_serious_violations: Callable[..., Any]
) -> None:
    report(web_stack, "310002", "dryer-1", "Door handle came off", PHOTO)
    page = staff_phone(web_stack, page_factory)
    open_staff_tab(page)
    thumbnail = page.locator("#faults-list li.fault").get_by_role("button", name="Open the photo of Dryer 1 large")
    expect(thumbnail).to_be_visible(timeout=WAIT_MS)
    small_img = thumbnail.locator("img")
    page.wait_for_function(LOADED, arg=small_img.element_handle(), timeout=WAIT_MS)
    small = small_img.bounding_box()
    thumbnail.click()
    dialog = page.get_by_role("dialog", name="Photo of Dryer 1 from the report")
    expect(dialog).to_be_visible()
    large = dialog.get_by_role("img", name="Photo of Dryer 1 from the report")
    page.wait_for_function(LOADED, arg=large.element_handle(), timeout=WAIT_MS)
    big = large.bounding_box()
    assert small is not None and big is not None and big["width"] > small["width"]
    assert_no_serious_violations(page)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(thumbnail).to_be_focused()
    thumbnail.click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_reports_on_one_machine_come_under_one_machine_group(web_stack: WebStack, page_factory: PageFactory) -> None:
    report(web_stack, "310003", "washer-1", "Leaks at the front")
    report(web_stack, "310004", "dryer-2", "Stays cold")
    report(web_stack, "310005", "washer-1", "Smells of burning")
    page = staff_phone(web_stack, page_factory)
    open_staff_tab(page)
    groups = page.locator("#faults-list > li.fault-group")
    expect(groups).to_have_count(2, timeout=WAIT_MS)
    washer = groups.filter(has=page.get_by_role("heading", name="Washer 1", exact=False))
    expect(washer).to_have_count(1)
    expect(washer.get_by_role("heading", level=3)).to_contain_text("2 reports")
    expect(washer.locator("li.fault")).to_have_count(2)
    expect(washer.locator("li.fault").nth(0)).to_contain_text("Smells of burning")  # newest first
    expect(washer.locator("li.fault").nth(1)).to_contain_text("Leaks at the front")
    expect(groups.nth(0)).to_contain_text("Washer 1")  # its newest report is the newest of all
    expect(groups.filter(has_text="Dryer 2").get_by_role("heading", level=3)).to_contain_text("1 report")


def test_resolving_a_report_updates_the_rooms_open_faults_at_once(
    web_stack: WebStack, page_factory: PageFactory
) -> None:
    """The staff phone follows another room (so no live message of this one reaches it): only
    the page's own reload after the step or the resolve can change the count."""
    report(web_stack, "310006", "washer-4", "Won't drain")
    report(web_stack, "310007", "dryer-3", "Rattles")
    page = page_factory(viewport=PHONE)
    account = web_stack.make_staff("phone.staff", "a-long-staff-password")
    page.goto(f"{web_stack.base_url}/?{urlencode({'site': web_stack.site, 'room': 'another-room'})}")
    page.get_by_text("Staff login").click()
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Log in as staff").click()
    open_staff_tab(page)
    count = page.locator(f'#edges-body tr[data-room="{web_stack.site}/{web_stack.room}"] .edge-faults')
    expect(count).to_have_text("2", timeout=WAIT_MS)
    rattles = page.locator("#faults-list li.fault").filter(has_text="Rattles")
    rattles.get_by_label("Next step").select_option("wont_fix")
    rattles.get_by_label("Note for the reporter and the room").fill("The rattle is normal for this model")
    rattles.get_by_role("button", name="Update repair").click()
    expect(page.locator("#action-status")).to_have_text("Repair updated.", timeout=WAIT_MS)
    expect(count).to_have_text("1", timeout=WAIT_MS)
    drain = page.locator("#faults-list li.fault").filter(has_text="Won't drain")
    drain.get_by_role("button", name="Resolve").click()
    expect(page.locator("#action-status")).to_have_text("Fault report resolved.", timeout=WAIT_MS)
    expect(count).to_have_text("0", timeout=WAIT_MS)
