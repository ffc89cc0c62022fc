"""The browser tests' stack and pages do what their fixtures promise (the web app itself is not tested here)."""

from __future__ import annotations

import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.browser import PageFactory
from tests.support.live import bearer
from tests.support.web_stack import WebStack


@pytest.mark.parametrize("machine_id", ["washer-2", "dryer-4"])
def test_run_cycle_goes_running_then_finished_in_the_cloud(web_stack: WebStack, machine_id: str) -> None:
    began = time.monotonic()
    running = web_stack.start_cycle(machine_id)
    assert (running["state"], running["usage"]) == ("running", "in_use")
    finished = web_stack.finish_cycle(machine_id)
    assert finished["state"] == "finished"
    print(f"{machine_id}: a cycle in {time.monotonic() - began:.1f} real s at speed {web_stack.speed:g}")
    web_stack.sim.open_door(machine_id)  # the laundry comes out
    web_stack.wait_for_machine(machine_id, state="door_open")


def test_accounts_staff_from_the_cli_function_and_students_through_the_api(web_stack: WebStack) -> None:
    staff = web_stack.make_staff("night.porter", "a-long-staff-password")
    assert web_stack.log_in_staff(staff)["access_token"]
    registered = web_stack.register_student("314159")
    assert registered["access_token"] and registered["refresh_token"]
    assert web_stack.log_in_student("314159")["access_token"]


def test_close_websockets_closes_with_1012_and_clients_may_reconnect(web_stack: WebStack) -> None:
    token = web_stack.register_student("271828")["access_token"]
    ws_url = web_stack.base_url.replace("http", "ws", 1) + f"/api/ws?site={web_stack.site}&room={web_stack.room}"
    with connect(ws_url, additional_headers=bearer(token)) as ws:
        assert '"snapshot"' in str(ws.recv(timeout=10))
        web_stack.wait_for_websockets(1)
        assert web_stack.close_websockets() == 1
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    with connect(ws_url, additional_headers=bearer(token)) as ws:
        assert '"snapshot"' in str(ws.recv(timeout=10))
        web_stack.wait_for_websockets(1)


def test_two_pages_are_two_students_with_their_own_storage(web_stack: WebStack, page_factory: PageFactory) -> None:
    alice, bob = page_factory(), page_factory(viewport=(1280, 800))
    for page in (alice, bob):
        page.goto("/static/style.css")  # any page of the origin; relative to web_stack.base_url
    alice.evaluate("() => localStorage.setItem('who', 'alice')")
    assert bob.evaluate("() => localStorage.getItem('who')") is None
    assert alice.evaluate("() => [screen.width, navigator.maxTouchPoints > 0]") == [360, True]
    assert bob.evaluate("() => [screen.width, navigator.maxTouchPoints > 0]") == [1280, False]
    assert alice.evaluate("() => Notification.permission") == "granted"
    alice.evaluate("() => setTimeout(() => { throw new Error('boom') }, 0)")
    alice.wait_for_timeout(200)
    with pytest.raises(AssertionError, match="boom"):
        page_factory.assert_no_page_errors()
