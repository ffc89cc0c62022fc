"""``docs/websocket.md`` against the models of what ``/api/ws`` sends, and real traffic against both.

Clients are written from the doc, so a field the doc forgets, or one it promises that the
server stopped sending, breaks a phone without breaking a server test. The wire is the
truth: a field is ``required`` in the doc exactly when the server always sends it (every
field of a model, except those it leaves out when empty), and each example must be what
the server would send, byte for byte once parsed.
"""

from __future__ import annotations

import enum
import json
import re
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel
from starlette.testclient import TestClient, WebSocketTestSession

from cloud.api.websocket_messages import SERVER_MESSAGES, ServerMessage
from cloud.domain.machines.schemas import MachinePublic, RoomPublic
from cloud.domain.notifications.send import notify
from kywash.clock import FakeClock
from kywash.contract import Door, EventType, MachineState
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.faults_support import report
from tests.cloud.laundry_support import Feed, open_room

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "websocket.md").read_text()
SHARED: dict[str, type[BaseModel]] = {"Room": RoomPublic, "Machine": MachinePublic}
"""The doc's shared objects (``$ref: "#Room"``) and the models the REST API names them by."""
MODELS: dict[str, type[BaseModel]] = {
    model.model_fields["type"].default: model for model in get_args(get_args(ServerMessage)[0])
}
DRAINED = "test_drained"
"""The type of the notification that marks the end of what a test step made a client hear."""


# --- reading the doc --------------------------------------------------------------------------


def _part(title: str) -> str:
    """The text of one ``## title`` part of the doc."""
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOC, re.MULTILINE | re.DOTALL)
    assert found, f"no '## {title}' in docs/websocket.md"
    return found.group(1)


def _sections(part: str) -> dict[str, str]:
    """``### heading`` -> its text (a backticked heading is a message type, without backticks)."""
    pieces = re.split(r"^### (.+)$", part, flags=re.MULTILINE)
    return {heading.strip("`"): body for heading, body in zip(pieces[1::2], pieces[2::2], strict=True)}


def _json_blocks(text: str) -> list[list[Any]]:
    """Each ```json block, as the JSON values it holds (an example block may hold several)."""
    blocks = []
    for block in re.findall(r"^```json\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        values, at, decoder = [], 0, json.JSONDecoder()
        while (at := _skip_space(block, at)) < len(block):
            value, at = decoder.raw_decode(block, at)
            values.append(value)
        blocks.append(values)
    return blocks


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


SERVER = _sections(_part("Messages from the server"))
SHARED_SCHEMAS: dict[str, dict[str, Any]] = {
    name: json.loads(block)
    for name, block in re.findall(r"^`(\w+)`.*?^```json\n(.*?)^```", SERVER["Shared objects"], re.M | re.S)
}
MESSAGES = {name: body for name, body in SERVER.items() if name != "Shared objects"}


# --- comparing a schema with a model ----------------------------------------------------------


def always_sent(model: type[BaseModel]) -> set[str]:
    """The fields every dump of ``model`` carries: all but those left out when empty."""
    return {name for name, field in model.model_fields.items() if field.exclude_if is None and not field.exclude}


def _members(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (itself, in a list, or or-null), if it holds one."""
    for member in _members(annotation):
        held = get_args(member)[0] if get_origin(member) is list else member
        if isinstance(held, type) and issubclass(held, BaseModel):
            return held
    return None


def allowed_values(annotation: Any, *, nullable: bool) -> set[Any] | None:
    """The values a Literal or enum field takes (None among them when ``nullable``); None if any."""
    values: set[Any] = set()
    for member in _members(annotation):
        if member is type(None):
            if nullable:
                values.add(None)
        elif get_origin(member) is Literal:
            values.update(get_args(member))
        elif isinstance(member, type) and issubclass(member, enum.Enum):
            values.update(item.value for item in member)
        else:
            return None
    return values


def _ref(prop: dict[str, Any]) -> str | None:
    target = prop.get("$ref") or prop.get("items", {}).get("$ref")
    return target.removeprefix("#") if target else None


def _inline_object(prop: dict[str, Any]) -> dict[str, Any] | None:
    if "properties" in prop:
        return prop
    for alternative in prop.get("oneOf", []) + prop.get("anyOf", []):
        if "properties" in alternative:
            return dict(alternative)
    return None


def _assert_same(documented: set[str], actual: set[str], what: str) -> None:
    missing, extra = sorted(actual - documented), sorted(documented - actual)
    assert not (missing or extra), f"{what}: the doc lacks {missing}, has too many {extra}"


def assert_describes(schema: dict[str, Any], model: type[BaseModel], where: str) -> None:
    """``schema`` (a doc block) names exactly ``model``'s fields, requires exactly those always
    sent, and lists the same values for Literal and enum fields; nested objects likewise."""
    properties = schema["properties"]
    _assert_same(set(properties), set(model.model_fields), f"{where}: properties vs {model.__name__}'s fields")
    _assert_same(set(schema.get("required", [])), always_sent(model), f"{where}: required vs always sent")
    for name, field in model.model_fields.items():
        prop, inner = properties[name], nested_model(field.annotation)
        if (ref := _ref(prop)) is not None:
            assert SHARED.get(ref) is inner, f"{where}.{name}: #{ref} is not {inner}"
            continue
        nested = _inline_object(prop)
        assert (nested is None) == (inner is None), f"{where}.{name}: an object in one, not the other"
        if nested is not None and inner is not None:
            assert_describes(nested, inner, f"{where}.{name}")
        allowed = allowed_values(field.annotation, nullable=field.exclude_if is None)
        documented = prop.get("enum", [prop["const"]] if "const" in prop else None)
        if allowed is not None and documented is not None:
            assert set(documented) == allowed, f"{where}.{name}: documented values {documented} != {allowed}"


def assert_as_sent(message: Any, where: str) -> None:
    """``message`` is one the server may send, exactly as it would send it."""
    parsed = SERVER_MESSAGES.validate_python(message)
    assert parsed.model_dump(mode="json") == message, f"{where}: not what the server would send"


# --- the doc ----------------------------------------------------------------------------------


def test_every_server_message_model_has_a_section_and_a_table_row_and_vice_versa() -> None:
    assert set(MESSAGES) == set(MODELS)
    table = set(re.findall(r"^\| \[`(\w+)`\]", _part("Messages from the server"), re.MULTILINE))
    assert table == set(MODELS)


def test_the_shared_objects_are_the_rest_apis() -> None:
    assert set(SHARED_SCHEMAS) == set(SHARED)
    for name, model in SHARED.items():
        assert_describes(SHARED_SCHEMAS[name], model, name)


@pytest.mark.parametrize("type_", sorted(MODELS))
def test_each_sections_schema_and_example_match_its_model(type_: str) -> None:
    blocks = _json_blocks(MESSAGES[type_])
    assert len(blocks) == 2, f"{type_}: a schema block, then an example block"
    (schema,), examples = blocks
    assert schema["properties"]["type"] == {"const": type_}
    assert_describes(schema, MODELS[type_], type_)
    assert examples, f"{type_}: no example"
    for example in examples:
        assert example["type"] == type_
        assert_as_sent(example, f"{type_}'s example")


def test_every_message_type_the_cloud_builds_by_hand_is_documented() -> None:
    """The models are documented (above); a dict with a ``type`` written in the source (the
    unrendered machine message, the client's ``auth`` in an error message) must be too."""
    built = {
        match
        for source in (ROOT / "cloud").rglob("*.py")
        for match in re.findall(r'\{\s*"type": "([a-z_]+)"', source.read_text())
    }
    documented = set(re.findall(r"^### `([a-z_]+)`$", DOC, re.MULTILINE))
    assert "machine" in built, "the scan still finds them"
    assert built <= documented, f"undocumented WebSocket messages: {sorted(built - documented)}"


def test_the_union_describes_itself_as_json_schema() -> None:
    """Anyone may generate a client from it: it must render."""
    schema = SERVER_MESSAGES.json_schema(mode="serialization")
    assert set(schema["discriminator"]["mapping"]) == set(MODELS)


# --- real traffic -----------------------------------------------------------------------------


class Listener:
    """One user's open socket and everything it has heard so far."""

    def __init__(self, client: TestClient, account: Account, socket: WebSocketTestSession) -> None:
        self.client, self.account, self.socket = client, account, socket
        self.heard: list[dict[str, Any]] = []

    def drain(self) -> None:
        """Read up to a notification sent now: the hub keeps each client's order, so by then
        this client has heard all that came before."""
        work: Callable[[Any], Any] = lambda tx: notify(tx, self.account.id, DRAINED, "drained", "")  # noqa: E731
        self.client.app.state.cloud.transactions.run(work)  # type: ignore[attr-defined]
        for _ in range(500):
            message: dict[str, Any] = self.socket.receive_json()
            self.heard.append(message)
            if message["type"] == "notification" and message["notification"]["type"] == DRAINED:
                return
        raise AssertionError(f"{self.account.login} never heard the end of the step")


@pytest.fixture
def listeners(
    client: TestClient, feed: Feed, edge: FakeEdge, fake_clock: FakeClock
) -> Iterator[tuple[Feed, dict[str, Account], list[Listener]]]:
    """An open room; staff following it, and two students (one to claim, one to wait) listening."""
    open_room(client, feed, edge, fake_clock)
    people = {
        "staff": make_account(client, "warden", role="staff"),
        "alice": make_account(client, "100001"),
        "bob": make_account(client, "100002"),
        "carol": make_account(client, "100003"),
    }
    room = f"?site={edge.site}&room={edge.room}"
    with (
        client.websocket_connect(f"/api/ws{room}", headers=people["staff"].headers) as staff_ws,
        client.websocket_connect("/api/ws", headers=people["alice"].headers) as alice_ws,
        client.websocket_connect("/api/ws", headers=people["carol"].headers) as carol_ws,
    ):
        sockets = {"staff": staff_ws, "alice": alice_ws, "carol": carol_ws}
        yield feed, people, [Listener(client, people[name], socket) for name, socket in sockets.items()]


def test_every_message_real_traffic_brings_is_one_the_models_describe(
    client: TestClient, edge: FakeEdge, listeners: tuple[Feed, dict[str, Account], list[Listener]]
) -> None:
    feed, people, heard_by = listeners

    def post(path: str, body: dict[str, Any], who: str, expect: int = 200) -> None:
        response = client.post(f"/api/v1{path}", json=body, headers=people[who].headers)
        assert response.status_code == expect, response.text

    def washer_1(type_: EventType, state: MachineState, minutes: float) -> None:
        idle = state in (MachineState.FINISHED, MachineState.DOOR_OPEN)
        door = Door.OPEN if state is MachineState.DOOR_OPEN else Door.CLOSED
        feed(edge.event("washer-1", type_, state, minutes=minutes, door=door, current_a=0.0 if idle else 9.5))

    def step() -> None:
        for listener in heard_by:
            listener.drain()

    feed(edge.status(online=False))  # the room goes silent and comes back
    feed(edge.status(online=True), *(edge.state(m.id) for m in edge.machines))
    step()

    post("/machines/start", {"machine_type": "washer", "machine_id": 1}, "alice", 201)
    post("/machines/start", {"machine_type": "washer", "machine_id": 2}, "bob", 201)
    washer_1(EventType.CYCLE_STARTED, MachineState.RUNNING, minutes=1)
    feed(edge.event("washer-2", EventType.CYCLE_STARTED, MachineState.RUNNING, minutes=1))
    post("/waitlist/join", {"machine_type": "washer"}, "carol", 201)
    step()

    washer_1(EventType.CYCLE_FINISHED, MachineState.FINISHED, minutes=30)
    washer_1(EventType.CYCLE_CONTINUED, MachineState.RUNNING, minutes=33)  # not done after all
    washer_1(EventType.CYCLE_FINISHED, MachineState.FINISHED, minutes=50)
    washer_1(EventType.DOOR_OPENED, MachineState.DOOR_OPEN, minutes=51)  # free: held for carol
    step()

    made = report(client, people["alice"], kind="dryer", number=1)
    assert made.status_code == 201
    post(f"/faults/{made.json()['id']}/status", {"status": "acknowledged", "note": "on it"}, "staff")
    post("/machines/dryer/1/out-of-service", {"reason": "lint fire"}, "staff")
    post("/machines/dryer/1/back-in-service", {}, "staff")
    feed(edge.event("dryer-1", EventType.SENSOR_FAULT, MachineState.SENSOR_FAULT, minutes=60, current_a=0.0))  # alarm
    step()

    heard = [message for listener in heard_by for message in listener.heard]
    for number, message in enumerate(heard):
        assert_as_sent(message, f"message {number} ({message.get('type')})")
    assert {message["type"] for message in heard} == set(MODELS), "the traffic covers every type"
    personal = {
        (message["type"], message.get("position") is not None, message.get("machine", {}).get("mine"))
        for message in heard
        if message["type"] in ("waitlist", "machine")
    }
    assert ("waitlist", True, None) in personal and ("machine", False, True) in personal, "rendered per client"
