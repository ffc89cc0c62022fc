"""Bad input never gets a 500 or a stack trace: any JSON body, any bytes, any path value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge

JSON_ENDPOINTS = [
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/staff/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("PUT", "/api/v1/profile/update"),
    ("POST", "/api/v1/machines/start"),
    ("POST", "/api/v1/machines/cancel"),
    ("POST", "/api/v1/machines/end"),
    ("POST", "/api/v1/waitlist/join"),
    ("POST", "/api/v1/waitlist/leave"),
    ("POST", "/api/v1/faults/1/resolve"),
    ("POST", "/api/v1/machines/washer/1/out-of-service"),
]
GET_PATHS = [
    "/api/v1/machines/{v}/1",
    "/api/v1/machines/washer/{v}",
    "/api/v1/waitlist/{v}",
    "/api/v1/faults/{v}/photo",
    "/api/v1/faults/washer/{v}",
    "/api/v1/notifications/?before={v}",
    "/api/v1/activities/user/{v}",
    "/api/v1/activities/?limit={v}",
    "/api/v1/machines/?site={v}",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=15), inner, max_size=5),
    max_leaves=12,
)
FIELDS = ["student_id", "pin", "phone_number", "machine_type", "machine_id", "category", "room", "site"]
plausible = st.fixed_dictionaries({}, optional={f: json_values for f in [*FIELDS, "refresh_token", "reason"]})


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Account]]:
    tmp = tmp_path_factory.mktemp("bad-input")
    settings = CloudSettings(
        database_url=f"sqlite:///{tmp / 'c.db'}", ingest_enabled=False, timer_loop=False, photo_dir=str(tmp / "p")
    )
    with TestClient(create_app(settings, clock=FakeClock()), raise_server_exceptions=False) as client:
        edge = FakeEdge(site="fuzz")
        ingest = client.app.state.cloud.ingest  # type: ignore[attr-defined]
        assert client.portal is not None
        for topic, payload in (edge.info(), edge.status(), *(edge.state(m.id) for m in edge.machines)):
            client.portal.call(ingest.handle, topic, payload)
        yield client, make_account(client, "warden", role="staff")


def refused_cleanly(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
        assert "Traceback" not in response.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(JSON_ENDPOINTS), body=json_values | plausible)
def test_any_json_body_is_refused_cleanly(
    app_client: tuple[TestClient, Account], endpoint: tuple[str, str], body: Any
) -> None:
    client, staff = app_client
    method, path = endpoint
    refused_cleanly(client.request(method, path, json=body, headers=staff.headers))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(JSON_ENDPOINTS), raw=st.binary(max_size=200))
def test_any_bytes_are_refused_cleanly(
    app_client: tuple[TestClient, Account], endpoint: tuple[str, str], raw: bytes
) -> None:
    client, staff = app_client
    method, path = endpoint
    headers = {**staff.headers, "Content-Type": "application/json"}
    refused_cleanly(client.request(method, path, content=raw, headers=headers))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(GET_PATHS), value=st.text(st.characters(blacklist_categories=["Cs"]), max_size=40))
def test_any_path_or_query_value_is_refused_cleanly(
    app_client: tuple[TestClient, Account], path: str, value: str
) -> None:
    from urllib.parse import quote

    client, staff = app_client
    refused_cleanly(client.get(path.format(v=quote(value, safe="")), headers=staff.headers))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.dictionaries(
        st.sampled_from(["machine_type", "machine_id", "description", "room"]), st.text(max_size=20)
    ),
    photo=st.none() | st.binary(max_size=300),
)
def test_any_fault_form_is_refused_cleanly(
    app_client: tuple[TestClient, Account], fields: dict[str, str], photo: bytes | None
) -> None:
    client, staff = app_client
    files = {"photo": ("x.jpg", photo)} if photo is not None else None
    refused_cleanly(client.post("/api/v1/faults/report", data=fields, files=files, headers=staff.headers))
