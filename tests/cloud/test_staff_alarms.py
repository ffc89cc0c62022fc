"""Staff alarms: each incident (a silent edge, a sensor fault, an automatic removal from
service) opens once and clears once, however many messages, timer rounds or replicas see it.

The edge's messages go through the cloud's ingest (``feed``), time through the fake clock,
the silence check through the timers (``fire_due``), exactly as in service.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from cloud.domain.alarms import rules
from cloud.domain.alarms.rules import AlarmKind, Change
from cloud.domain.notifications.texts import render
from cloud.platform.settings import CloudSettings
from cloud.platform.storage.tables import notifications
from cloud.processes.timers import Fired, fire_due
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from kywash.contract import EventType, MachineState, decode_message
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.faults_support import report
from tests.cloud.laundry_support import Room, open_room
from tests.cloud.push_support import Browser, FakePushService, wait_for_pushes

Feed = Callable[..., list[Any]]
ALARMS = "/api/v1/alarms"
T = datetime(2026, 1, 1, 14, 5, tzinfo=UTC)


# --- the pure rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_seen", "minutes_later", "threshold", "silent"),
    [
        (T, 0, 5, False),
        (T, 5, 5, False),  # exactly the threshold: not yet "more than"
        (T, 5.01, 5, True),
        (T, 30, 60, False),
        (T, 61, 60, True),
        (None, 1000, 5, False),  # never heard from: nothing went silent
    ],
)
def test_a_room_is_silent_once_unheard_for_more_than_the_threshold(
    last_seen: datetime | None, minutes_later: float, threshold: float, silent: bool
) -> None:
    assert rules.is_silent(last_seen, T + timedelta(minutes=minutes_later), threshold) is silent


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        ("idle", "sensor_fault", Change.OPEN),
        ("running", "sensor_fault", Change.OPEN),
        (None, "sensor_fault", Change.OPEN),
        ("sensor_fault", "sensor_fault", None),  # the same fault reported again
        ("sensor_fault", "idle", Change.CLEAR),
        ("sensor_fault", "running", Change.CLEAR),
        ("idle", "running", None),
        (None, "idle", None),
    ],
)
def test_a_sensor_fault_opens_when_the_state_enters_it_and_clears_when_it_leaves(
    before: str | None, after: str, change: Change | None
) -> None:
    assert rules.sensor_fault_change(before, after) is change


EDGE = FakeEdge(site="s")
PROOF_OF_LIFE = {
    "an event": (EDGE.event("washer-1"), False, True),
    "telemetry": (EDGE.telemetry("washer-1", 0.1), False, True),
    "a status that brought the room online": (EDGE.status(online=True), True, True),
    "a retained online status it already had": (EDGE.status(online=True), False, False),
    "the broker's last will": (EDGE.status(online=False), False, False),
    "info of a new boot": (EDGE.info(), True, True),
    "retained info of the same boot": (EDGE.info(), False, False),
    "a retained state": (EDGE.state("washer-1"), False, False),
    "a retained profile": (EDGE.profile("washer-1", 3), False, False),
}


@pytest.mark.parametrize(("message", "came_online", "alive"), PROOF_OF_LIFE.values(), ids=PROOF_OF_LIFE.keys())
def test_only_what_a_running_edge_sends_now_clears_its_silence(
    message: tuple[str, bytes], came_online: bool, alive: bool
) -> None:
    _, payload = decode_message(*message)
    assert rules.proves_edge_alive(payload, came_online=came_online) is alive


@pytest.mark.parametrize(
    ("out_of_service", "automatic", "change"),
    [(True, True, Change.OPEN), (True, False, None), (False, False, Change.CLEAR), (False, True, Change.CLEAR)],
)
def test_only_an_automatic_removal_from_service_is_an_incident(
    out_of_service: bool, automatic: bool, change: Change | None
) -> None:
    assert rules.service_change(out_of_service=out_of_service, automatic=automatic) is change


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (40, "40 s"), (60, "1 min"), (12 * 60 + 59, "12 min"), (3600, "1 h"), (3900, "1 h 5 min"),
     (86_400, "1 d"), (86_400 + 4 * 3600 + 60, "1 d 4 h"), (-5, "0 s")],
)  # fmt: skip
def test_how_long_an_incident_lasted(seconds: float, text: str) -> None:
    assert rules.duration_text(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(
    ("kind", "machine", "opened", "cleared"),
    [
        (
            AlarmKind.EDGE_SILENT,
            None,
            "Laundry 1 (Hall A): sensors silent since 14:05",
            "Laundry 1 (Hall A): back online after 12 min",
        ),
        (
            AlarmKind.SENSOR_FAULT,
            "washer-2",
            "Laundry 1 (Hall A): washer 2 reports a sensor fault",
            "Laundry 1 (Hall A): washer 2 sensors working again after 12 min",
        ),
        (
            AlarmKind.OUT_OF_SERVICE,
            "dryer-1",
            "Laundry 1 (Hall A): dryer 1 taken out of service automatically",
            "Laundry 1 (Hall A): dryer 1 back in service after 12 min",
        ),
    ],
)
def test_titles_say_where_what_and_how_long(kind: AlarmKind, machine: str | None, opened: str, cleared: str) -> None:
    assert render(rules.opened_title(kind, "Hall A", "Laundry 1", machine, T, "UTC")) == opened
    assert (
        render(rules.cleared_title(kind, "Hall A", "Laundry 1", machine, timedelta(minutes=12, seconds=30))) == cleared
    )


def test_the_silent_since_time_is_in_the_campus_time_zone() -> None:
    title = render(rules.opened_title(AlarmKind.EDGE_SILENT, "s", "r", None, T, "Asia/Hong_Kong"))
    assert title.endswith("since 22:05")


# --- helpers ------------------------------------------------------------------------------


def staff_notifications(client: TestClient, staff: Account) -> list[tuple[str, str]]:
    with client.app.state.cloud.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            select(notifications.c.type, notifications.c.title)
            .where(notifications.c.user_id == staff.id)
            .order_by(notifications.c.id)
        )
        return [(row.type, row.title) for row in rows]


def fire(client: TestClient) -> Fired:
    state = client.app.state.cloud  # type: ignore[attr-defined]
    return fire_due(state.transactions, state.ingest.metrics)


def alarms(client: TestClient, staff: Account, **query: str) -> list[dict[str, Any]]:
    response = client.get(ALARMS, params=query, headers=staff.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def heartbeat(room: Room, minutes: float) -> None:
    """The edge's periodic current reading: the room is heard from."""
    room.feed(room.edge.telemetry("washer-1", 0.0, minutes=minutes))


@pytest.fixture
def room(client: TestClient, feed: Feed, edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(client, feed, edge, fake_clock)


# --- a silent edge ------------------------------------------------------------------------


def test_a_silent_edge_opens_one_alarm_and_its_return_clears_it_once(room: Room, client: TestClient) -> None:
    staff, other_staff = make_account(client, "warden", role="staff"), make_account(client, "tech", role="staff")
    site = room.edge.site
    room.clock.advance(4 * 60)
    heartbeat(room, 4)  # heard at 00:04
    room.clock.advance(5 * 60)
    assert fire(client).silence_alarms == 0  # exactly 5 minutes: not yet
    room.clock.advance(30)
    assert fire(client).silence_alarms == 1
    for _ in range(3):  # later rounds, on this replica or another: nothing new
        room.clock.advance(60)
        assert fire(client).silence_alarms == 0
    room.feed(room.edge.status(online=False))  # the broker's last will is not the edge being heard
    opened = f"r1 ({site}): sensors silent since 00:04"
    for account in (staff, other_staff):
        assert staff_notifications(client, account) == [("room_silent", opened)]
    [alarm] = alarms(client, staff, open="true")
    assert (alarm["kind"], alarm["site"], alarm["room"], alarm["machine"], alarm["open"]) == (
        "edge_silent", site, "r1", None, True
    )  # fmt: skip

    room.clock.advance(60)  # 00:13: heard again, nine minutes after it went quiet
    room.feed(room.edge.status(online=True), *(room.edge.state(m.id) for m in room.edge.machines))
    heartbeat(room, 14)
    assert fire(client).silence_alarms == 0
    back = f"r1 ({site}): back online after 9 min"
    assert staff_notifications(client, staff) == [("room_silent", opened), ("room_back_online", back)]
    assert alarms(client, staff, open="true") == []
    [cleared] = alarms(client, staff, open="false")
    assert (cleared["id"], cleared["title"], cleared["open"]) == (alarm["id"], back, False)


def test_the_brokers_retained_copies_after_a_cloud_restart_do_not_clear_a_silence(
    room: Room, client: TestClient
) -> None:
    staff = make_account(client, "warden", role="staff")
    room.feed(room.edge.status(online=False))  # the edge died; the broker published its last will
    room.clock.advance(6 * 60)
    assert fire(client).silence_alarms == 1
    edge = room.edge  # what the broker replays to a cloud that subscribes again
    room.feed(edge.info(), edge.status(online=False), *(edge.state(m.id) for m in edge.machines))
    room.feed(edge.profile("washer-1", 2))
    assert [t for t, _ in staff_notifications(client, staff)] == ["room_silent"]
    assert len(alarms(client, staff, open="true")) == 1
    heartbeat(room, 7)  # the edge itself, running again
    assert [t for t, _ in staff_notifications(client, staff)] == ["room_silent", "room_back_online"]


def test_a_batch_of_messages_from_a_silent_room_clears_it_once(room: Room, client: TestClient) -> None:
    staff = make_account(client, "warden", role="staff")
    room.clock.advance(6 * 60)
    fire(client)
    ingest = client.app.state.cloud.ingest  # type: ignore[attr-defined]
    batch = [room.edge.telemetry(m.id, 0.2, minutes=7) for m in room.edge.machines]
    batch += [room.edge.event("washer-1", minutes=7), room.edge.event("washer-2", minutes=7)]
    assert client.portal is not None
    outcomes = client.portal.call(ingest.handle_batch, batch)
    assert [outcome.kind for outcome in outcomes] == ["telemetry"] * 3 + ["event"] * 2  # one transaction
    assert [t for t, _ in staff_notifications(client, staff)] == ["room_silent", "room_back_online"]


def test_a_room_silent_again_is_a_new_incident(room: Room, client: TestClient) -> None:
    staff = make_account(client, "warden", role="staff")
    for _ in range(2):
        room.clock.advance(6 * 60)
        fire(client)
        heartbeat(room, 0)
    assert [t for t, _ in staff_notifications(client, staff)] == ["room_silent", "room_back_online"] * 2
    assert len(alarms(client, staff)) == 2


def test_the_silent_threshold_comes_from_the_setting(
    offline_settings: CloudSettings, fake_clock: FakeClock, edge: FakeEdge
) -> None:
    settings = offline_settings.model_copy(update={"staff_alarm_silent_minutes": 30})
    with TestClient(create_app(settings, clock=fake_clock)) as client:
        ingest = client.app.state.cloud.ingest  # type: ignore[attr-defined]

        def feed(*messages: tuple[str, bytes]) -> list[Any]:
            assert client.portal is not None
            return [client.portal.call(ingest.handle, topic, payload) for topic, payload in messages]

        open_room(client, feed, edge, fake_clock)
        staff = make_account(client, "warden", role="staff")
        fake_clock.advance(29 * 60)
        assert fire(client).silence_alarms == 0
        fake_clock.advance(2 * 60)
        assert fire(client).silence_alarms == 1
        assert [t for t, _ in staff_notifications(client, staff)] == ["room_silent"]


def test_every_staff_browser_gets_the_alarm_by_web_push(room: Room, client: TestClient) -> None:
    staff = [make_account(client, "warden", role="staff"), make_account(client, "tech", role="staff")]
    student = make_account(client, "100001")
    with FakePushService() as service:
        browsers = {}
        for n, account in enumerate([*staff, student]):
            browsers[account.login] = browser = Browser()
            made = client.post(
                "/api/v1/push/subscriptions",
                json=browser.subscription(service.url(f"/push/{n}")),
                headers=account.headers,
            )
            assert made.status_code == 201, made.text
        room.clock.advance(6 * 60)
        fire(client)
        wait_for_pushes(client)
        assert sorted(push.path for push in service.received) == ["/push/0", "/push/1"]  # not the student's
        for push in service.received:
            payload = browsers[staff[int(push.path[-1])].login].decrypt(push.body)
            title = f"r1 ({room.edge.site}): sensors silent since 00:00"
            assert (payload["type"], payload["title"]) == ("room_silent", title)


# --- a sensor fault -----------------------------------------------------------------------


def test_a_sensor_fault_opens_once_and_clears_once(room: Room, client: TestClient) -> None:
    staff = make_account(client, "warden", role="staff")
    site = room.edge.site
    room.sensors("washer-2", "fault")
    replay = room.edge.event("washer-2", EventType.SENSOR_FAULT, MachineState.SENSOR_FAULT, seq=room.edge.seq)
    room.feed(replay, replay)  # delivered again
    room.feed(room.edge.state("washer-2", MachineState.SENSOR_FAULT, seq=room.edge.seq))  # its retained state
    room.sensors("washer-2", "fault")  # reported again while it lasts
    opened = f"r1 ({site}): washer 2 reports a sensor fault"
    assert staff_notifications(client, staff) == [("sensor_fault", opened)]
    [alarm] = alarms(client, staff, open="true")
    assert (alarm["kind"], alarm["machine"], alarm["title"]) == ("sensor_fault", "washer-2", opened)

    room.clock.advance(3 * 60)
    room.sensors("washer-2", "close")  # the sensors work again: idle, door shut
    room.sensors("washer-2", "start")
    room.feed(room.edge.state("washer-2", MachineState.RUNNING, seq=room.edge.seq))
    cleared = f"r1 ({site}): washer 2 sensors working again after 3 min"
    assert staff_notifications(client, staff) == [("sensor_fault", opened), ("sensor_fault_cleared", cleared)]
    assert alarms(client, staff, open="true") == []


def test_a_machines_own_alarm_does_not_stop_another_machines(room: Room, client: TestClient) -> None:
    staff = make_account(client, "warden", role="staff")
    room.sensors("washer-1", "fault")
    room.sensors("dryer-1", "fault")
    assert sorted(a["machine"] for a in alarms(client, staff, open="true")) == ["dryer-1", "washer-1"]


def test_a_machine_removed_from_the_room_takes_its_open_alarm_with_it(room: Room, client: TestClient) -> None:
    staff = make_account(client, "warden", role="staff")
    room.sensors("washer-2", "fault")
    room.sensors("washer-1", "fault")
    room.edge.machines = tuple(m for m in room.edge.machines if m.id != "washer-2")
    room.feed(room.edge.info())
    assert [a["machine"] for a in alarms(client, staff, open="true")] == ["washer-1"]
    [gone] = alarms(client, staff, open="false")
    assert gone["title"] == f"r1 ({room.edge.site}): washer 2 removed from the room"
    assert [t for t, _ in staff_notifications(client, staff)] == ["sensor_fault", "sensor_fault"]


# --- out of service automatically ---------------------------------------------------------


def test_an_automatic_removal_from_service_opens_once_and_putting_it_back_clears_it(
    room: Room, client: TestClient
) -> None:
    staff = make_account(client, "warden", role="staff")
    site = room.edge.site
    for n in range(1, 5):  # the threshold is 3; a fourth report changes nothing
        assert report(client, make_account(client, f"10000{n}")).status_code == 201
    opened = f"r1 ({site}): washer 1 taken out of service automatically"
    assert staff_notifications(client, staff) == [("machine_out_of_service", opened)]
    [alarm] = alarms(client, staff, open="true")
    assert (alarm["kind"], alarm["machine"], alarm["details"]) == (
        "out_of_service", "washer-1", {"reason": "3 open fault reports"}
    )  # fmt: skip

    room.clock.advance(2 * 3600 + 5 * 60)
    fixer = make_account(client, "fixer", role="staff")  # (the warden's token has long expired)
    back = client.post("/api/v1/machines/washer/1/back-in-service", json={}, headers=fixer.headers)
    assert back.status_code == 200, back.text
    cleared = f"r1 ({site}): washer 1 back in service after 2 h 5 min"
    assert staff_notifications(client, staff)[1:] == [("machine_back_in_service", cleared)]
    assert alarms(client, fixer, open="true") == []


def test_staff_taking_a_machine_out_is_no_incident(room: Room, client: TestClient) -> None:
    staff = make_account(client, "warden", role="staff")
    out = client.post("/api/v1/machines/washer/1/out-of-service", json={"reason": "drum noise"}, headers=staff.headers)
    assert out.status_code == 200, out.text
    client.post("/api/v1/machines/washer/1/back-in-service", json={}, headers=staff.headers)
    assert alarms(client, staff) == []
    assert [t for t, _ in staff_notifications(client, staff)] == ["machine_out_of_service", "machine_back_in_service"]


# --- the API ------------------------------------------------------------------------------


def test_only_staff_may_list_alarms(room: Room, client: TestClient) -> None:
    student = make_account(client, "100001")
    assert client.get(ALARMS, headers=student.headers).status_code == 403
    assert client.get(ALARMS).status_code == 401


def test_the_list_filters_by_site_and_pages_like_the_others(room: Room, client: TestClient) -> None:
    staff = make_account(client, "warden", role="staff")
    for machine in ("washer-1", "washer-2", "dryer-1"):
        room.sensors(machine, "fault")
    first = client.get(ALARMS, params={"open": "true", "limit": 2}, headers=staff.headers).json()
    assert [a["machine"] for a in first["items"]] == ["dryer-1", "washer-2"]  # newest first
    second = client.get(ALARMS, params={"before": first["next_before"], "limit": 2}, headers=staff.headers).json()
    assert ([a["machine"] for a in second["items"]], second["next_before"]) == (["washer-1"], None)
    assert len(alarms(client, staff, site=room.edge.site)) == 3
    assert alarms(client, staff, site="elsewhere") == []
    assert len(alarms(client, staff, kind="sensor_fault")) == 3
    assert client.get(ALARMS, params={"kind": "fire"}, headers=staff.headers).status_code == 422


# --- several replicas ---------------------------------------------------------------------


@pytest.fixture
def replicas(db_client: TestClient, db_settings: CloudSettings, fake_clock: FakeClock) -> Iterator[list[Any]]:
    with TestClient(create_app(db_settings, clock=fake_clock)) as other:
        yield [db_client.app.state.cloud, other.app.state.cloud]  # type: ignore[attr-defined]


def test_two_replicas_open_a_silence_alarm_once(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge, fake_clock: FakeClock, replicas: list[Any]
) -> None:
    open_room(db_client, db_feed, edge, fake_clock)
    staff = make_account(db_client, "warden", role="staff")
    fake_clock.advance(6 * 60)
    results: list[Fired] = []
    barrier = threading.Barrier(len(replicas) * 2)

    def replica(state: Any) -> None:
        barrier.wait()
        results.append(fire_due(state.transactions, state.ingest.metrics))

    threads = [threading.Thread(target=replica, args=(state,)) for state in replicas * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 4
    assert sum(r.silence_alarms for r in results) == 1
    assert [t for t, _ in staff_notifications(db_client, staff)] == ["room_silent"]
