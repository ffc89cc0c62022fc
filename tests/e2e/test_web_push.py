"""Web Push from the page's side: "Enable alerts" subscribes with the server's VAPID key and
hands ``subscription.toJSON()`` to the server, which then pushes "your wash is done" to the
browser's push service; logging out deletes the subscription and unsubscribes.

A headless browser has no push service, so ``pushManager`` is replaced by a stand-in that
returns the subscription a real browser would (keys from ``tests.cloud.push_support``),
pointing at a fake push service that records what the cloud sends.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.cloud.push_support import Browser, FakePushService, unb64url
from tests.e2e.web_steps import WAIT_MS, card, claim, register
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack

FAKE_PUSH_MANAGER = """
(() => {
  const made = %s;
  window.__push = { subscribed: 0, unsubscribed: 0, key: null };
  let current = null;
  const subscription = {
    endpoint: made.endpoint,
    options: { applicationServerKey: null },
    toJSON: () => made,
    unsubscribe: async () => { window.__push.unsubscribed += 1; current = null; return true; },
  };
  PushManager.prototype.subscribe = async function (options) {
    window.__push.subscribed += 1;
    window.__push.key = Array.from(new Uint8Array(options.applicationServerKey));
    subscription.options.applicationServerKey = options.applicationServerKey;
    current = subscription;
    return subscription;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""


@pytest.fixture
def web_stack(start_web_stack_for: Callable[..., WebStack], tmp_path: Path) -> WebStack:
    return start_web_stack_for(claim_confirm_minutes=30, vapid_key_path=str(tmp_path / "vapid.pem"))


def test_alerts_subscribe_to_web_push_and_logout_unsubscribes(web_stack: WebStack, page_factory: PageFactory) -> None:
    keys = Browser()
    with FakePushService() as service:
        page = page_factory()
        page.context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(keys.subscription(service.url("/push/1"))))
        register(page, web_stack, "700001")
        page.get_by_role("link", name="Alerts").click()
        page.get_by_role("button", name="Enable alerts").click()
        expect(page.locator("#alerts-state")).to_have_text(
            "Alerts are on for this device, also when the page is closed.", timeout=WAIT_MS
        )
        server_key = httpx.get(f"{web_stack.base_url}/api/v1/push/key", timeout=10).json()["public_key"]
        assert bytes(page.evaluate("() => window.__push.key")) == unb64url(server_key)

        page.get_by_role("link", name="Room").click()
        claim(page, "washer-5")
        web_stack.run_cycle("washer-5")
        deadline = time.monotonic() + WAIT_MS / 1000
        pushes: list[dict[str, object]] = []
        while not any(p.get("type") == "cycle_finished" for p in pushes):
            assert time.monotonic() < deadline, f"no cycle_finished push; received {pushes}"
            pushes = [keys.decrypt(r.body) for r in list(service.received)]
            page.wait_for_timeout(100)
        done = next(p for p in pushes if p["type"] == "cycle_finished")
        assert (done["title"], done["url"]) == ("Your wash is done", "/")
        assert isinstance(done["id"], int)
        expect(card(page, "washer-5")).to_have_attribute("data-usage", "finished", timeout=WAIT_MS)

        page.get_by_role("button", name="Log out").click()
        expect(page.locator("#view-login")).to_be_visible(timeout=WAIT_MS)
        assert page.evaluate("() => window.__push.unsubscribed") == 1
        token = web_stack.log_in_student("700001")["access_token"]
        gone = httpx.request(
            "DELETE",
            f"{web_stack.base_url}/api/v1/push/subscriptions",
            json={"endpoint": service.url("/push/1")},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert gone.status_code == 404, "the page did not delete its subscription on logout"
