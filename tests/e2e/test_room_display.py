"""The laundry room's wall display, in a real browser: every machine on one screen in landscape
and portrait (nothing cut off or overlapping), live changes without a reload, the edge going
silent said honestly, reconnecting by itself, no personal data in its frames, and axe-clean."""

from __future__ import annotations

import json
import math
import re
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocket, expect

from tests.e2e.web_steps import WAIT_MS, StaffApi, register
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack

LANDSCAPE = (1920, 1080)
PORTRAIT = (1080, 1920)
PERSONAL_KEYS = {"mine", "claim", "reserved_for_me", "in_use_by", "hold_until", "user_id", "student_id",
                 "phone_number", "position", "reporter", "claim_user_id", "hold_user_id"}  # fmt: skip
BOXES = """() => [...document.querySelectorAll(
    '.tile, .tile-name, .tile-state, .tile-detail, .tile .qr, .d-stat, .d-repairs, .d-top, .d-hint'
  )].filter((el) => el.getClientRects().length).map((el) => {
    const r = el.getBoundingClientRect();
    const t = el.closest('.tile')?.getBoundingClientRect();
    const inTile = !t || (r.left >= t.left - 0.5 && r.right <= t.right + 0.5
                          && r.top >= t.top - 0.5 && r.bottom <= t.bottom + 0.5);
    return {what: el.className + ' ' + (el.closest('.tile')?.dataset.machine ?? ''),
            tile: el.classList.contains('tile'), left: r.left, top: r.top, right: r.right, bottom: r.bottom,
            cut: !inTile || (el.scrollWidth > el.clientWidth + 1 && !el.classList.contains('tile'))};
  })"""


def display_url(stack: WebStack) -> str:
    return f"{stack.base_url}/display/{stack.site}/{stack.room}"


def open_display(page: Page, stack: WebStack) -> None:
    page.goto(display_url(stack))
    expect(page.locator("#d-connection")).to_have_text("Live", timeout=WAIT_MS)
    expect(page.locator(".tile")).to_have_count(len(stack.machines()), timeout=WAIT_MS)


def tile(page: Page, machine_id: str) -> Any:
    return page.locator(f'.tile[data-machine="{machine_id}"]')


def assert_on_one_screen(page: Page, width: int, height: int) -> None:
    boxes: list[dict[str, Any]] = page.evaluate(BOXES)
    assert boxes, "nothing on the screen"
    for box in boxes:
        assert box["left"] >= 0 and box["top"] >= 0, f"{box['what']} starts off screen: {box}"
        assert box["right"] <= width + 0.5 and box["bottom"] <= height + 0.5, f"{box['what']} is cut off: {box}"
    tiles = [b for b in boxes if b["tile"]]
    for i, a in enumerate(tiles):
        for b in tiles[i + 1 :]:
            side_by_side = a["right"] <= b["left"] or b["right"] <= a["left"]
            stacked = a["bottom"] <= b["top"] or b["bottom"] <= a["top"]
            assert side_by_side or stacked, f"{a['what']} overlaps {b['what']}"
    cut = [b["what"] for b in boxes if b["cut"]]
    assert not cut, f"text cut off in {cut}"
    scroll = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert scroll[0] <= width and scroll[1] <= height, f"the page scrolls: {scroll}"


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
def test_every_machine_fits_on_the_screen(
    viewport: tuple[int, int],
    web_stack: WebStack,
    page_factory: PageFactory,
    assert_no_serious_violations: Callable[..., object],
    save_screenshot: Callable[..., Path],
) -> None:
    web_stack.start_cycle("washer-2")  # a machine in use shows its time left
    StaffApi(web_stack).out_of_service("dryer-4", "Drum belt snapped; the engineer comes on Monday morning")
    page = page_factory(viewport=viewport)
    open_display(page, web_stack)
    expect(page.locator("#d-repairs li")).to_have_count(1)
    expect(page.locator("#d-repairs")).to_contain_text("Dryer 4 — out of service: Drum belt snapped")
    expect(tile(page, "dryer-4").locator(".tile-state")).to_have_text("Out of service")
    for machine in web_stack.machines():
        expect(tile(page, machine["id"])).to_be_visible()
        expect(tile(page, machine["id"]).locator("img.qr")).to_have_js_property("complete", True)
    expect(tile(page, "washer-2")).to_have_attribute("data-usage", "in_use")
    expect(tile(page, "washer-2").locator(".tile-detail")).to_have_text(re.compile(r"about \d+ min left|Finishing"))
    assert_on_one_screen(page, *viewport)
    assert_no_serious_violations(page)
    save_screenshot(page, f"display-{viewport[0]}x{viewport[1]}", full_page=False)


def test_a_live_change_reaches_the_display_with_no_personal_data(
    web_stack: WebStack, page_factory: PageFactory
) -> None:
    frames: list[str] = []

    def watch(ws: WebSocket) -> None:
        if "/api/ws/display/" in ws.url:
            ws.on("framereceived", lambda data: frames.append(data if isinstance(data, str) else data.decode()))

    student = page_factory()
    register(student, web_stack, "500001")  # a student in the room, whose claim the display must not name
    student.locator('li.card[data-machine="dryer-1"]').get_by_role("button", name="Claim:").click()
    web_stack.wait_for_machine("dryer-1", usage="claimed")

    page = page_factory(viewport=LANDSCAPE)
    page.on("websocket", watch)
    open_display(page, web_stack)
    expect(tile(page, "dryer-1")).to_have_attribute("data-usage", "claimed")
    expect(tile(page, "washer-3")).to_have_attribute("data-usage", "free")
    free_before = page.locator("#washers-free").inner_text()

    web_stack.start_cycle("washer-3")  # a simulated machine starts: no reload
    expect(tile(page, "washer-3")).to_have_attribute("data-usage", "in_use", timeout=WAIT_MS)
    expect(tile(page, "washer-3").locator(".tile-state")).to_have_text("In use")
    expect(page.locator("#washers-free")).to_have_text(str(int(free_before) - 1))

    assert frames, "no WebSocket frames captured"
    messages = [json.loads(frame) for frame in frames]
    assert messages[0]["type"] == "snapshot"
    assert any(m["type"] == "machine" and m["machine"]["id"] == "washer-3" for m in messages)
    keys = _keys(messages)
    assert not keys & PERSONAL_KEYS, f"personal fields on the display: {keys & PERSONAL_KEYS}"
    assert all("500001" not in frame and "5550143" not in frame for frame in frames)


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for inner in value.values() for key in _keys(inner)}
    if isinstance(value, list):
        return {key for inner in value for key in _keys(inner)}
    return set()


def test_a_silent_edge_shows_sensors_silent_since(
    web_stack: WebStack, page_factory: PageFactory, save_screenshot: Callable[..., Path]
) -> None:
    page = page_factory(viewport=PORTRAIT)
    open_display(page, web_stack)
    link = web_stack.simulated_room.agent.publisher.client.socket()
    assert isinstance(link, socket.socket)
    link.shutdown(socket.SHUT_RDWR)  # no DISCONNECT: the broker sends the edge's Will

    expect(page.locator("#d-silent")).to_contain_text("Sensors silent since", timeout=WAIT_MS)
    expect(tile(page, "washer-1")).to_have_attribute("data-usage", "unknown", timeout=WAIT_MS)
    expect(tile(page, "washer-1").locator(".tile-detail")).to_contain_text(re.compile(r"sensors silent since \d"))
    expect(page.locator("#washers-free")).to_have_text("?")
    assert_on_one_screen(page, *PORTRAIT)  # the banner takes its row; the tiles still fit
    save_screenshot(page, "display-silent-1080x1920", full_page=False)
    expect(tile(page, "washer-1")).to_have_attribute("data-usage", "free", timeout=30_000)  # the edge is back
    expect(page.locator("#d-silent")).to_be_hidden(timeout=WAIT_MS)


def test_the_display_reconnects_by_itself(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory(viewport=LANDSCAPE)
    open_display(page, web_stack)
    web_stack.wait_for_websockets(1)
    assert web_stack.close_websockets() == 1
    expect(page.locator("#d-connection")).to_contain_text("Reconnecting", timeout=WAIT_MS)
    expect(page.locator("#d-connection")).to_have_text("Live", timeout=WAIT_MS)
    web_stack.start_cycle("dryer-2")  # and changes flow on the new socket
    expect(tile(page, "dryer-2")).to_have_attribute("data-usage", "in_use", timeout=WAIT_MS)


def test_an_unknown_room_says_so(web_stack: WebStack, page_factory: PageFactory) -> None:
    page = page_factory(viewport=LANDSCAPE)
    page.goto(f"{web_stack.base_url}/display/{web_stack.site}/no-such-room")
    expect(page.locator("#d-connection")).to_contain_text(f"No room {web_stack.site}/no-such-room", timeout=WAIT_MS)


def test_the_display_counts_time_left_on_the_servers_clock(web_stack: WebStack, page_factory: PageFactory) -> None:
    """The stack's clock runs 60x: a screen counting on its own clock between snapshots would
    fall a minute behind every real second (the snapshot's ``rate`` says how fast to count)."""
    web_stack.start_cycle("washer-2")
    page = page_factory(viewport=LANDSCAPE)
    open_display(page, web_stack)
    detail = tile(page, "washer-2").locator(".tile-detail")
    expect(detail).to_have_text(re.compile(r"about \d+ min left"), timeout=WAIT_MS)
    page.wait_for_timeout(8_000)  # eight simulated minutes, with no new snapshot
    end = datetime.fromisoformat(web_stack.machine("washer-2")["expected_end"]).timestamp()
    on_the_server = max(0, math.ceil((end - web_stack.clock.now()) / 60))
    shown = re.search(r"about (\d+) min left", detail.inner_text())
    assert shown is not None and abs(int(shown[1]) - on_the_server) <= 2, (detail.inner_text(), on_the_server)
