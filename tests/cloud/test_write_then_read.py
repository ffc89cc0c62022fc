"""Every write route commits before it answers: the read sent right after its response sees it.

With the transaction dependency at FastAPI's default request scope, the COMMIT (and the
delivery of live messages, the session cache and view cache updates) ran after the response
had been sent, so a client could get its 201 and an immediate GET would not see the write
yet. Here the real app runs under uvicorn on a socket, every COMMIT is slowed by
``SLOW_COMMIT_S`` while the write and its read run (``Stage.race``), and each scenario reads
its write back at once: with a write that answers before committing, that read misses it.

``SCENARIOS`` has one entry per write route of the OpenAPI, and a test checks it covers them
exactly: a new write route fails the suite until it has a scenario here. An entry whose
write has no API route to read it back says so in ``no_api_read``, and reads it the way the
app's next request would (a connection from the app's own pool) or by its own later effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from cloud.platform.settings import CloudSettings
from cloud.platform.storage.tables import push_subscriptions
from cloud.runtime.app import create_app
from tests.cloud.accounts_support import Account
from tests.cloud.faults_support import PNG
from tests.cloud.push_support import Browser
from tests.cloud.write_routes_support import (
    API,
    STAFF_PASSWORD,
    Stage,
    expect,
    live_cloud,
    route_pattern,
    write_routes,
)


@pytest.fixture
def stage(database_url: str, tmp_path: Path) -> Iterator[Stage]:
    """A fresh server on a fresh database (SQLite, then PostgreSQL) for one scenario."""
    with live_cloud(database_url, tmp_path / "photos") as cloud:
        yield Stage(cloud)


WASHER_1 = {"machine_type": "washer", "machine_id": 1}
DRYERS = {"machine_type": "dryer"}


# --- accounts ------------------------------------------------------------------------------


def register(s: Stage) -> None:
    student_id = s.fresh_student_id()
    with s.race():
        body = {"student_id": student_id, "pin": "1234", "phone_number": "5551234567"}
        pair = expect(s.post("/auth/register", json=body), 201)
        me = s.get("/profile/me", headers=bearer(pair["access_token"]))
    assert me["student_id"] == student_id


def login(s: Stage) -> None:
    alice = s.student()
    with s.race():
        pair = expect(s.post("/auth/login", json={"student_id": alice.login, "pin": "1234"}), 200)
        me = s.get("/profile/me", headers=bearer(pair["access_token"]))
    assert me["id"] == alice.id


def staff_login(s: Stage) -> None:
    staff = s.staff()
    with s.race():
        body = {"username": staff.login, "password": STAFF_PASSWORD}
        pair = expect(s.post("/auth/staff/login", json=body), 200)
        s.get("/rooms/status", headers=bearer(pair["access_token"]))  # staff only: the new session is staff's


def refresh(s: Stage) -> None:
    alice = s.student()
    with s.race():
        pair = expect(s.post("/auth/refresh", json={"refresh_token": alice.refresh_token}), 200)
        assert s.get("/profile/me", headers=bearer(pair["access_token"]))["id"] == alice.id
        # the new refresh token is known and the presented one used up: the client's next rotation works
        expect(s.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}), 200)


def logout(s: Stage) -> None:
    alice = s.student()
    s.get("/profile/me", alice)  # the session is live (and in this replica's session cache)
    with s.race():
        expect(s.post("/auth/logout", alice, json={"refresh_token": alice.refresh_token}), 204)
        refused = s.get("/profile/me", alice, status=401)
    assert refused["error"]["code"] == "session_ended"


def update_profile(s: Stage) -> None:
    alice = s.student()
    with s.race():
        expect(s.request("PUT", "/profile/update", alice, json={"phone_number": "+1 555 987 6543"}), 200)
        me = s.get("/profile/me", alice)
    assert me["phone_number"] == "+15559876543"


# --- claims and waitlists -----------------------------------------------------------------


def start_claim(s: Stage) -> None:
    s.open_room()
    alice = s.student()
    with s.race():
        expect(s.post("/machines/start", alice, json={**WASHER_1, "category": "extra_10"}), 201)
        washer = s.get("/machines/washer/1", alice)
    assert (washer["usage"], washer["mine"], washer["claim"]["category"]) == ("claimed", True, "extra_10")


def cancel_claim(s: Stage) -> None:
    s.open_room()
    alice = s.student()
    expect(s.post("/machines/start", alice, json={**WASHER_1, "category": "normal"}), 201)
    with s.race():
        expect(s.post("/machines/cancel", alice, json=WASHER_1), 200)
        washer = s.get("/machines/washer/1", alice)
    assert (washer["usage"], washer["mine"], washer["claim"]) == ("free", False, None)


def end_claim(s: Stage) -> None:
    s.open_room()
    alice = s.student()
    expect(s.post("/machines/start", alice, json={**WASHER_1, "category": "normal"}), 201)
    s.sensors("washer-1", "start")
    s.sensors("washer-1", "finish")
    assert s.get("/machines/washer/1", alice)["mine"] is True
    with s.race():
        expect(s.post("/machines/end", alice, json=WASHER_1), 200)
        washer = s.get("/machines/washer/1", alice)
    assert (washer["mine"], washer["claim"], washer["in_use_by"]) == (False, None, None)


def join_waitlist(s: Stage) -> None:
    s.open_room()
    alice = s.student()
    with s.race():
        expect(s.post("/waitlist/join", alice, json=DRYERS), 201)
        shown = s.get("/waitlist/dryer", alice)
    assert (shown["length"], shown["my_position"]) == (1, 1)


def leave_waitlist(s: Stage) -> None:
    s.open_room()
    alice = s.student()
    expect(s.post("/waitlist/join", alice, json=DRYERS), 201)
    with s.race():
        expect(s.post("/waitlist/leave", alice, json=DRYERS), 200)
        shown = s.get("/waitlist/dryer", alice)
    assert (shown["length"], shown["my_position"]) == (0, None)


# --- faults and service state -------------------------------------------------------------


def report_fault(s: Stage, reporter: Account) -> httpx.Response:
    form = {"machine_type": "washer", "machine_id": "1", "description": "Water leaks from the door seal"}
    return s.post("/faults/report", reporter, data=form, files={"photo": ("leak.png", PNG, "image/png")})


def report(s: Stage) -> None:
    s.open_room()
    alice = s.student()
    with s.race():
        fault = expect(report_fault(s, alice), 201)
        counted = s.get("/faults/washer/1", alice)
        photo = s.request("GET", f"/faults/{fault['id']}/photo", alice)  # the upload can be fetched at once
    assert counted["open_faults"] == 1
    assert (photo.status_code, photo.content) == (200, PNG)


def resolve(s: Stage) -> None:
    s.open_room()
    alice, staff = s.student(), s.staff()
    fault = expect(report_fault(s, alice), 201)
    with s.race():
        expect(s.post(f"/faults/{fault['id']}/resolve", staff, json={"note": "new door seal"}), 200)
        told = s.get("/notifications/", alice)
        resolved = s.get("/faults/", alice, params={"status": "resolved"})
    assert [(n["type"], n["body"]) for n in told["items"]] == [("fault_resolved", "new door seal")]
    assert [f["id"] for f in resolved["items"]] == [fault["id"]]


def change_fault_status(s: Stage) -> None:
    s.open_room()
    alice, staff = s.student(), s.staff()
    fault = expect(report_fault(s, alice), 201)
    with s.race():
        body = {"status": "acknowledged", "note": "seen it"}
        expect(s.post(f"/faults/{fault['id']}/status", staff, json=body), 200)
        told = s.get("/notifications/", alice)
        listed = s.get("/faults/", alice, params={"status": "acknowledged"})
    assert [(n["type"], n["body"]) for n in told["items"]] == [("fault_acknowledged", "seen it")]
    assert [(f["id"], f["note"]) for f in listed["items"]] == [(fault["id"], "seen it")]


def out_of_service(s: Stage) -> None:
    s.open_room()
    staff, alice = s.staff(), s.student()
    with s.race():
        expect(s.post("/machines/washer/1/out-of-service", staff, json={"reason": "drum bearing noise"}), 200)
        washer = s.get("/machines/washer/1", alice)
    assert washer["usage"] == "out_of_service"


def back_in_service(s: Stage) -> None:
    s.open_room()
    staff, alice = s.staff(), s.student()
    expect(s.post("/machines/washer/1/out-of-service", staff, json={"reason": "drum bearing noise"}), 200)
    assert s.get("/machines/washer/1", alice)["usage"] == "out_of_service"  # and the view cache has it
    with s.race():
        expect(s.post("/machines/washer/1/back-in-service", staff, json={"note": "bearing replaced"}), 200)
        washer = s.get("/machines/washer/1", alice)
    assert washer["usage"] == "free"


# --- notifications -------------------------------------------------------------------------


def read_all(s: Stage) -> None:
    alice = s.student()
    s.notify(alice, "Your washer is done")
    s.notify(alice, "Your dryer is done")
    with s.race():
        assert expect(s.post("/notifications/read-all", alice), 200) == {"updated": 2}
        unread = s.get("/notifications/", alice, params={"unread": "true"})
    assert (unread["items"], unread["unread_count"]) == ([], 0)


def read_one(s: Stage) -> None:
    alice = s.student()
    notification = s.notify(alice, "Your washer is done")
    with s.race():
        expect(s.request("PUT", f"/notifications/{notification}/read", alice), 200)
        shown = s.get("/notifications/", alice)
    assert ([n["read"] for n in shown["items"]], shown["unread_count"]) == ([True], 0)


def delete_notification(s: Stage) -> None:
    alice = s.student()
    kept, gone = s.notify(alice, "Your washer is done"), s.notify(alice, "Your dryer is done")
    with s.race():
        expect(s.request("DELETE", f"/notifications/{gone}", alice), 204)
        shown = s.get("/notifications/", alice)
    assert [n["id"] for n in shown["items"]] == [kept]


# --- webhooks -------------------------------------------------------------------------------

HOOK = {"url": "http://127.0.0.1:9/hook", "events": ["machine.finished"], "site": None}


def create_webhook(s: Stage) -> None:
    staff = s.staff()
    with s.race():
        made = expect(s.post("/webhooks", staff, json=HOOK), 201)
        listed = s.get("/webhooks", staff)
    assert [w["id"] for w in listed] == [made["id"]]


def delete_webhook(s: Stage) -> None:
    staff = s.staff()
    kept, gone = (expect(s.post("/webhooks", staff, json=HOOK), 201)["id"] for _ in range(2))
    with s.race():
        expect(s.request("DELETE", f"/webhooks/{gone}", staff), 204)
        listed = s.get("/webhooks", staff)
    assert [w["id"] for w in listed] == [kept]


# --- web push -------------------------------------------------------------------------------


def subscription_owner(s: Stage, endpoint: str) -> int | None:
    with s.db() as conn:
        owner = conn.execute(select(push_subscriptions.c.user_id).where(push_subscriptions.c.endpoint == endpoint))
        return owner.scalar_one_or_none()


def subscribe(s: Stage) -> None:
    alice = s.student()
    endpoint = f"https://push.example.com/send/{uuid.uuid4().hex}"
    with s.race():
        expect(s.post("/push/subscriptions", alice, json=Browser().subscription(endpoint)), 201)
        owner = subscription_owner(s, endpoint)
    assert owner == alice.id


def unsubscribe(s: Stage) -> None:
    alice = s.student()
    endpoint = f"https://push.example.com/send/{uuid.uuid4().hex}"
    expect(s.post("/push/subscriptions", alice, json=Browser().subscription(endpoint)), 201)
    with s.race():
        expect(s.request("DELETE", "/push/subscriptions", alice, json={"endpoint": endpoint}), 204)
        owner = subscription_owner(s, endpoint)
    assert owner is None


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the table --------------------------------------------------------------------------------

NO_PUSH_LIST = (
    "there is no route listing a user's push subscriptions (the browser keeps its own), so the "
    "read is the one the push workers make: a connection from the app's own pool"
)


@dataclass(frozen=True)
class Scenario:
    run: Callable[[Stage], None]
    no_api_read: str | None = None
    """Why the write is not read back through an API route (and what is checked instead)."""


SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("POST", f"{API}/auth/register"): Scenario(register),
    ("POST", f"{API}/auth/login"): Scenario(login),
    ("POST", f"{API}/auth/staff/login"): Scenario(staff_login),
    ("POST", f"{API}/auth/refresh"): Scenario(
        refresh,
        no_api_read="refresh tokens are never shown; besides the new access token working, its effect is "
        "observed by the client's next rotation with the new refresh token",
    ),
    ("POST", f"{API}/auth/logout"): Scenario(logout),
    ("PUT", f"{API}/profile/update"): Scenario(update_profile),
    ("POST", f"{API}/machines/start"): Scenario(start_claim),
    ("POST", f"{API}/machines/cancel"): Scenario(cancel_claim),
    ("POST", f"{API}/machines/end"): Scenario(end_claim),
    ("POST", f"{API}/waitlist/join"): Scenario(join_waitlist),
    ("POST", f"{API}/waitlist/leave"): Scenario(leave_waitlist),
    ("POST", f"{API}/faults/report"): Scenario(report),
    ("POST", f"{API}/faults/{{fault_id}}/resolve"): Scenario(resolve),
    ("POST", f"{API}/faults/{{fault_id}}/status"): Scenario(change_fault_status),
    ("POST", f"{API}/machines/{{machine_type}}/{{machine_id}}/out-of-service"): Scenario(out_of_service),
    ("POST", f"{API}/machines/{{machine_type}}/{{machine_id}}/back-in-service"): Scenario(back_in_service),
    ("POST", f"{API}/notifications/read-all"): Scenario(read_all),
    ("PUT", f"{API}/notifications/{{notification_id}}/read"): Scenario(read_one),
    ("DELETE", f"{API}/notifications/{{notification_id}}"): Scenario(delete_notification),
    ("POST", f"{API}/webhooks"): Scenario(create_webhook),
    ("DELETE", f"{API}/webhooks/{{webhook_id}}"): Scenario(delete_webhook),
    ("POST", f"{API}/push/subscriptions"): Scenario(subscribe, no_api_read=NO_PUSH_LIST),
    ("DELETE", f"{API}/push/subscriptions"): Scenario(unsubscribe, no_api_read=NO_PUSH_LIST),
}


def test_every_write_route_of_the_openapi_has_a_scenario(tmp_path: Path) -> None:
    app = create_app(CloudSettings(database_url=f"sqlite:///{tmp_path / 'openapi.db'}", ingest_enabled=False))
    routes = write_routes(app)
    missing = sorted(routes - SCENARIOS.keys())
    stale = sorted(SCENARIOS.keys() - routes)
    assert not missing, f"write routes without a write-then-read scenario in {__name__}.SCENARIOS: {missing}"
    assert not stale, f"scenarios for routes the OpenAPI no longer has: {stale}"


@pytest.mark.parametrize("route", sorted(SCENARIOS), ids=lambda route: f"{route[0]} {route[1]}")
def test_a_write_is_visible_to_the_request_right_after_its_response(stage: Stage, route: tuple[str, str]) -> None:
    SCENARIOS[route].run(stage)

    assert stage.raced, "the scenario never wrote inside race()"
    method, path = stage.raced[0]
    assert method == route[0] and route_pattern(route[1]).match(path), f"the raced write was {method} {path}"
