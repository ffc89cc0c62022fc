"""A claim shows about when its cycle ends: the machine's typical cycle, learnt from the
lengths of the cycles it finished, plus the category's extra minutes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from cloud.domain.machines.cycle_length import (
    PLAUSIBLE_S,
    USUAL_CYCLE_S,
    claim_expected_end,
    cycle_expected_end,
    expected_end,
    next_typical,
)
from kywash.clock import FakeClock
from kywash.contract import Door, EventType, MachineState
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Room, open_room

T = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("previous", "cycle", "typical"),
    [
        (None, None, None),  # nothing learnt yet
        (None, 2400.0, 2400.0),  # the first cycle is the estimate
        (2400.0, 3400.0, 2700.0),  # then a moving average: 30% of the newest
        (2400.0, 20.0, 2400.0),  # a test spin does not count
        (2400.0, 9 * 3600.0, 2400.0),  # nor a machine stuck for hours
        (2400.0, None, 2400.0),
    ],
)
def test_the_typical_cycle_follows_finished_ones(
    previous: float | None, cycle: float | None, typical: float | None
) -> None:
    learnt = next_typical(previous, cycle)
    assert learnt is None if typical is None else learnt == pytest.approx(typical)


@given(
    st.floats(min_value=PLAUSIBLE_S[0], max_value=PLAUSIBLE_S[1]),
    st.floats(min_value=PLAUSIBLE_S[0], max_value=PLAUSIBLE_S[1]),
)
def test_the_average_stays_between_the_old_estimate_and_the_new_cycle(previous: float, cycle: float) -> None:
    typical = next_typical(previous, cycle)
    assert typical is not None
    assert min(previous, cycle) - 1e-6 <= typical <= max(previous, cycle) + 1e-6


@pytest.mark.parametrize(
    ("kind", "status", "category", "started", "typical", "end"),
    [
        ("washer", "active", "normal", T, None, T + timedelta(seconds=USUAL_CYCLE_S["washer"])),
        ("dryer", "active", "normal", T, None, T + timedelta(seconds=USUAL_CYCLE_S["dryer"])),
        ("washer", "active", "extra_10", T, 1800.0, T + timedelta(minutes=40)),
        ("washer", "pending", "normal", None, 1800.0, None),  # not started yet: no end
        ("washer", "finished", "normal", T, 1800.0, None),  # over: nothing to count down
        ("washer", "active", "from_the_future", T, 1800.0, T + timedelta(minutes=30)),
    ],
)
def test_a_claim_expects_its_end_only_while_it_runs(
    kind: str, status: str, category: str, started: datetime | None, typical: float | None, end: datetime | None
) -> None:
    assert claim_expected_end(kind, status, category, started, typical) == end
    assert expected_end(kind, None, typical) is None


def test_the_edges_expected_end_wins_and_the_estimate_is_the_fallback() -> None:
    edge = T + timedelta(minutes=52)
    assert claim_expected_end("washer", "active", "extra_10", T, 1800.0, edge) == edge  # its minutes included
    assert claim_expected_end("washer", "finished", "normal", T, 1800.0, edge) is None
    assert cycle_expected_end("washer", edge_end=edge, started_at=None, typical_s=None) == (edge, "edge")
    estimate = cycle_expected_end("dryer", edge_end=None, started_at=T, typical_s=None, extra=5)
    assert estimate == (T + timedelta(seconds=USUAL_CYCLE_S["dryer"], minutes=5), "estimate")
    assert cycle_expected_end("washer", edge_end=None, started_at=None, typical_s=1800.0) == (None, None)


@pytest.fixture
def room(db_client: TestClient, db_feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(db_client, db_feed, edge, fake_clock)


def _end(room: Room, headers: dict[str, str]) -> timedelta:
    claim = room.machine("washer", 1, headers)["claim"]
    started, expected = (datetime.fromisoformat(claim[k]) for k in ("started_at", "expected_end"))
    return expected - started


def test_a_running_claim_shows_its_end_from_the_machines_own_cycles(room: Room) -> None:
    alice = make_account(room.client, "100001")
    claim = {"machine_type": "washer", "machine_id": 1}
    assert room.post("/machines/start", {**claim, "category": "extra_5"}, alice.headers).status_code == 201
    assert room.machine("washer", 1, alice.headers)["claim"]["expected_end"] is None  # pending
    room.sensors("washer-1", "start")
    assert _end(room, alice.headers) == timedelta(seconds=USUAL_CYCLE_S["washer"], minutes=5)

    done = (EventType.CYCLE_FINISHED, MachineState.FINISHED)
    room.feed(room.edge.event("washer-1", *done, door=Door.CLOSED, current_a=0.0, cycle_seconds=1800.0))
    room.sensors("washer-1", "open")
    room.sensors("washer-1", "close")
    assert room.post("/machines/start", claim, alice.headers).status_code == 201
    room.sensors("washer-1", "start")
    assert _end(room, alice.headers) == timedelta(minutes=30)  # what this washer really takes
