"""The API docs render with every request off this machine refused, as on a network without Internet."""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import Route

from tests.support.browser import LAPTOP, PageFactory
from tests.support.web_stack import WebStack


def test_api_docs_render_offline(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory(viewport=LAPTOP)
    refused: list[str] = []
    local = urlparse(web_stack.base_url).netloc

    def only_local(route: Route) -> None:
        if urlparse(route.request.url).netloc == local:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{web_stack.base_url}/api/docs")
    page.locator(".opblock").first.wait_for(timeout=15_000)
    assert page.locator(".opblock").count() > 10
    assert page.get_by_text("/api/v1/rooms").first.is_visible()
    assert not refused, f"the docs page asked the network for {refused}"
