"""A fault report with a photo from the phone (a photo over the limit is refused with a clear
message first), seen by staff with that photo; staff take the machine out of service and the
student's card changes live; staff resolve the report and put the machine back."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from cloud.api.web import STATIC_DIR
from tests.e2e.web_steps import WAIT_MS, card, log_in_staff, register
from tests.support.browser import LAPTOP, PageFactory
from tests.support.web_stack import WebStack

PHOTO = STATIC_DIR / "icons" / "icon-192.png"  # a real PNG


def test_a_reported_fault_reaches_staff_with_its_photo_and_out_of_service_shows_live(
    web_stack: WebStack, page_factory: PageFactory, tmp_path: Path
) -> None:
    too_big = tmp_path / "huge.jpg"
    too_big.write_bytes(b"\xff\xd8\xff\xe0" + bytes(web_stack.state.settings.photo_max_bytes + 1024))
    staff_account = web_stack.make_staff("night.porter", "a-long-staff-password")
    student = page_factory()
    register(student, web_stack, "300001")
    washer = card(student, "washer-3")
    washer.get_by_role("button", name="Report a problem: Washer 3").click()
    dialog = student.get_by_role("dialog", name="Report a problem with Washer 3")
    expect(dialog).to_be_visible()
    dialog.get_by_label("What is wrong?").fill("Water leaks from the door seal")
    dialog.get_by_label("Photo (optional)").set_input_files(str(too_big))
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog.locator("#report-error")).to_have_text(
        "The photo is too large (the limit is 5 MB). Take a smaller one or send the report without it.",
        timeout=WAIT_MS,
    )
    dialog.get_by_label("Photo (optional)").set_input_files(str(PHOTO))
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog).to_be_hidden(timeout=WAIT_MS)
    expect(student.locator("#action-status")).to_contain_text("your report on washer 3 was sent")
    expect(washer.locator(".faults")).to_have_text("1 open fault report", timeout=WAIT_MS)

    staff = page_factory(viewport=LAPTOP)
    log_in_staff(staff, web_stack, staff_account)
    staff.get_by_role("link", name="Staff").click()
    report = staff.locator("#faults-list li.fault").filter(has_text="Water leaks from the door seal")
    expect(report).to_contain_text("Washer 3", timeout=WAIT_MS)
    expect(report).to_contain_text("student 300001")
    photo = report.get_by_role("img", name="Photo of Washer 3 from the report")
    expect(photo).to_be_visible(timeout=WAIT_MS)
    staff.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle(), timeout=WAIT_MS)
    assert photo.evaluate("img => img.naturalWidth") == 192

    staff.get_by_role("link", name="Room").click()
    card(staff, "washer-3").get_by_role("button", name="Take out of service: Washer 3").click()
    service = staff.get_by_role("dialog", name="Take Washer 3")
    service.get_by_label("Reason (students see it)").fill("Door seal leaking; technician on Monday")
    service.get_by_role("button", name="Take out of service").click()
    expect(service).to_be_hidden(timeout=WAIT_MS)

    expect(washer).to_have_attribute("data-usage", "out_of_service", timeout=WAIT_MS)
    expect(washer.locator(".state-label")).to_have_text("Out of service")
    expect(washer.locator(".detail")).to_contain_text("Door seal leaking; technician on Monday")
    expect(washer.get_by_role("button", name="Claim:")).to_have_count(0)

    staff.get_by_role("link", name="Staff").click()
    staff.get_by_role("button", name="Refresh").click()
    edge = staff.locator(f'#edges-body tr[data-room="{web_stack.site}/{web_stack.room}"]')
    expect(edge).to_contain_text("online", timeout=WAIT_MS)  # the room's edge, with its own figures
    expect(edge.locator(".edge-health")).to_contain_text(re.compile(r"outbox \d+ · board connected"), timeout=WAIT_MS)
    report.get_by_label("What was done (optional)").fill("New seal fitted")
    report.get_by_role("button", name="Resolve").click()
    expect(staff.locator("#action-status")).to_have_text("Fault report resolved.", timeout=WAIT_MS)
    expect(report).to_have_count(0, timeout=WAIT_MS)

    staff.get_by_role("link", name="Room").click()
    card(staff, "washer-3").get_by_role("button", name="Put back in service: Washer 3").click()
    expect(washer).to_have_attribute("data-usage", "free", timeout=WAIT_MS)
