"""The staff page lists an open alarm the moment it opens (no reload) and drops it when it
clears: three students' reports take a washer out of service automatically, staff put it back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.web_steps import WAIT_MS, StaffApi, log_in_staff
from tests.support.browser import LAPTOP, PageFactory
from tests.support.web_stack import WebStack


def report_by_api(stack: WebStack, token: str, machine_id: str) -> None:
    kind, number = machine_id.split("-")
    response = httpx.post(
        f"{stack.base_url}/api/v1/faults/report",
        data={"machine_type": kind, "machine_id": number, "description": "It will not drain",
              "site": stack.site, "room": stack.room},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )  # fmt: skip
    assert response.status_code == 201, response.text


def test_the_staff_page_shows_an_alarm_live_and_drops_it_when_it_clears(
    web_stack: WebStack, page_factory: PageFactory, assert_no_serious_violations: Callable[[Page], list[dict[str, Any]]]
) -> None:
    account = web_stack.make_staff("alarm.watcher", "a-long-staff-password")
    staff = page_factory(viewport=LAPTOP)
    log_in_staff(staff, web_stack, account)
    staff.get_by_role("link", name="Staff").click()
    expect(staff.locator("#alarms-empty")).to_be_visible(timeout=WAIT_MS)

    for n in range(1, 4):
        token = web_stack.register_student(f"40000{n}")["access_token"]
        report_by_api(web_stack, token, "washer-2")
    alarm = staff.locator("#alarms-list li.alarm")
    expect(alarm).to_have_count(1, timeout=WAIT_MS)
    expect(alarm).to_contain_text(f"{web_stack.room} ({web_stack.site}): washer 2 taken out of service automatically")
    expect(alarm).to_contain_text("Out of service · opened")
    expect(staff.locator("#alarms-empty")).to_be_hidden()
    assert_no_serious_violations(staff)

    StaffApi(web_stack).back_in_service("washer-2")
    expect(alarm).to_have_count(0, timeout=WAIT_MS)
    expect(staff.locator("#alarms-empty")).to_be_visible()
