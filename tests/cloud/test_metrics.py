"""``GET /metrics`` as Prometheus scrapes it: the figures an operator watches move when real
requests, WebSocket clients and MQTT messages go through the app (README, "Operator metrics")."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from cloud.processes.timers import fire_due
from kywash.clock import FakeClock
from kywash.contract import EventType, MachineState
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge

Feed = Callable[..., list[Any]]
Labels = dict[str, str]
LATENCY = "kywash_http_request_duration_seconds"


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition: (name, labels) -> value."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests_seen(client: TestClient, method: str, route: str, status: str) -> float:
    return value(scrape(client), f"{LATENCY}_count", method=method, route=route, status=status)


def test_request_latency_is_counted_by_route_template_method_and_status(client: TestClient) -> None:
    machine = "/api/v1/machines/{kind}/{number}"
    before = scrape(client)
    for _ in range(3):
        client.get("/api/v1/machines/")
    client.get("/api/v1/machines/washer/2")  # no such machine: a 404, counted under the template
    client.get("/no/such/page/12345")
    after = scrape(client)

    def grew(**labels: str) -> float:
        return value(after, f"{LATENCY}_count", **labels) - value(before, f"{LATENCY}_count", **labels)

    assert grew(method="GET", route="/api/v1/machines/", status="2xx") == 3
    assert grew(method="GET", route=machine, status="4xx") == 1
    assert grew(method="GET", route="<unmatched>", status="4xx") == 1
    assert not any("12345" in dict(labels).get("route", "") for _, labels in after)  # raw paths mint no series
    assert value(after, f"{LATENCY}_bucket", method="GET", route="/api/v1/machines/", status="2xx", le="+Inf") >= 3
    assert value(after, f"{LATENCY}_sum", method="GET", route="/api/v1/machines/", status="2xx") > 0


def test_a_post_is_counted_apart_from_a_get(client: TestClient) -> None:
    login = "/api/v1/auth/login"
    client.post(login, json={"student_id": "123456", "pin": "0000"})
    assert requests_seen(client, "POST", login, "4xx") == 1
    assert requests_seen(client, "GET", login, "4xx") == 0


def test_websocket_clients_are_the_connections_open_now(client: TestClient) -> None:
    assert value(scrape(client), "kywash_websocket_clients") == 0
    alice, bob = make_account(client, "111111"), make_account(client, "222222")
    with client.websocket_connect("/api/ws", headers=alice.headers) as first:
        first.receive_json()
        with client.websocket_connect("/api/ws", headers=bob.headers) as second:
            second.receive_json()
            assert value(scrape(client), "kywash_websocket_clients") == 2
        wait_for(lambda: value(scrape(client), "kywash_websocket_clients") == 1)
    wait_for(lambda: value(scrape(client), "kywash_websocket_clients") == 0)


def test_messages_ingested_events_applied_duplicates_and_rejections(
    client: TestClient, feed: Feed, edge: FakeEdge
) -> None:
    before = scrape(client)
    started = edge.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING)
    feed(edge.info(), edge.status(), started, started)  # the second: a redelivery
    feed(edge.raw("washer-1", "state", b"not json"))
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("kywash_ingest_messages_total", kind="event") == 1
    assert grew("kywash_ingest_messages_total", kind="duplicate") == 1
    assert grew("kywash_ingest_messages_total", kind="info") == 1
    assert grew("kywash_ingest_rejected_total", reason="not_json") == 1


def test_an_open_gap_shows_until_the_replay_fills_it_and_requests_are_counted(
    client: TestClient, feed: Feed, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    state: Any = client.app.state.cloud  # type: ignore[attr-defined]
    state.source = _Recorder()
    feed(edge.info(), edge.event("washer-1", seq=1), edge.event("washer-1", seq=3))
    assert value(scrape(client), "kywash_sequence_gap_rooms") == 1

    fake_clock.advance(state.settings.replay_after_s + 1)
    fire_due(state.transactions, state.ingest.metrics)
    samples = scrape(client)
    assert value(samples, "kywash_ingest_replay_requests_total") == 1
    assert value(samples, "kywash_sequence_gap_oldest_seconds") >= state.settings.replay_after_s

    feed(edge.event("washer-1", EventType.CYCLE_STARTED, seq=2))  # the replayed event
    samples = scrape(client)
    assert value(samples, "kywash_sequence_gap_rooms") == 0
    assert value(samples, "kywash_sequence_gap_oldest_seconds") == 0
    state.source = None


class _Recorder:
    """Stands in for the MQTT connection, so a replay request has somewhere to go."""

    connected = True

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        pass

    async def close(self) -> None:
        pass


def wait_for(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.02)


def test_the_readme_table_names_every_metric_and_every_kind_and_reason(client: TestClient) -> None:
    from pathlib import Path

    from cloud.processes.ingest_metrics import ACCEPTED_KINDS, REJECT_REASONS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("### Operator metrics", 1)[1].split("\n## ", 1)[0]
    families = {family.name for family in text_string_to_metric_families(client.get("/metrics").text)}
    ours = {
        name
        for name in families
        if name.startswith("kywash_") and not name.startswith("kywash_push_") and not name.endswith("_created")
    }
    missing = {name for name in ours if f"`{name}" not in table}  # counters are listed with _total
    assert not missing, f"add to the README's metrics table: {sorted(missing)}"
    rows = {line.split("|")[1].strip(" `"): line for line in table.splitlines() if line.startswith("| `kywash_")}
    assert all(f"`{kind}`" in rows["kywash_ingest_messages_total"] for kind in ACCEPTED_KINDS)
    assert all(f"`{reason}`" in rows["kywash_ingest_rejected_total"] for reason in REJECT_REASONS)


def test_a_client_cannot_mint_label_values(client: TestClient) -> None:
    for n in range(3):
        client.request(f"BREW{n}", f"/no/such/pot-{n}")
    samples = scrape(client)
    seen = {dict(labels).get("method") for name, labels in samples if name == f"{LATENCY}_count"}
    assert not any(method and method.startswith("BREW") for method in seen)
    assert value(samples, f"{LATENCY}_count", method="OTHER", route="<unmatched>", status="4xx") == 3
