"""The server's own words in the browser's language: with the page in Spanish, the Activity
tab shows a claim in Spanish (written by the server, from its catalog) and a wrong PIN answers
in Spanish — the page names its language on every request, logged in or not."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.test_web_language import register_in_spanish
from tests.e2e.web_steps import WAIT_MS, card, open_app
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack


@pytest.fixture
def web_stack(start_web_stack_for: Callable[..., WebStack]) -> WebStack:
    return start_web_stack_for(timezone="Europe/Madrid")


def test_the_activity_tab_shows_a_claim_in_spanish(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory(locale="es-ES")
    register_in_spanish(page, web_stack, "310001")
    washer = card(page, "washer-1")
    expect(washer).to_have_attribute("data-usage", "free", timeout=WAIT_MS)
    washer.get_by_role("button", name="Reservar: Lavadora 1").click()
    expect(washer).to_have_attribute("data-usage", "claimed", timeout=WAIT_MS)
    page.locator("#tab-activity").click()
    expect(page.locator("#activity-list")).to_contain_text("reservaste lavadora 1 (ciclo normal)", timeout=WAIT_MS)
    expect(page.locator("#activity-list")).not_to_contain_text("claimed washer 1")


def test_a_wrong_pin_is_answered_in_spanish(web_stack: WebStack, page_factory: PageFactory) -> None:
    web_stack.register_student("310002")
    page = page_factory(locale="es-ES")
    open_app(page, web_stack)
    form = page.locator("#login-form")
    form.get_by_label("Número de estudiante").fill("310002")
    form.get_by_label("PIN").fill("9999")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/login")) as answered:
        page.get_by_role("button", name="Iniciar sesión", exact=True).click()
    assert answered.value.status == 401
    assert answered.value.json()["error"]["message"] == "el número de estudiante o el PIN no es correcto"
    expect(page.locator("#login-error")).to_contain_text("PIN incorrectos", timeout=WAIT_MS)
