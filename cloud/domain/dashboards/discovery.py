"""Home Assistant MQTT discovery: each machine appears in Home Assistant with no configuration.

One device per machine (``KY Wash north/laundry-1 washer-2``) with four entities, each
discovered on ``homeassistant/<component>/<node_id>/<object_id>/config`` (retained):

=================  =============  ===========================================================
component          object_id      reads / writes
=================  =============  ===========================================================
``sensor``         ``state``      the machine's retained ``state`` (``value_json.state``; an enum
                                 sensor, ``ending`` shown as ``finishing``: see ``STATE_OPTIONS``)
``binary_sensor``  ``door``       the same topic's ``door`` (device class ``door``: on = open)
``sensor``         ``current``    ``telemetry``'s ``current_a`` (device class ``current``, A)
``switch``         ``out_of_service``  writes ``cmd/<ha_command_user>``; state from ``desired``
=================  =============  ===========================================================

``node_id`` is ``kywash_<site>_<room>_<machine>`` (ids are already ``[a-z0-9_-]``). The
sensors are available while the room's retained ``status`` says ``online``; it is JSON, so
``availability`` uses a ``value_template``. The switch has no availability: the cloud takes
a request while the room's edge is away, and the edge converges when it returns. Full key
names are used throughout (Home Assistant accepts them as well as the abbreviations).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection

import kywash
from cloud.platform.storage import repository as repo
from kywash.contract import MachineState, command_topic, machine_topic, room_topic

COMPONENTS: Final = ("sensor", "binary_sensor", "switch")
SHOWN_STATE: Final = {MachineState.ENDING.value: "finishing"}
"""States Home Assistant shows under another name: ``ending`` (quiet, maybe done, not yet
surely) is "finishing", still in use; only ``finished`` means done."""
STATE_OPTIONS: Final = tuple(SHOWN_STATE.get(s.value, s.value) for s in MachineState)
"""The state sensor's ``options`` (an ``enum`` sensor): every state, as shown."""
STATE_TEMPLATE: Final = "{{ 'finishing' if value_json.state == 'ending' else value_json.state }}"
"""``value_json.state`` with ``SHOWN_STATE`` applied."""
KIND_ICONS: Final = {"washer": "mdi:washing-machine", "dryer": "mdi:tumble-dryer"}
HA_ON: Final = "ON"
HA_OFF: Final = "OFF"


@dataclass(frozen=True, slots=True)
class DiscoveredMachine:
    site: str
    room: str
    machine: str
    kind: str
    number: int
    label: str | None = None


def node_id(m: DiscoveredMachine) -> str:
    return f"kywash_{m.site}_{m.room}_{m.machine}"


def config_topic(prefix: str, component: str, m: DiscoveredMachine, object_id: str) -> str:
    return f"{prefix}/{component}/{node_id(m)}/{object_id}/config"


def _device(m: DiscoveredMachine) -> dict[str, Any]:
    return {
        "identifiers": [node_id(m)],
        "name": f"KY Wash {m.site}/{m.room} {m.machine}",
        "manufacturer": "KY Wash",
        "model": f"{m.kind} {m.number}" + (f" ({m.label})" if m.label else ""),
        "sw_version": kywash.__version__,
        "suggested_area": m.room,
    }


def _availability(m: DiscoveredMachine) -> list[dict[str, str]]:
    return [
        {
            "topic": room_topic(m.site, m.room, "status"),
            "value_template": "{{ value_json.status }}",
            "payload_available": "online",
            "payload_not_available": "offline",
        }
    ]


def machine_configs(m: DiscoveredMachine, command_user: str) -> list[tuple[str, str, dict[str, Any]]]:
    """``(component, object_id, config)`` of the machine's four entities."""
    state = machine_topic(m.site, m.room, m.machine, "state")
    base = {"device": _device(m), "qos": 1}
    uid = node_id(m)
    sensors: dict[str, Any] = {**base, "availability": _availability(m)}
    switch_payload = {True: {"out_of_service": True, "reason": "Home Assistant"}, False: {"out_of_service": False}}
    return [
        ("sensor", "state", {
            **sensors, "name": "State", "unique_id": f"{uid}_state", "state_topic": state,
            "value_template": STATE_TEMPLATE, "device_class": "enum", "options": list(STATE_OPTIONS),
            "icon": KIND_ICONS.get(m.kind, "mdi:washing-machine"),
        }),
        ("binary_sensor", "door", {
            **sensors, "name": "Door", "unique_id": f"{uid}_door", "state_topic": state,
            "value_template": "{{ value_json.door }}", "payload_on": "open", "payload_off": "closed",
            "device_class": "door",
        }),
        ("sensor", "current", {
            **sensors, "name": "Current", "unique_id": f"{uid}_current",
            "state_topic": machine_topic(m.site, m.room, m.machine, "telemetry"),
            "value_template": "{{ value_json.current_a }}", "device_class": "current",
            "unit_of_measurement": "A", "state_class": "measurement",
        }),
        ("switch", "out_of_service", {
            **base, "name": "Out of service", "unique_id": f"{uid}_out_of_service",
            "command_topic": command_topic(m.site, m.room, m.machine, command_user),
            "payload_on": json.dumps(switch_payload[True], separators=(",", ":")),
            "payload_off": json.dumps(switch_payload[False], separators=(",", ":")),
            "state_topic": machine_topic(m.site, m.room, m.machine, "desired"),
            "value_template": f"{{{{ '{HA_ON}' if value_json.out_of_service else '{HA_OFF}' }}}}",
            "state_on": HA_ON, "state_off": HA_OFF, "optimistic": False, "retain": False,
            "icon": "mdi:wrench",
        }),
    ]  # fmt: skip


def discovery_messages(
    found: Iterable[DiscoveredMachine], *, prefix: str, command_user: str
) -> list[tuple[str, bytes]]:
    """Retained discovery configs of every machine in ``found``."""
    out = []
    for m in found:
        for component, object_id, config in machine_configs(m, command_user):
            out.append((config_topic(prefix, component, m, object_id), json.dumps(config).encode()))
    return out


def machines_to_discover(conn: Connection, room_ids: list[int] | None = None) -> list[DiscoveredMachine]:
    return [
        DiscoveredMachine(room.site, room.room, m.machine_id, m.kind, m.number, m.label)
        for room, m in repo.machines_with_rooms(conn, room_ids=room_ids)
    ]
