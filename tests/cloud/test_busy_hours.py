"""Busy hours: cycles rebuilt from edge events, averaged per weekday and local hour, and
``GET /api/v1/rooms/{room}/busy-hours`` on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from cloud.domain.rooms.busy_hours import (
    MAX_CYCLE,
    QUIET_SHARE,
    BusyInterval,
    CycleMark,
    busy_intervals,
    busy_table,
    quietest,
)
from cloud.platform.settings import CloudSettings
from kywash.clock import FakeClock
from kywash.contract import EventType, MachineState
from tests.cloud.fake_edge import T0, FakeEdge

UTC_ZONE = ZoneInfo("UTC")
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, 00:00 UTC
WEEK = timedelta(weeks=1)
H = timedelta(hours=1)
KINDS = {"washer-1": "washer", "washer-2": "washer", "dryer-1": "dryer"}
COUNTS = {"washer": 2, "dryer": 1}


def at(hours: float) -> datetime:
    return MONDAY + timedelta(hours=hours)


def mark(machine: str, type_: str, hours: float) -> CycleMark:
    return CycleMark(machine, type_, at(hours))


def spans(intervals: list[BusyInterval]) -> list[tuple[str, float, float]]:
    return [(i.machine, (i.start - MONDAY) / H, (i.end - MONDAY) / H) for i in intervals]


# --- cycles from events ------------------------------------------------------------------

INTERVAL_CASES = {
    "start then finish": ([mark("washer-1", "cycle_started", 1), mark("washer-1", "cycle_finished", 2)], [1, 2]),
    "interrupted": ([mark("washer-1", "cycle_started", 1), mark("washer-1", "cycle_interrupted", 1.5)], [1, 1.5]),
    "sensor fault ends it": ([mark("washer-1", "cycle_started", 1), mark("washer-1", "sensor_fault", 3)], [1, 3]),
    "fault detected ends it": ([mark("washer-1", "cycle_started", 1), mark("washer-1", "fault_detected", 6)], [1, 6]),
    "next start ends it": (
        [
            mark("washer-1", "cycle_started", 1),
            mark("washer-1", "cycle_started", 2),
            mark("washer-1", "cycle_finished", 3),
        ],
        [1, 2, 2, 3],
    ),
    "pause and door events do not end it": (
        [
            mark("washer-1", "cycle_started", 1),
            mark("washer-1", "cycle_paused", 1.5),
            mark("washer-1", "door_opened", 1.6),
            mark("washer-1", "cycle_finished", 2.5),
        ],
        [1, 2.5],
    ),
    "ending is busy, and a continued cycle counts from its start to its true end": (
        [
            mark("washer-1", "cycle_started", 1),
            mark("washer-1", "cycle_ending", 1.5),
            mark("washer-1", "cycle_finished", 1.6),
            mark("washer-1", "cycle_continued", 1.7),
            mark("washer-1", "cycle_finished", 2.5),
        ],
        [1, 2.5],
    ),
    "a continued cycle whose finish was never heard starts at the continuation": (
        [mark("washer-1", "cycle_continued", 3), mark("washer-1", "cycle_finished", 4)],
        [3, 4],
    ),
    "unterminated: capped at the longest washer cycle": ([mark("washer-1", "cycle_started", 1)], [1, 6]),
    "unterminated dryer: capped at 6 h": ([mark("dryer-1", "cycle_started", 1)], [1, 7]),
    "unterminated near now: capped at now": ([mark("washer-1", "cycle_started", 9)], [9, 10]),
    "an end without a start: nothing": ([mark("washer-1", "cycle_finished", 1)], []),
    "an unknown machine: ignored": ([mark("washer-9", "cycle_started", 1), mark("washer-9", "cycle_finished", 2)], []),
    "out of order input": ([mark("washer-1", "cycle_finished", 2), mark("washer-1", "cycle_started", 1)], [1, 2]),
}


@pytest.mark.parametrize(("marks", "bounds"), INTERVAL_CASES.values(), ids=INTERVAL_CASES.keys())
def test_cycles_from_events(marks: list[CycleMark], bounds: list[float]) -> None:
    found = busy_intervals(marks, KINDS, now=at(10))
    flat = [value for _, start, end in spans(found) for value in (start, end)]
    assert flat == pytest.approx(bounds)


# --- the table -----------------------------------------------------------------------------


def interval(machine: str, start_h: float, end_h: float) -> BusyInterval:
    return BusyInterval(machine, KINDS[machine], at(start_h), at(end_h))


def cell(table: Any, weekday: int, hour: int) -> tuple[float, float, float]:
    share = table.hours[weekday * 24 + hour]
    assert (share.weekday, share.hour) == (weekday, hour)
    return share.washers, share.dryers, share.all


TABLE_CASES = {
    # name: (intervals, zone, window in hours from Monday 00:00 UTC, (weekday, hour), expected shares)
    "one of two washers for an hour": ([interval("washer-1", 10, 11)], "UTC", (0, 168), (0, 10), (0.5, 0, 1 / 3)),
    "half an hour": ([interval("washer-1", 10, 10.5)], "UTC", (0, 168), (0, 10), (0.25, 0, 1 / 6)),
    "the dryer, from 00:00": ([interval("dryer-1", 24, 24.5)], "UTC", (0, 168), (1, 0), (0, 0.5, 1 / 6)),
    "every machine": (
        [interval("washer-1", 10, 11), interval("washer-2", 10, 11), interval("dryer-1", 10, 11)],
        "UTC",
        (0, 168),
        (0, 10),
        (1, 1, 1),
    ),
    "two weeks, busy in one": ([interval("washer-1", 10, 11)], "UTC", (0, 336), (0, 10), (0.25, 0, 1 / 6)),
    "a newer room: averaged over what it covers": (
        [interval("washer-1", 10, 11)],
        "UTC",
        (9, 9 + 168),
        (0, 10),
        (0.5, 0, 1 / 3),
    ),
    "clipped at the window's start": ([interval("washer-1", 9, 10.5)], "UTC", (10, 178), (0, 10), (0.25, 0, 1 / 6)),
    "local time, five hours behind": (
        [interval("washer-1", 15, 16)],
        "America/New_York",
        (0, 168),
        (0, 10),
        (0.5, 0, 1 / 3),
    ),
    "local time, half-hour offset": (
        [interval("washer-1", 4.5, 5.5)],
        "Asia/Kolkata",
        (0, 168),
        (0, 10),
        (0.5, 0, 1 / 3),
    ),
    "overlapping intervals of one machine count once": (
        [interval("washer-1", 10, 11), interval("washer-1", 10.5, 11)],
        "UTC",
        (0, 168),
        (0, 10),
        (0.5, 0, 1 / 3),
    ),
}


@pytest.mark.parametrize(("intervals", "zone", "window", "where", "expected"), TABLE_CASES.values(), ids=TABLE_CASES)
def test_busy_table(
    intervals: list[BusyInterval],
    zone: str,
    window: tuple[float, float],
    where: tuple[int, int],
    expected: tuple[float, float, float],
) -> None:
    table = busy_table(intervals, COUNTS, ZoneInfo(zone), at(window[0]), at(window[1]))
    assert len(table.hours) == 168
    assert cell(table, *where) == pytest.approx(expected)
    assert sum(h.washers + h.dryers for h in table.hours) == pytest.approx(sum(expected[:2]))  # nowhere else


def test_busy_table_counts_cycles_and_leaves_uncovered_hours_at_zero() -> None:
    intervals = [interval("washer-1", 10, 11), interval("washer-2", 200, 201), interval("dryer-1", -30, -29)]
    table = busy_table(intervals, COUNTS, UTC_ZONE, at(0), at(24))
    assert table.cycles == 1
    assert all(h.covered_s == 0 and h.all == 0 for h in table.hours[24:])
    assert all(h.covered_s == 3600 for h in table.hours[:24])
    empty = busy_table([], COUNTS, UTC_ZONE, at(5), at(5))
    assert empty.cycles == 0 and all(h.covered_s == 0 for h in empty.hours)


def test_a_machine_type_the_room_lacks_counts_nothing() -> None:
    table = busy_table([interval("dryer-1", 10, 11)], {"washer": 2}, UTC_ZONE, at(0), at(168))
    assert cell(table, 0, 10) == (0, 0, 0) and table.cycles == 0


def test_quietest_of_the_next_day_skips_busy_hours_and_hours_without_data() -> None:
    busy = [interval("washer-1", 9, 12), interval("washer-1", 13, 14)]  # Monday 09-12 and 13-14 busy
    table = busy_table(busy, COUNTS, UTC_ZONE, at(-168), at(24 + 7))  # last week, plus Monday to 07:00
    picks = quietest(table, UTC_ZONE, at(9.5))
    assert [(q.share.weekday, q.share.hour, q.share.all) for q in picks] == [(0, 12, 0), (0, 14, 0), (0, 15, 0)]
    assert picks[0].starts_at == at(12)
    now_hour = quietest(table, UTC_ZONE, at(8.25))[0]
    assert (now_hour.share.hour, now_hour.starts_at) == (8, at(8))  # the current hour counts
    assert quietest(busy_table([], COUNTS, UTC_ZONE, at(0), at(0)), UTC_ZONE, at(0)) == []


# --- properties ----------------------------------------------------------------------------

ZONES = st.sampled_from(["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"])
MACHINES = st.sampled_from(sorted(KINDS))


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[BusyInterval], datetime, datetime]:
    start_h = draw(st.floats(min_value=-1000, max_value=1000))
    length_h = draw(st.floats(min_value=0, max_value=800))
    intervals = []
    for _ in range(draw(st.integers(min_value=0, max_value=30))):
        machine = draw(MACHINES)
        a = draw(st.floats(min_value=start_h - 10, max_value=start_h + length_h + 10))
        b = a + draw(st.floats(min_value=0, max_value=12))
        intervals.append(interval(machine, a, b))
    return intervals, at(start_h), at(start_h + length_h)


@settings(max_examples=150, deadline=None)
@given(history=histories(), zone=ZONES)
def test_shares_are_always_between_0_and_1(history: tuple[list[BusyInterval], datetime, datetime], zone: str) -> None:
    intervals, start, end = history
    table = busy_table(intervals, COUNTS, ZoneInfo(zone), start, end)
    assert all(0 <= value <= 1 for h in table.hours for value in (h.washers, h.dryers, h.all))
    assert sum(h.covered_s for h in table.hours) == pytest.approx((end - start).total_seconds(), abs=1e-3)
    assert table.cycles <= len(intervals)


@settings(max_examples=100, deadline=None)
@given(
    start_h=st.floats(min_value=-500, max_value=500),
    length_h=st.floats(min_value=0.5, max_value=600),
    zone=ZONES,
    washers=st.integers(min_value=1, max_value=12),
    busy=st.integers(min_value=0, max_value=12),
)
def test_machines_busy_for_the_whole_window_count_their_share_everywhere(
    start_h: float, length_h: float, zone: str, washers: int, busy: int
) -> None:
    busy = min(busy, washers)
    start, end = at(start_h), at(start_h + length_h)
    intervals = [BusyInterval(f"washer-{n}", "washer", start - H, end + H) for n in range(busy)]
    table = busy_table(intervals, {"washer": washers, "dryer": 3}, ZoneInfo(zone), start, end)
    for h in table.hours:
        if h.covered_s > 0:
            assert h.washers == pytest.approx(busy / washers) and h.dryers == 0
            assert h.all == pytest.approx(busy / (washers + 3))


@settings(max_examples=150, deadline=None)
@given(
    events=st.lists(
        st.tuples(MACHINES, st.sampled_from(["cycle_started", "cycle_finished", "sensor_fault"]), st.floats(0, 100))
    )
)
def test_a_machines_cycles_never_overlap_nor_outlast_the_cap_or_now(events: list[tuple[str, str, float]]) -> None:
    now = at(90)
    found = busy_intervals([mark(m, t, h) for m, t, h in events], KINDS, now)
    for machine in KINDS:
        mine = sorted((i for i in found if i.machine == machine), key=lambda i: i.start)
        assert all(i.start < i.end <= now and i.end - i.start <= MAX_CYCLE[i.kind] for i in mine)
        assert all(a.end <= b.start for a, b in pairwise(mine))


# --- the endpoint, on SQLite and PostgreSQL -------------------------------------------------

Feed = Callable[..., list[Any]]
ZONE = "America/New_York"  # five hours behind UTC in January


@pytest.fixture
def db_settings(db_settings: CloudSettings) -> CloudSettings:
    return db_settings.model_copy(update={"timezone": ZONE})


def cycle(edge: FakeEdge, machine: str, start_min: float, end_min: float | None) -> list[tuple[str, bytes]]:
    messages = [edge.event(machine, EventType.CYCLE_STARTED, MachineState.RUNNING, minutes=start_min)]
    if end_min is not None:
        messages.append(
            edge.event(machine, EventType.CYCLE_FINISHED, MachineState.FINISHED, minutes=end_min, current_a=0.1)
        )
    return messages


def test_busy_hours_from_a_rooms_first_week(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    db_feed(edge.info())  # registered at the clock's start, Thursday 2026-01-01 00:00 UTC
    db_feed(
        *cycle(edge, "washer-1", 0, 60),  # Thu 08:00-09:00 UTC = 03:00-04:00 in New York
        edge.event("washer-1", EventType.DOOR_OPENED, MachineState.DOOR_OPEN, minutes=61),
        *cycle(edge, "dryer-1", 120, None),  # Thu 10:00 UTC, never heard to end: counts 6 h
        *cycle(edge, "washer-2", 16 * 60, 17 * 60),  # Fri 00:00-01:00 UTC = Thu 19:00-20:00 local
    )
    fake_clock.advance(7 * 24 * 3600)  # now: Thursday 2026-01-08 00:00 UTC = Wednesday 19:00 local
    url = f"/api/v1/rooms/{edge.room}/busy-hours"
    response = db_client.get(url)  # anonymous: anyone may plan their laundry
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in ("site", "room", "timezone", "weeks", "weeks_covered", "cycles")} == {
        "site": edge.site,
        "room": edge.room,
        "timezone": ZONE,
        "weeks": 8,
        "weeks_covered": 1.0,
        "cycles": 3,
    }
    assert (body["from"], body["to"]) == ("2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z")
    hours = {(h["weekday"], h["hour"]): (h["washers"], h["dryers"], h["all"]) for h in body["hours"]}
    assert len(body["hours"]) == 168 and len(hours) == 168
    assert hours[(3, 3)] == (0.5, 0.0, 0.3333)
    assert all(hours[(3, hour)] == (0.0, 1.0, 0.3333) for hour in range(5, 11))
    assert hours[(3, 19)] == (0.5, 0.0, 0.3333)
    assert sum(1 for shares in hours.values() if shares != (0.0, 0.0, 0.0)) == 8
    assert body["quietest"] == [
        {"weekday": 2, "hour": 19, "all": 0.0, "starts_at": "2026-01-08T00:00:00Z"},
        {"weekday": 2, "hour": 20, "all": 0.0, "starts_at": "2026-01-08T01:00:00Z"},
        {"weekday": 2, "hour": 21, "all": 0.0, "starts_at": "2026-01-08T02:00:00Z"},
    ]
    fake_clock.advance(24 * 3600)  # Thursday 19:00 local: the washer-2 hour is now the busy one
    body = db_client.get(url).json()
    assert [(q["weekday"], q["hour"]) for q in body["quietest"]] == [(3, 20), (3, 21), (3, 22)]


def test_busy_hours_are_kept_for_five_minutes(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    db_feed(edge.info(), *cycle(edge, "washer-1", 0, 60))
    fake_clock.advance(2 * 24 * 3600)
    url = f"/api/v1/rooms/{edge.room}/busy-hours"
    assert db_client.get(url).json()["cycles"] == 1
    db_feed(*cycle(edge, "washer-2", 120, 180))
    assert db_client.get(url).json()["cycles"] == 1  # the kept answer
    assert db_client.get(url, params={"weeks": 2}).json()["cycles"] == 2  # another key
    fake_clock.advance(300)
    assert db_client.get(url).json()["cycles"] == 2


def test_busy_hours_of_a_room_older_than_the_window(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    db_feed(edge.info(), *cycle(edge, "washer-1", 0, 60))
    fake_clock.advance(3 * 7 * 24 * 3600)
    body = db_client.get(f"/api/v1/rooms/{edge.room}/busy-hours", params={"weeks": 1}).json()
    assert (body["weeks"], body["weeks_covered"], body["cycles"]) == (1, 1.0, 0)
    assert body["from"] == (T0.replace(hour=0) + timedelta(weeks=2)).isoformat().replace("+00:00", "Z")
    body = db_client.get(f"/api/v1/rooms/{edge.room}/busy-hours", params={"weeks": 8}).json()
    assert (body["weeks_covered"], body["cycles"]) == (3.0, 1)
    assert max(h["washers"] for h in body["hours"]) == pytest.approx(0.5 / 3, abs=1e-4)


def test_busy_hours_refuse_unknown_rooms_and_bad_weeks(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    db_feed(edge.info())
    missing = db_client.get("/api/v1/rooms/nowhere/busy-hours")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "room_not_found"
    for weeks in (0, 53, "x"):
        bad = db_client.get(f"/api/v1/rooms/{edge.room}/busy-hours", params={"weeks": weeks})
        assert bad.status_code == 422 and set(bad.json()) == {"error"}
    body = db_client.get(f"/api/v1/rooms/{edge.room}/busy-hours", params={"site": edge.site, "weeks": 52}).json()
    assert body["cycles"] == 0 and body["weeks_covered"] == 0 and body["quietest"] == []


def test_the_time_zone_setting_is_checked_at_start() -> None:
    assert CloudSettings().timezone == "UTC"
    assert CloudSettings(timezone="Europe/London").timezone == "Europe/London"
    for bad in ("Mars/Olympus_Mons", "../etc/passwd", ""):
        with pytest.raises(ValueError, match="time zone"):
            CloudSettings(timezone=bad)


def test_an_hour_half_full_is_no_quiet_time_and_an_hour_without_data_is_not_quiet() -> None:
    """Issue 15: a 42-50 % hour was offered as 'quietest', and hours without data showed as quiet."""
    busy = [interval("washer-1", hour, hour + 1) for hour in range(0, 24)]  # washer-1 busy all Monday: 50 %
    table = busy_table(busy, COUNTS, UTC_ZONE, at(0), at(24))
    assert all(table.hours[h].all >= QUIET_SHARE for h in range(24))
    assert quietest(table, UTC_ZONE, at(0)) == []  # none of the coming hours is quiet
    assert all(table.hours[index].covered_s == 0 for index in range(24, 168))  # Tuesday on: never covered


def test_the_api_says_which_hours_have_no_data(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    db_feed(edge.info(), *cycle(edge, "washer-1", 0, 60))
    fake_clock.advance(3 * 3600)  # the room's history is three hours long
    body = db_client.get(f"/api/v1/rooms/{edge.room}/busy-hours", params={"site": edge.site}).json()
    covered = [h for h in body["hours"] if h["covered"]]
    assert len(covered) in (3, 4)  # the three hours since it began (four if they straddle hour marks)
    assert all(h["all"] == 0 for h in body["hours"] if not h["covered"])  # no data: not shown as quiet
