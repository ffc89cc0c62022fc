"""In the demo a claim made on the page is loaded and started by a stand-in student.

Nobody is in the demo's laundry room, so before this a claimed machine never started and
the claim expired. ``ClaimedMachineLoader`` (what ``kywash demo`` runs) plays the student.
"""

from __future__ import annotations

from playwright.sync_api import expect

from launchers.demo_hands import ClaimedMachineLoader
from tests.e2e.web_steps import WAIT_MS, card, claim, register
from tests.support.browser import PageFactory
from tests.support.web_stack import WebStack


def test_a_demo_claim_is_loaded_and_started_by_the_simulator(web_stack: WebStack, page_factory: PageFactory) -> None:
    room = web_stack.simulated_room
    with ClaimedMachineLoader(room.sim, web_stack.site, web_stack.room, room.config.broker.url, walk_s=0.5):
        page = page_factory()
        register(page, web_stack, "100201")
        washer = card(page, "washer-3")
        expect(washer).to_have_attribute("data-usage", "free", timeout=WAIT_MS)
        claim(page, "washer-3", "extra_5")
        expect(washer).to_have_attribute("data-usage", "in_use", timeout=WAIT_MS)  # nobody touched the simulator
        expect(washer.locator(".state-label")).to_have_text("In use — yours")
        assert web_stack.simulated_room.sim.machine_state("washer-3") == "running"
        expect(card(page, "washer-4")).to_have_attribute("data-usage", "free")  # only the claimed one
