"""Freshness and time left on every card, the room's one-line summary, and the alert before
the end, in Chromium on a fast stack: a student who does not hold the claim sees "About N min
left" and "updated … ago" on a running machine, the summary line is at the top of the room,
and choosing "5 minutes before" in the profile brings the in-app notification."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.web_steps import (
    RECORD_NOTIFICATIONS,
    WAIT_MS,
    StaffApi,
    card,
    claim,
    notifications,
    open_app,
    register,
)
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack

SPEED = 180.0
"""Three simulated minutes a real second: a washer's estimated 45 minutes reach their last 5 in ~13 s."""
NOW = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def web_stack(start_web_stack_for: Callable[..., WebStack]) -> WebStack:
    """Claims may wait two simulated hours for the sensors (40 real seconds at this speed); the
    timers look every 0.2 s (36 simulated seconds), so the alert comes close to its minute."""
    return start_web_stack_for(speed=SPEED, claim_confirm_minutes=120, timer_interval_s=0.2)


def machine(kind: str, usage: str, ends_in_min: float | None = None, **extra: Any) -> dict[str, Any]:
    end = None if ends_in_min is None else (NOW + timedelta(minutes=ends_in_min)).isoformat()
    return {"kind": kind, "usage": usage, "expected_end": end, "reserved_for_me": False, **extra}


W, D = "washer", "dryer"
SUMMARY_CASES = [
    ([machine(W, "free"), machine(W, "free"), machine(D, "in_use", 6)], "2 washers free · dryers: next in ~6 min"),
    ([machine(W, "free"), machine(D, "free")], "1 washer free · 1 dryer free"),
    ([machine(W, "in_use", 12), machine(W, "in_use", 5.5), machine(W, "out_of_service")], "washers: next in ~6 min"),
    ([machine(W, "in_use", None), machine(W, "finished")], "washers: none free, no estimate"),
    ([machine(D, "in_use", -2)], "dryers: next any minute"),
    ([machine(W, "unknown"), machine(D, "free")], "washers: unknown (sensors silent) · 1 dryer free"),
    ([machine(W, "reserved"), machine(W, "reserved", reserved_for_me=True)], "1 washer free"),
    ([machine(W, "reserved"), machine(W, "in_use", 3)], "washers: next in ~3 min"),
    ([], ""),
]

SUMMARY_OF = """async ([cases, now]) => {
  const { summaryLine, summaryParts } = await import("/static/summary_line.js");
  return cases.map((machines) => summaryLine(summaryParts(machines, Date.parse(now))));
}"""


def test_the_summary_line_of_machine_views(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory()
    open_app(page, web_stack)
    lines = page.evaluate(SUMMARY_OF, [[machines for machines, _ in SUMMARY_CASES], NOW.isoformat()])
    assert lines == [line for _, line in SUMMARY_CASES]


def choose_alert(page: Page, minutes: str) -> None:
    page.locator("#tab-profile").click()
    expect(page.locator("#profile-who")).to_contain_text("Student ID", timeout=WAIT_MS)  # loaded: it sets the choice
    page.get_by_label("Alert before the end").select_option(label=minutes)
    page.get_by_role("button", name="Save alert").click()
    expect(page.locator("#action-status")).to_contain_text("minutes before the end", timeout=WAIT_MS)
    page.locator("#tab-room").click()


LATER = "() => { const real = performance.now.bind(performance); performance.now = () => real() + 6 * 60_000; }"
"""Six real minutes later, for the page's clock only."""


def test_time_left_and_freshness_to_everyone_the_summary_on_top_and_the_alert_before_the_end(
    web_stack: WebStack, page_factory: PageFactory, assert_no_serious_violations: Callable[..., Any]
) -> None:
    alice, bob = page_factory(), page_factory()
    alice.context.add_init_script(RECORD_NOTIFICATIONS)
    register(alice, web_stack, "100001")
    register(bob, web_stack, "100002")
    choose_alert(alice, "5 minutes before")

    summary = bob.locator("#room-summary")
    expect(summary).to_have_text(re.compile(r"^\d+ washers free · \d+ dryers free$"), timeout=WAIT_MS)
    claim(alice, "washer-1")
    expect(card(alice, "washer-1")).to_have_attribute("data-usage", "claimed", timeout=WAIT_MS)
    web_stack.start_cycle("washer-1")

    seen = card(bob, "washer-1")  # Bob does not hold the claim
    expect(seen).to_have_attribute("data-usage", "in_use", timeout=WAIT_MS)
    expect(seen.locator(".detail .time-left")).to_have_text(re.compile(r"About \d+ min left"))
    expect(seen.locator(".observed")).to_have_text(re.compile(r"^updated \d+ (s|min|h) ago$"))
    first = seen.locator(".observed").text_content()
    # 6 real minutes pass for the page (6 server hours at the stack's 60x, counted from the snapshot's
    # server_time and rate): no server message needed
    bob.evaluate(
        "() => { window.__perf = performance.now.bind(performance); performance.now = () => window.__perf() + 36e4; }"
    )
    expect(seen.locator(".observed")).not_to_have_text(first or "", timeout=WAIT_MS)  # it ticks by itself
    expect(seen.locator(".observed")).to_have_text(re.compile(r"^updated \d+ (min|h) ago$"))
    bob.evaluate("() => { performance.now = window.__perf; }")

    others = [m["id"] for m in web_stack.machines() if m["kind"] == "washer" and m["id"] != "washer-1"]
    staff = StaffApi(web_stack)
    for machine_id in others:  # now no washer is free: the room says when the next one should be
        staff.out_of_service(machine_id, "descaling")
    expect(summary).to_have_text(re.compile(r"^washers: next in ~\d+ min · \d+ dryers free$"), timeout=WAIT_MS)
    queue = bob.locator('.waitlist-row[data-kind="washer"]')
    expect(queue).to_contain_text(re.compile(r"No washer is free right now\. Next washer free in about \d+ min\."))

    top = summary.bounding_box()
    washers = bob.locator("#washers").bounding_box()
    assert top is not None and washers is not None and top["y"] < washers["y"], (top, washers)
    assert_no_serious_violations(bob)

    note = alice.locator('#notes li[data-type="ending_soon"]')
    alice.locator("#bell").click()
    # "5 minutes left", or what is really left when a busy machine's timer round came a simulated minute late
    said = re.compile(r"^[1-5] minutes? left on washer 1$")
    expect(note.locator("strong")).to_have_text(said, timeout=3 * WAIT_MS)
    recorded = [n["title"] for n in notifications(alice)]
    assert len([title for title in recorded if said.match(title)]) == 1, recorded
