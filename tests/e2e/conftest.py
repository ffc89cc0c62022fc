"""Browser-test fixtures: Chromium, a live stack to point it at, and pages on a phone or a laptop.

``chromium_browser`` skips when Playwright or ``/usr/bin/chromium`` is missing, and fails
instead when ``KYWASH_REQUIRE_SERVICES=1`` (CI). Tests that use it are marked ``browser``
automatically (``-m "not browser"`` leaves them out).

The browser lives for this package only, not the session: while Playwright's sync API is
started, the main thread counts as inside a running event loop, so a later test's
``asyncio.run()`` would fail. Browser tests therefore belong in ``tests/e2e``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import BrokerHandle, service_missing
from tests.support.browser import CHROMIUM, PageFactory, browser_missing, launch_args
from tests.support.browser import assert_no_serious_violations as _assert_no_serious_violations
from tests.support.browser import check_accessibility as _check_accessibility
from tests.support.browser import save_screenshot as _save_screenshot
from tests.support.web_stack import WebStack, start_web_stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "chromium_browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def chromium_browser() -> Iterator[Browser]:
    """Headless Chromium (``/usr/bin/chromium``) driven by Playwright's sync API."""
    if (reason := browser_missing()) is not None:
        service_missing(reason)
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=launch_args())
        except Error as exc:
            service_missing(f"Chromium did not start: {exc.message.splitlines()[0]}")
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def start_web_stack_for(
    amqtt_broker: BrokerHandle, tmp_path: Path, unique_site: str
) -> Iterator[Callable[..., WebStack]]:
    """Start a stack with other settings: ``start_web_stack_for(speed=10, hold_minutes=60)``; closed at teardown."""
    stacks: list[WebStack] = []
    with ExitStack() as stack:

        def start(*, speed: float = 60.0, **settings: Any) -> WebStack:
            n = len(stacks)
            data_dir = tmp_path / f"stack-{n}"
            data_dir.mkdir()
            site = f"{unique_site}{n or ''}"
            started = stack.enter_context(start_web_stack(amqtt_broker.url, data_dir, site, speed=speed, **settings))
            stacks.append(started)
            return started

        yield start


@pytest.fixture
def web_stack(start_web_stack_for: Callable[..., WebStack]) -> WebStack:
    """The cloud and room ``room-1`` on the embedded broker, the clock at 60x; see ``WebStack``."""
    return start_web_stack_for()


@pytest.fixture
def page_factory(chromium_browser: Browser, web_stack: WebStack) -> Iterator[PageFactory]:
    """``page_factory(viewport=(360, 740), **context_options) -> Page``, each in its own context.

    Relative URLs resolve against ``web_stack.base_url``; notifications are granted. The
    test fails (at teardown) if any page threw an uncaught error.
    """
    factory = PageFactory(chromium_browser, web_stack.base_url)
    try:
        yield factory
    finally:
        factory.close()
    factory.assert_no_page_errors()


@pytest.fixture
def check_accessibility() -> Callable[..., list[dict[str, Any]]]:
    """``check_accessibility(page, tags=WCAG_TAGS) -> violations`` (axe-core result dicts)."""
    return _check_accessibility


@pytest.fixture
def assert_no_serious_violations() -> Callable[..., list[dict[str, Any]]]:
    """``assert_no_serious_violations(page)``: fails listing serious/critical violations and their elements."""
    return _assert_no_serious_violations


@pytest.fixture
def save_screenshot() -> Callable[..., Path]:
    """``save_screenshot(page, name) -> Path``: a full-page PNG in ``test-output/e2e/`` (path printed)."""
    return _save_screenshot
