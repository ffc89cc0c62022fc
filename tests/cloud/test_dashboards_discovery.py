"""Home Assistant discovery payloads, checked field by field against HA's documented schema.

From Home Assistant's MQTT documentation (integrations/mqtt, sensor.mqtt, binary_sensor.mqtt,
switch.mqtt): the discovery topic is ``<prefix>/<component>/[<node_id>/]<object_id>/config``
with ``node_id`` and ``object_id`` of ``[a-zA-Z0-9_-]``; a sensor and a binary sensor need
``state_topic``, a switch needs ``command_topic``; ``availability`` is a list of maps that
each need ``topic``; a ``device`` needs ``identifiers`` (or ``connections``). Keys may be
written in full or as the documented abbreviations; we write them in full, so every key
must be one of the documented full names.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from cloud.domain.dashboards.discovery import DiscoveredMachine, discovery_messages, machine_configs
from kywash.contract import decode_command, parse_topic

HA_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
TOPIC = re.compile(r"^homeassistant/(sensor|binary_sensor|switch)/([a-zA-Z0-9_-]+)/([a-zA-Z0-9_-]+)/config$")

COMMON = {
    "availability", "availability_mode", "availability_template", "availability_topic", "device",
    "enabled_by_default", "encoding", "entity_category", "entity_picture", "icon", "json_attributes_template",
    "json_attributes_topic", "name", "default_entity_id", "payload_available", "payload_not_available",
    "platform", "qos", "unique_id", "value_template",
}  # fmt: skip
DOCUMENTED = {
    "sensor": COMMON | {"state_topic", "device_class", "unit_of_measurement", "state_class", "expire_after",
                        "force_update", "last_reset_value_template", "suggested_display_precision", "options"},
    "binary_sensor": COMMON | {"state_topic", "device_class", "payload_on", "payload_off", "expire_after",
                               "force_update", "off_delay"},
    "switch": COMMON | {"command_topic", "command_template", "state_topic", "state_on", "state_off", "payload_on",
                        "payload_off", "optimistic", "retain", "device_class"},
}  # fmt: skip
REQUIRED = {"sensor": {"state_topic"}, "binary_sensor": {"state_topic"}, "switch": {"command_topic"}}
DEVICE_KEYS = {
    "identifiers", "connections", "name", "manufacturer", "model", "model_id", "sw_version", "hw_version",
    "serial_number", "suggested_area", "via_device", "configuration_url",
}  # fmt: skip
AVAILABILITY_KEYS = {"topic", "payload_available", "payload_not_available", "value_template"}
ABBREVIATIONS = {"avty", "avty_t", "cmd_t", "dev", "dev_cla", "ids", "json_attr_t", "name", "pl_on", "pl_off",
                 "stat_t", "uniq_id", "unit_of_meas", "val_tpl", "stat_cla", "opt", "ret"}  # fmt: skip

MACHINE = DiscoveredMachine("north", "laundry-1", "washer-2", "washer", 2, "by the window")
CONFIGS = discovery_messages([MACHINE], prefix="homeassistant", command_user="homeassistant")


def by_object(object_id: str) -> tuple[str, dict[str, Any]]:
    for topic, payload in CONFIGS:
        if topic.split("/")[3] == object_id:
            return topic.split("/")[1], json.loads(payload)
    raise KeyError(object_id)


@pytest.mark.parametrize(("topic", "payload"), CONFIGS, ids=[t.split("/", 2)[2] for t, _ in CONFIGS])
def test_every_config_follows_the_documented_schema(topic: str, payload: bytes) -> None:
    match = TOPIC.match(topic)
    assert match, f"{topic} is not <prefix>/<component>/<node_id>/<object_id>/config"
    component, node_id, object_id = match.groups()
    config = json.loads(payload)
    assert REQUIRED[component] <= set(config), f"{component} needs {REQUIRED[component]}"
    assert set(config) <= DOCUMENTED[component], f"undocumented keys: {set(config) - DOCUMENTED[component]}"
    assert not (set(config) - {"name"}) & ABBREVIATIONS, "full names only"
    assert HA_ID.match(config["unique_id"]) and config["unique_id"] == f"{node_id}_{object_id}"
    assert config["qos"] == 1 and isinstance(config["name"], str) and config["name"]
    device = config["device"]
    assert set(device) <= DEVICE_KEYS and device["identifiers"] == [node_id] and device["name"]
    for key in ("state_topic", "command_topic"):
        if key in config:
            parse_topic(config[key])  # a topic of our contract
    for entry in config.get("availability", []):
        assert set(entry) <= AVAILABILITY_KEYS and "topic" in entry
        assert parse_topic(entry["topic"]).leaf == "status"
        assert entry["value_template"] == "{{ value_json.status }}"  # status is JSON, not a bare word
        assert (entry["payload_available"], entry["payload_not_available"]) == ("online", "offline")


def test_unique_ids_differ_and_every_machine_gets_four_entities() -> None:
    other = DiscoveredMachine("north", "laundry-1", "dryer-1", "dryer", 1)
    both = discovery_messages([MACHINE, other], prefix="homeassistant", command_user="homeassistant")
    ids = [json.loads(payload)["unique_id"] for _, payload in both]
    assert len(ids) == len(set(ids)) == 8


def test_the_state_sensor_and_the_door() -> None:
    component, state = by_object("state")
    assert component == "sensor" and state["state_topic"].endswith("/machine/washer-2/state")
    assert state["value_template"] == "{{ 'finishing' if value_json.state == 'ending' else value_json.state }}"
    assert state["device_class"] == "enum" and "finishing" in state["options"] and "ending" not in state["options"]
    assert {"idle", "running", "paused", "finished", "door_open"} <= set(state["options"])
    component, door = by_object("door")
    assert component == "binary_sensor" and door["device_class"] == "door"
    assert (door["payload_on"], door["payload_off"]) == ("open", "closed")  # open door = on, as HA's door class
    assert door["value_template"] == "{{ value_json.door }}"


def test_the_current_sensor_reads_telemetry_in_amps() -> None:
    component, current = by_object("current")
    assert component == "sensor" and current["state_topic"].endswith("/machine/washer-2/telemetry")
    assert (current["device_class"], current["unit_of_measurement"], current["state_class"]) == (
        "current",
        "A",
        "measurement",
    )
    assert current["value_template"] == "{{ value_json.current_a }}"


def test_the_out_of_service_switch_commands_through_cmd_and_follows_desired() -> None:
    component, switch = by_object("out_of_service")
    assert component == "switch" and "availability" not in switch  # usable while the edge is away
    ref = parse_topic(switch["command_topic"])
    assert (ref.leaf, ref.machine, ref.user) == ("cmd", "washer-2", "homeassistant")
    assert decode_command(switch["payload_on"]).out_of_service is True
    assert decode_command(switch["payload_off"]).out_of_service is False
    assert parse_topic(switch["state_topic"]).leaf == "desired"
    # state_on/off must be set: they default to payload_on/off, which the template never yields
    assert (switch["state_on"], switch["state_off"]) == ("ON", "OFF")
    assert switch["value_template"] == "{{ 'ON' if value_json.out_of_service else 'OFF' }}"
    assert switch["optimistic"] is False and switch["retain"] is False


def test_the_command_user_and_prefix_are_settings() -> None:
    configs = machine_configs(MACHINE, "ha-staff")
    switch = next(config for component, _, config in configs if component == "switch")
    assert switch["command_topic"].endswith("/cmd/ha-staff")
    topics = [t for t, _ in discovery_messages([MACHINE], prefix="ha", command_user="x")]
    assert all(t.startswith("ha/") for t in topics)
