"""Reading a Starlette TestClient WebSocket until a message of a given type arrives."""

from __future__ import annotations

from typing import Any


def next_of(ws: Any, type_: str, limit: int = 50) -> dict[str, Any]:
    """The next message of ``type_``, skipping up to ``limit`` others."""
    for _ in range(limit):
        message: dict[str, Any] = ws.receive_json()
        if message["type"] == type_:
            return message
    raise AssertionError(f"no {type_} message among {limit}")


def next_machine(ws: Any, machine_id: str, limit: int = 50, **fields: Any) -> dict[str, Any]:
    """The machine view in the next ``machine`` message for ``machine_id`` whose fields match."""
    for _ in range(limit):
        body = next_of(ws, "machine", limit)["machine"]
        if body["id"] == machine_id and all(body.get(k) == v for k, v in fields.items()):
            found: dict[str, Any] = body
            return found
    raise AssertionError(f"no machine message for {machine_id} with {fields} among {limit}")
