"""The page's messages say what happened to this student, in their words (issue 15)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from cloud.platform.storage.tables import activities, users
from tests.e2e.web_steps import WAIT_MS, card, choose_create_account, claim, open_app, register
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack


@pytest.fixture
def web_stack(start_web_stack_for: Callable[..., WebStack]) -> WebStack:
    return start_web_stack_for(claim_confirm_minutes=30)


def register_and_get_id(page: Page, stack: WebStack, student_id: str) -> int:
    register(page, stack, student_id)
    with stack.state.engine.connect() as conn:
        return int(conn.execute(select(users.c.id).where(users.c.student_id == student_id)).scalar_one())


def test_a_finished_dryer_says_drying_not_wash(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory()
    register(page, web_stack, "100301")
    dryer = card(page, "dryer-1")
    expect(dryer).to_have_attribute("data-usage", "free", timeout=WAIT_MS)
    claim(page, "dryer-1")
    expect(dryer).to_have_attribute("data-usage", "claimed", timeout=WAIT_MS)
    web_stack.run_cycle("dryer-1")
    expect(page.locator("#done-banner")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#done-title")).to_have_text("Your drying is done")
    expect(page.locator("#done-body")).to_contain_text("Dryer 1 finished")


def test_activity_says_the_claim_in_words_under_day_headings(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory()
    student = register_and_get_id(page, web_stack, "100302")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with web_stack.state.engine.begin() as conn:  # registered the day before, in the browser's time
        conn.execute(update(activities).where(activities.c.user_id == student).values(created_at=yesterday))
    claim(page, "washer-2", "extra_10")
    expect(card(page, "washer-2")).to_have_attribute("data-usage", "claimed", timeout=WAIT_MS)
    page.get_by_role("link", name="Activity", exact=True).click()
    entries = page.locator("#activity-list")
    expect(entries).to_contain_text("claimed washer 2 (10 extra minutes)", timeout=WAIT_MS)
    expect(entries).not_to_contain_text("extra_10")
    headings = entries.get_by_role("heading", level=3)
    expect(headings).to_have_text(["Today", "Yesterday"])


def test_a_foreign_local_number_is_refused_in_words_and_a_good_one_is_read_back(
    web_stack: WebStack, page_factory: PageFactory
) -> None:
    page = page_factory()
    open_app(page, web_stack)
    choose_create_account(page)
    form = page.locator("#login-form")
    form.get_by_label("Student ID").fill("100303")
    form.get_by_label("PIN").fill("1234")
    form.get_by_label("Phone number").fill("0991 234 567")  # a local number of another country
    page.get_by_role("button", name="Create account").click()
    error = page.locator("#login-error")
    expect(error).to_contain_text("Phone number looks like a local number from outside US", timeout=WAIT_MS)
    expect(error).not_to_contain_text("phone_number")
    expect(error).not_to_contain_text("Phone_number")

    form.get_by_label("PIN").fill("1234")
    form.get_by_label("Phone number").fill("(202) 555-0143")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Messages go to +12025550143")).to_be_visible(timeout=WAIT_MS)
