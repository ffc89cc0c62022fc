"""The page's messages say what happened to this student, in their words (issue 15)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.web_steps import WAIT_MS, card, claim, register
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack


@pytest.fixture
def web_stack(start_web_stack_for: Callable[..., WebStack]) -> WebStack:
    return start_web_stack_for(claim_confirm_minutes=30)


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
