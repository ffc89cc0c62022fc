"""The session in the browser: a reload stays logged in, an access token the server refuses
is refreshed exactly once however many calls hit the 401 at the same time, tokens never
appear in a URL, and logging out ends the session on the server and forgets it here."""

from __future__ import annotations

import httpx
from playwright.sync_api import Request, WebSocket, expect

from tests.e2e.web_steps import WAIT_MS, register, wait_live
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack


def test_reload_refresh_once_and_logout(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory()
    urls: list[str] = []
    refreshes: list[Request] = []
    logouts: list[Request] = []

    def on_request(request: Request) -> None:
        urls.append(request.url)
        if request.url.endswith("/api/v1/auth/refresh"):
            refreshes.append(request)
        if request.url.endswith("/api/v1/auth/logout"):
            logouts.append(request)

    def on_socket(ws: WebSocket) -> None:
        urls.append(ws.url)

    page.on("request", on_request)
    page.on("websocket", on_socket)
    register(page, web_stack, "600001")

    page.reload()
    wait_live(page)
    expect(page.locator("#account-name")).to_have_text("Student 600001")
    assert refreshes == []

    # The server refuses the access token: every call that meets the 401 shares one refresh.
    page.evaluate("() => localStorage.setItem('kywash.access_token', 'not-a-token')")
    page.reload()
    wait_live(page)
    page.get_by_role("link", name="Alerts").click()
    expect(page.locator("#notes-empty")).to_be_visible(timeout=WAIT_MS)
    assert len(refreshes) == 1, [r.url for r in refreshes]

    tokens = page.evaluate(
        "() => [localStorage.getItem('kywash.access_token'), localStorage.getItem('kywash.refresh_token')]"
    )
    assert all(tokens) and tokens[0] != "not-a-token"
    assert not [u for u in urls if any(t in u for t in tokens)], "a token appeared in a URL"

    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#view-login")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#action-status")).to_have_text("You are logged out.")
    assert len(logouts) == 1
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.includes('token'))") == []
    dead = httpx.post(f"{web_stack.base_url}/api/v1/auth/refresh", json={"refresh_token": tokens[1]}, timeout=10)
    assert dead.status_code == 401, dead.text

    page.reload()  # still logged out after a reload
    expect(page.locator("#view-login")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#account-bar")).to_be_hidden()
