"""End to end: a door or current change in the simulated room reaches a WebSocket client.

Every part is real: gpiozero mock pins and a pty serial port into the edge agent, its
SQLite outbox, paho over the broker (amqtt and Mosquitto), the cloud's ingest and
database, and the WebSocket at ``/api/ws`` — logged in, as a student's phone is.
"""

from __future__ import annotations

import socket
from pathlib import Path

from tests.conftest import BrokerHandle
from tests.support.live import live_system, machine_update, next_matching


def sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cloud.db'}"


def test_door_and_current_changes_arrive_as_websocket_messages(
    any_broker: BrokerHandle, tmp_path: Path, unique_site: str
) -> None:
    with live_system(any_broker.url, sqlite(tmp_path), tmp_path, unique_site, speed=60) as live:
        room = live.room
        with live.connect_ws() as ws:
            snapshot = next_matching(ws, lambda m: m.get("type") == "snapshot")
            assert {m["id"] for m in snapshot["machines"]} >= {"washer-1", "dryer-6"}

            room.sim.open_door("dryer-3")
            next_matching(ws, machine_update("dryer-3", door="open", state="door_open"))
            room.sim.close_door("dryer-3")
            next_matching(ws, machine_update("dryer-3", door="closed", state="idle", usage="free"))

            room.sim.set_current("washer-2", 11.5)
            running = next_matching(ws, machine_update("washer-2", state="running"), timeout=20)
            assert running["machine"]["room_online"] is True
            nobody_claimed_it = {"usage": "in_use", "in_use_by": "unknown", "mine": False, "claim": None}
            assert {k: running["machine"][k] for k in nobody_claimed_it} == nobody_claimed_it


def test_an_edge_that_drops_off_shows_unknown_then_recovers(
    any_broker: BrokerHandle, tmp_path: Path, unique_site: str
) -> None:
    """The broker's Last Will turns the room's machines to "unknown since", never "free"."""
    with live_system(any_broker.url, sqlite(tmp_path), tmp_path, unique_site, speed=60) as live:
        room = live.room
        with live.connect_ws() as ws:
            next_matching(ws, lambda m: m.get("type") == "snapshot")
            link = room.agent.publisher.client.socket()
            assert link is not None
            link.shutdown(socket.SHUT_RDWR)  # the Wi-Fi drops: no DISCONNECT, so the broker sends the Will

            gone = next_matching(ws, machine_update("washer-1", state="unknown"), timeout=20)
            assert gone["machine"]["unknown_since"] is not None
            assert (gone["machine"]["room_online"], gone["machine"]["usage"]) == (False, "unknown")

            back = next_matching(ws, machine_update("washer-1", state="idle", usage="free"), timeout=30)
            assert back["machine"]["room_online"] is True
