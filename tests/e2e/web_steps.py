"""What the web app's browser scenarios do again and again: log in through the page, find a
machine's card, act as staff through the API, and record the page's browser notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from tests.support.web_stack import StaffAccount, WebStack

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.support.browser import PageFactory

WAIT_MS = 20_000
"""How long a live change may take to show on a slow 2-core machine (Playwright retries until then)."""

RECORD_NOTIFICATIONS = """
window.__notifications = [];
class RecordedNotification {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options = {}) { window.__notifications.push({ title, body: options.body, tag: options.tag }); }
  close() {}
}
Object.defineProperty(window, "Notification", { value: RecordedNotification, configurable: true, writable: true });
"""
"""An init script: ``new Notification(...)`` calls are recorded in ``window.__notifications``."""


def phone_off_by(page_factory: PageFactory, hours: float) -> Page:
    """A page whose device clock is ``hours`` ahead (negative: behind) of the real one, and runs."""
    page = page_factory()
    page.clock.install(time=datetime.now(UTC) + timedelta(hours=hours))
    page.clock.resume()
    return page


def open_app(page: Page, stack: WebStack) -> None:
    page.goto(stack.room_url())
    page.locator("#student-id").wait_for(state="visible", timeout=WAIT_MS)


def choose_create_account(page: Page) -> None:
    """Switch the login form to "Create account" (its tab): only then has it a phone number field."""
    page.get_by_role("tab", name="Create account").click()
    page.locator("#phone").wait_for(state="visible", timeout=WAIT_MS)


def register(page: Page, stack: WebStack, student_id: str, pin: str = "1234") -> None:
    """Create an account through the page's form and wait until the room is live."""
    open_app(page, stack)
    choose_create_account(page)
    page.locator("#login-form").get_by_label("Student ID").fill(student_id)
    page.locator("#login-form").get_by_label("PIN").fill(pin)
    page.locator("#login-form").get_by_label("Phone number").fill("+1 202-555-0143")
    page.get_by_role("button", name="Create account").click()
    wait_live(page)


def log_in(page: Page, stack: WebStack, student_id: str, pin: str = "1234") -> None:
    """Log a registered student in through the page's form and wait until the room is live."""
    open_app(page, stack)
    page.locator("#login-form").get_by_label("Student ID").fill(student_id)
    page.locator("#login-form").get_by_label("PIN").fill(pin)
    page.get_by_role("button", name="Log in", exact=True).click()
    wait_live(page)


def log_in_staff(page: Page, stack: WebStack, account: StaffAccount) -> None:
    """Log staff in through the page's "Staff login" form and wait until the room is live."""
    page.goto(stack.room_url())
    page.get_by_text("Staff login").click()
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Log in as staff").click()
    wait_live(page)


def wait_live(page: Page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#connection")).to_have_text("Live", timeout=WAIT_MS)


def card(page: Page, machine_id: str) -> Locator:
    return page.locator(f'li.card[data-machine="{machine_id}"]')


def claim(page: Page, machine_id: str, category: str = "normal") -> None:
    """Claim through the card's form (the cycle select, then Claim)."""
    machine = card(page, machine_id)
    machine.get_by_label("Cycle").select_option(category)
    machine.get_by_role("button", name="Claim:").click()


def notifications(page: Page) -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = page.evaluate("() => window.__notifications ?? []")
    return recorded


class StaffApi:
    """A staff member acting through the REST API (what another staff phone would do)."""

    def __init__(self, stack: WebStack, username: str = "api.staff") -> None:
        self.stack = stack
        self.account = stack.make_staff(username, "wash-room-staff-1")
        self.token = stack.log_in_staff(self.account)["access_token"]

    def out_of_service(self, machine_id: str, reason: str) -> dict[str, Any]:
        kind, number = machine_id.split("-")
        return self._post(f"/api/v1/machines/{kind}/{number}/out-of-service", {"reason": reason})

    def back_in_service(self, machine_id: str) -> dict[str, Any]:
        kind, number = machine_id.split("-")
        return self._post(f"/api/v1/machines/{kind}/{number}/back-in-service", {})

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.stack.base_url}{path}",
            params={"site": self.stack.site, "room": self.stack.room},
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert response.status_code == 200, f"POST {path}: {response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result


def claim_by_api(stack: WebStack, token: str, machine_id: str) -> httpx.Response:
    kind, number = machine_id.split("-")
    return httpx.post(
        f"{stack.base_url}/api/v1/machines/start",
        json={"machine_type": kind, "machine_id": int(number), "site": stack.site, "room": stack.room},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
