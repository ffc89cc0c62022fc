"""Connections that drop: the page's WebSocket (it says so, reconnects with backoff and
catches up on what changed meanwhile from the fresh snapshot, without a reload), and the
room's edge (its machines show as unknown since when, never as free)."""

from __future__ import annotations

import re
import socket
import threading

from playwright.sync_api import WebSocketRoute, expect

from tests.e2e.web_steps import WAIT_MS, StaffApi, card, register, wait_live
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack


def test_after_a_dropped_socket_the_page_reconnects_and_shows_what_it_missed(
    web_stack: WebStack, page_factory: PageFactory
) -> None:
    staff = StaffApi(web_stack)
    page = page_factory()
    # A gate in front of the page's sockets (set before the page loads, as Playwright needs):
    # open, sockets go through to the server; shut, new ones are refused at once.
    let_in = threading.Event()
    let_in.set()
    refused: list[str] = []

    def gate(ws: WebSocketRoute) -> None:
        if let_in.is_set():
            ws.connect_to_server()
        else:
            refused.append(ws.url)
            ws.close(code=1013, reason="not yet")

    page.route_web_socket(re.compile(r"/api/ws"), gate)
    register(page, web_stack, "400001")
    web_stack.wait_for_websockets(1)
    dryer = card(page, "dryer-2")
    expect(dryer).to_have_attribute("data-usage", "free")

    let_in.clear()
    assert web_stack.close_websockets() == 1
    expect(page.locator("#connection")).to_contain_text("Reconnecting", timeout=WAIT_MS)
    expect(page.locator("#connection")).to_have_class(re.compile(r"\boffline\b"))

    staff.out_of_service("dryer-2", "Drum belt snapped")  # happens while the page is away
    web_stack.wait_for_machine("dryer-2", usage="out_of_service")
    expect(page.locator("#connection")).to_contain_text("Reconnecting")
    expect(dryer).to_have_attribute("data-usage", "free")  # not told yet
    for _ in range(WAIT_MS // 100):  # Playwright runs the gate only while we call into it
        if refused:
            break
        page.wait_for_timeout(100)
    assert refused, "the page never tried to reconnect while refused"

    let_in.set()
    page.context.set_offline(True)  # the phone drops off the network and comes back:
    page.context.set_offline(False)  # the "online" event skips the rest of the backoff
    wait_live(page)
    expect(dryer).to_have_attribute("data-usage", "out_of_service", timeout=WAIT_MS)
    expect(dryer.locator(".detail")).to_contain_text("Drum belt snapped")

    staff.back_in_service("dryer-2")  # and live messages flow again on the new socket
    expect(dryer).to_have_attribute("data-usage", "free", timeout=WAIT_MS)


def test_a_silent_room_shows_unknown_since_never_free(web_stack: WebStack, page_factory: PageFactory) -> None:
    """The edge's Wi-Fi drops (no goodbye: the broker sends its Last Will): every card says
    unknown with since when, a banner explains, and all comes back when the edge does."""
    page = page_factory()
    register(page, web_stack, "400002")
    washer = card(page, "washer-4")
    expect(washer).to_have_attribute("data-usage", "free")

    link = web_stack.simulated_room.agent.publisher.client.socket()
    assert isinstance(link, socket.socket)
    link.shutdown(socket.SHUT_RDWR)  # no DISCONNECT: the broker sends the edge's Will

    expect(washer).to_have_attribute("data-usage", "unknown", timeout=WAIT_MS)
    expect(washer.locator(".state-label")).to_have_text("Unknown")
    expect(washer.locator(".detail")).to_contain_text("Sensors silent since")
    expect(washer.get_by_role("button", name="Claim:")).to_have_count(0)
    expect(page.locator("#room-banner")).to_contain_text("have been silent since", timeout=WAIT_MS)

    expect(washer).to_have_attribute("data-usage", "free", timeout=30_000)  # the agent reconnects by itself
    expect(page.locator("#room-banner")).to_be_hidden(timeout=WAIT_MS)


def test_a_running_machines_live_current_reaches_its_card(web_stack: WebStack, page_factory: PageFactory) -> None:
    """The edge's telemetry (every 30 simulated seconds, QoS 0) is ingested: a running machine's
    card says what it draws, and follows the draw as it changes with no state change between."""
    page = page_factory()
    register(page, web_stack, "400003")
    dryer = card(page, "dryer-3")
    expect(dryer).to_have_attribute("data-usage", "free")
    expect(dryer.locator(".current")).to_have_text("")

    web_stack.start_cycle("dryer-3", amps=7.5)
    expect(dryer).to_have_attribute("data-usage", "in_use", timeout=WAIT_MS)
    expect(dryer.locator(".current")).to_have_text(re.compile(r"drawing 7\.5 A"), timeout=WAIT_MS)
    web_stack.sim.set_current("dryer-3", 11.2)  # still running: only telemetry carries the new draw
    expect(dryer.locator(".current")).to_have_text(re.compile(r"drawing 11\.2 A"), timeout=WAIT_MS)
    assert web_stack.machine("dryer-3")["state"] == "running"
