"""The demo's stand-in for the student who claimed a machine on the web app.

In the demo nobody is in the laundry room, so a claim made on the page would wait for a
machine that never starts and expire. This watches what the cloud tells the edge (the
retained ``desired`` state of each machine carries the live claim's category) and, a few
seconds after a machine gains a claim, unloads it if a finished load is inside, loads it,
closes the door and presses start with the claim's extra minutes: what the student would
do, seen by the edge through the same simulated door switch and current sensor.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Final
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firmware_sim.room import RoomSimulator
from kywash.contract import ContractError, MachineDesired, decode_message, machine_topic

log = logging.getLogger(__name__)

WALK_S: Final = 4.0
"""Real seconds from the claim to the machine starting: long enough to see the claim pending."""


LOADING_S: Final = 1.0
"""Real seconds the door stays open while the load goes in."""


class ClaimedMachineLoader:
    def __init__(self, sim: RoomSimulator, site: str, room: str, broker_url: str, *, walk_s: float = WALK_S) -> None:
        self._sim, self._walk_s = sim, walk_s
        self._filter = machine_topic(site, room, "any", "desired").replace("/any/", "/+/")
        self._claimed: dict[str, str] = {}  # machine → the claim category last seen
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"kywash-demo-hands-{site}-{room}")
        self._client.on_connect = lambda client, *_: client.subscribe(self._filter, qos=1)
        self._client.on_message = self._on_message
        where = urlsplit(broker_url)
        self._host, self._port = where.hostname or "127.0.0.1", where.port or 1883
        self.started: list[str] = []

    def start(self) -> ClaimedMachineLoader:
        self._client.connect(self._host, self._port)
        self._client.loop_start()
        return self

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()
        with self._lock:
            for timer in self._timers:
                timer.cancel()

    def __enter__(self) -> ClaimedMachineLoader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            _, desired = decode_message(message.topic, message.payload)
        except ContractError as exc:
            log.warning("demo: ignoring a desired message on %s: %s", message.topic, exc)
            return
        if not isinstance(desired, MachineDesired):
            return
        with self._lock:
            before = self._claimed.pop(desired.machine, None)
            if desired.claim_category is None or desired.out_of_service:
                return
            self._claimed[desired.machine] = desired.claim_category
            if before is not None:  # the same claim, republished
                return
            timer = threading.Timer(self._walk_s, self._load, (desired.machine, desired.claim_extra_minutes))
            timer.daemon = True
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
            timer.start()

    def _load(self, machine_id: str, extra_minutes: int) -> None:
        with self._lock:
            if machine_id not in self._claimed:  # cancelled or expired meanwhile
                return
        sim = self._sim
        if sim.machine_state(machine_id) == "running":
            return
        if not sim.door_is_open(machine_id):
            sim.open_door(machine_id)  # take out what is inside, put the claimed load in
            time.sleep(LOADING_S)
        sim.close_door(machine_id)
        if sim.start_cycle(machine_id, extra_minutes=extra_minutes):
            log.info("demo: loaded and started %s for the student who claimed it", machine_id)
            self.started.append(machine_id)
