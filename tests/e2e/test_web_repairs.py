"""The repair tracker in the browser: a student reports a washer, staff take it out of service
and schedule its repair from the Staff tab with a date and a note, and the student's page shows
it at once — in the room's Repairs list (status, date, note) and on the washer's card ("back
about ...") — without a reload; the staff list shows the new step too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from kywash.clock import to_datetime
from tests.e2e.web_steps import WAIT_MS, StaffApi, card, log_in_staff, register
from tests.support.browser import LAPTOP, PageFactory
from tests.support.web_stack import WebStack

DAY = "iso => { const [y, m, d] = iso.split('-').map(Number); return new Date(y, m - 1, d)"
DAY += ".toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' }); }"
"""How the page writes a repair date, computed in the page's own locale."""


def test_staff_schedule_a_repair_and_the_student_sees_it_live(
    web_stack: WebStack,
    page_factory: PageFactory,
    assert_no_serious_violations: Callable[..., Any],
    save_screenshot: Callable[..., Path],
) -> None:
    student = page_factory()
    register(student, web_stack, "300002")
    repairs = student.locator("#repairs")
    expect(repairs.get_by_role("heading", name="Repairs")).to_be_visible(timeout=WAIT_MS)
    expect(repairs.locator("#repairs-empty")).to_be_visible()

    washer = card(student, "washer-3")
    washer.get_by_role("button", name="Report a problem: Washer 3").click()
    dialog = student.get_by_role("dialog", name="Report a problem with Washer 3")
    dialog.get_by_label("What is wrong?").fill("The drum will not turn")
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog).to_be_hidden(timeout=WAIT_MS)
    item = repairs.locator("li.repair[data-machine='washer-3']")
    expect(item).to_contain_text("Reported, not yet seen by staff", timeout=WAIT_MS)
    expect(item).to_contain_text("Your report: The drum will not turn")

    StaffApi(web_stack).out_of_service("washer-3", "Drum motor broken")
    expect(washer).to_have_attribute("data-usage", "out_of_service", timeout=WAIT_MS)

    eta = (to_datetime(web_stack.clock.now()).date() + timedelta(days=7)).isoformat()
    staff_account = web_stack.make_staff("repair.lead", "a-long-staff-password")
    staff = page_factory(viewport=LAPTOP)
    log_in_staff(staff, web_stack, staff_account)
    staff.get_by_role("link", name="Staff").click()
    report = staff.locator("#faults-list li.fault").filter(has_text="The drum will not turn")
    expect(report).to_contain_text("Reported, not yet seen by staff", timeout=WAIT_MS)
    report.get_by_label("Next step").select_option("scheduled")
    report.get_by_label("Repair date").fill(eta)
    report.get_by_label("Note for the reporter and the room").fill("New motor on order")
    report.get_by_role("button", name="Update repair").click()
    expect(staff.locator("#action-status")).to_have_text("Repair scheduled.", timeout=WAIT_MS)

    day = student.evaluate(DAY, eta)
    expect(report).to_contain_text(f"Repair scheduled for {day} — New motor on order", timeout=WAIT_MS)
    expect(item).to_have_attribute("data-status", "scheduled", timeout=WAIT_MS)
    expect(item.locator(".repair-status")).to_have_text(f"Repair scheduled for {day}")
    expect(item.locator(".repair-note")).to_have_text("Staff: New motor on order")
    expect(washer.locator(".state-label")).to_have_text("Out of service")
    expect(washer.locator(".detail")).to_have_text(f"Drum motor broken · back about {day}", timeout=WAIT_MS)
    assert_no_serious_violations(student)
    assert_no_serious_violations(staff)
    save_screenshot(student, "repairs-student")
    save_screenshot(staff, "repairs-staff")

    report.get_by_label("Next step").select_option("scheduled")
    report.get_by_label("Repair date").fill("2001-01-01")
    report.get_by_role("button", name="Update repair").click()
    expect(report.locator(".form-error")).to_contain_text("is in the past", timeout=WAIT_MS)

    report.get_by_label("Next step").select_option("resolved")
    report.get_by_label("Note for the reporter and the room").fill("Motor replaced")
    report.get_by_role("button", name="Update repair").click()
    expect(item).to_have_count(0, timeout=WAIT_MS)
    expect(repairs.locator("#repairs-empty")).to_be_visible()
    page_factory.assert_no_page_errors()
