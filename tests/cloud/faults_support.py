"""Helpers for the fault tests: a registered room, reports, tiny images and live messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from tests.cloud.accounts_support import Account
from tests.cloud.fake_edge import FakeEdge

Feed = Callable[..., list[Any]]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(200)


def register(feed: Feed, edge: FakeEdge) -> None:
    """The room online, with its washers and dryer idle."""
    feed(edge.info(), edge.status(online=True), *(edge.state(m.id) for m in edge.machines))


def report(
    client: TestClient,
    account: Account | None,
    *,
    kind: str = "washer",
    number: int | str = 1,
    description: str = "It leaks water all over the floor",
    photo: tuple[str, bytes, str] | None = None,
    params: dict[str, str] | None = None,
    **form: str,
) -> Any:
    """POST /faults/report as ``account`` (None: anonymous); ``photo`` is (file name, bytes, type)."""
    data = {"machine_type": kind, "machine_id": str(number), "description": description, **form}
    files = {"photo": photo} if photo is not None else None
    headers = account.headers if account else {}
    return client.post("/api/v1/faults/report", data=data, files=files, params=params, headers=headers)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response failed with ``status`` and the one error body shape (and ``code``, if given)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def machine(client: TestClient, kind: str, number: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/machines/{kind}/{number}")
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown
