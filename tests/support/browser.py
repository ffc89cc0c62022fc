"""Browser tests of the web app: Chromium via Playwright, pages on a phone or a laptop, axe checks, screenshots.

Chromium is the Debian package at ``/usr/bin/chromium`` (Playwright's own browser
download cannot work here); axe-core is vendored in ``tests/e2e/vendor``. The live stack
the pages talk to is ``tests.support.web_stack``; the fixtures are in ``tests/e2e/conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = ROOT / "tests" / "e2e" / "vendor" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
"""The axe rules run by default: WCAG 2.0, 2.1 and 2.2 at levels A and AA."""
SERIOUS = frozenset({"serious", "critical"})
PHONE = (360, 740)
LAPTOP = (1280, 800)
PHONE_MAX_WIDTH = 480
"""Viewports this wide or narrower are phones: mobile layout (meta viewport honoured) and touch."""
DEFAULT_TIMEOUT_MS = 10_000
"""Playwright's default for actions and waits is 30 s; a page that takes longer is broken."""


def browser_missing() -> str | None:
    """Why browser tests cannot run here, or None when Playwright and Chromium are both present."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install 'kywash[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


def launch_args() -> list[str]:
    """Chromium refuses to start its sandbox as root (containers, CI): turn it off only then."""
    return ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


def output_dir() -> Path:
    """Where screenshots go: ``$KYWASH_TEST_OUTPUT/e2e`` or ``<repo>/test-output/e2e`` (git-ignored)."""
    root = Path(os.environ.get("KYWASH_TEST_OUTPUT") or ROOT / "test-output")
    path = root / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save ``page`` as ``<output dir>/<name>.png``, print where, and return the path."""
    path = output_dir() / (name if name.endswith(".png") else f"{name}.png")
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")
    return path


# --- pages ------------------------------------------------------------------------------------


@dataclass
class PageLog:
    """What one page reported: uncaught errors (these fail the test) and console errors (kept to read)."""

    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


class PageFactory:
    """Opens pages, each in its own browser context (its own storage: one student each).

    ``factory()`` is a phone (360x740, touch); ``factory(viewport=(1280, 800))`` a laptop.
    Every page's uncaught errors are collected; ``close()`` closes every context.
    """

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.contexts: list[BrowserContext] = []
        self._logs: dict[int, tuple[Page, PageLog]] = {}
        self._errors: list[str] = []  # every page's, in the order they happened
        self._reported = 0

    def __call__(self, viewport: tuple[int, int] = PHONE, **context_options: Any) -> Page:
        """A new page at ``viewport`` in a fresh context; ``context_options`` go to ``new_context``."""
        width, height = viewport
        phone = width <= PHONE_MAX_WIDTH
        options: dict[str, Any] = {
            "viewport": {"width": width, "height": height},
            "is_mobile": phone,
            "has_touch": phone,
            "base_url": self.base_url,
            "locale": "en-US",
            "timezone_id": "UTC",
            **context_options,
        }
        context = self.browser.new_context(**options)
        self.contexts.append(context)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.grant_permissions(["notifications"], origin=self.base_url)
        context.on("page", self._watch_opened)  # popups and tabs the page opens
        page = context.new_page()
        self._watch(page)
        return page

    def log(self, page: Page) -> PageLog:
        """The errors ``page`` has reported so far."""
        return self._watch(page)

    @property
    def page_errors(self) -> list[str]:
        """Every uncaught error of every page so far."""
        return list(self._errors)

    def assert_no_page_errors(self) -> None:
        """Fail listing uncaught page errors not reported by an earlier call (teardown calls it too)."""
        errors = self.page_errors[self._reported :]
        self._reported += len(errors)
        assert not errors, "uncaught errors in the page:\n" + "\n".join(errors)

    def close(self) -> None:
        # A route handler still fetching when its context closes raises TargetClosedError
        # into whichever test runs next; dropping the routes first lets in-flight ones end.
        for context in self.contexts:
            for page in context.pages:
                page.unroute_all(behavior="ignoreErrors")
            context.unroute_all(behavior="ignoreErrors")
            context.close()
        self.contexts.clear()

    def _watch_opened(self, page: Page) -> None:
        self._watch(page)

    def _watch(self, page: Page) -> PageLog:
        known = self._logs.get(id(page))
        if known is not None:
            return known[1]
        log = PageLog()
        self._logs[id(page)] = (page, log)  # the page is kept so its id is never reused

        def on_error(error: Error) -> None:
            text = f"{page.url}: {error.name}: {error.message}\n{error.stack or ''}".rstrip()
            log.page_errors.append(text)
            self._errors.append(text)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                where = message.location
                log.console_errors.append(f"{where.get('url', '')}:{where.get('lineNumber', '')}: {message.text}")

        page.on("pageerror", on_error)
        page.on("console", on_console)
        return log


# --- accessibility ----------------------------------------------------------------------------

_RUN_AXE = """tags => axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
    .then(results => results.violations)"""


def check_accessibility(page: Page, tags: Sequence[str] = WCAG_TAGS) -> list[dict[str, Any]]:
    """axe-core's violations of ``tags`` on the page as it is now (axe's own result objects).

    Each has ``id``, ``impact`` (minor, moderate, serious, critical), ``help``,
    ``helpUrl`` and ``nodes`` (each with ``target``, a list of CSS selectors).
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))
        if not page.evaluate("() => typeof window.axe === 'object'"):
            raise RuntimeError(
                "axe-core did not load: a Content-Security-Policy may block inline scripts; "
                "open the page with page_factory(..., bypass_csp=True) for the check"
            )
    violations: list[dict[str, Any]] = page.evaluate(_RUN_AXE, list(tags))
    return violations


def serious_violations(violations: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v.get("impact") in SERIOUS]


def describe_violations(violations: Iterable[dict[str, Any]], *, max_targets: int = 5) -> str:
    """One line per violation: rule, impact, what is wrong, and the first few elements."""
    lines = []
    for violation in violations:
        targets = [" ".join(map(str, node.get("target", []))) for node in violation.get("nodes", [])]
        more = f" (+{len(targets) - max_targets} more)" if len(targets) > max_targets else ""
        lines.append(
            f"{violation['id']} ({violation.get('impact')}): {violation.get('help')}"
            f" -- {', '.join(targets[:max_targets])}{more}"
        )
    return "\n".join(lines)


def assert_no_serious_violations(page: Page, tags: Sequence[str] = WCAG_TAGS) -> list[dict[str, Any]]:
    """Fail listing every serious or critical violation and its elements; returns all violations."""
    violations = check_accessibility(page, tags)
    serious = serious_violations(violations)
    assert not serious, "serious accessibility violations (axe-core):\n" + describe_violations(serious)
    return violations
