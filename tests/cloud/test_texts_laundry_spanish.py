"""Claims, out of service and fault reports in the reader's language: a refusal answers in the
request's (or the user's) language, an activity entry reads in each reader's; an English reader
reads exactly what they always did."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from kywash.clock import FakeClock
from tests.cloud.accounts_support import Account, choose_language, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.faults_support import report
from tests.cloud.laundry_support import Room, open_room

SPANISH = {"Accept-Language": "es"}
WASHER_1 = {"machine_type": "washer", "machine_id": 1}


@pytest.fixture
def room(client: TestClient, feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(client, feed, edge, fake_clock)


def refusal(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    message: str = error["message"]
    return message


def entries(room: Room, account: Account, type_: str) -> list[str]:
    response = room.client.get("/api/v1/activities/", headers=account.headers, params={"type": type_})
    assert response.status_code == 200, response.text
    return [item["message"] for item in response.json()["items"]]


def test_a_claim_on_a_running_machine_is_refused_in_the_requests_language(room: Room) -> None:
    ana = make_account(room.client, "300101")
    room.sensors("washer-1", "start")
    spanish = room.post("/machines/start", WASHER_1, {**ana.headers, **SPANISH})
    assert refusal(spanish, 409, "machine_in_use") == "Lavadora 1 está en marcha"
    english = room.post("/machines/start", WASHER_1, ana.headers)
    assert refusal(english, 409, "machine_in_use") == "Washer 1 is running"


def test_ending_a_running_claim_is_refused_in_the_students_language(room: Room) -> None:
    ana, bob = make_account(room.client, "300111"), make_account(room.client, "300112")
    choose_language(room.client, ana, "es")
    assert room.post("/machines/start", WASHER_1, ana.headers).status_code == 201
    assert room.post("/machines/start", {**WASHER_1, "machine_id": 2}, bob.headers).status_code == 201
    room.sensors("washer-1", "start")
    room.sensors("washer-2", "start")

    assert refusal(room.post("/machines/cancel", WASHER_1, ana.headers), 409, "claim_active") == (
        "Lavadora 1 ya está en marcha; la reserva termina cuando acabe el ciclo (usa end)"
    )
    assert refusal(room.post("/machines/end", WASHER_1, ana.headers), 409, "cycle_running") == (
        "los sensores aún ven la lavadora 1 en marcha; podrás terminar la reserva cuando se pare"
    )
    bob_end = room.post("/machines/end", {**WASHER_1, "machine_id": 2}, bob.headers)
    assert refusal(bob_end, 409, "cycle_running") == (
        "the sensors still see washer 2 running; it can be ended when it stops"
    )


def test_a_cancelled_claim_reads_in_each_readers_language(room: Room) -> None:
    ana, bob = make_account(room.client, "300121"), make_account(room.client, "300122")
    staff = make_account(room.client, "warden", role="staff")
    choose_language(room.client, ana, "es")
    assert room.post("/machines/start", WASHER_1, ana.headers).status_code == 201
    assert room.post("/machines/cancel", WASHER_1, ana.headers).status_code == 200
    assert room.post("/machines/start", {**WASHER_1, "machine_id": 2}, bob.headers).status_code == 201
    assert room.post("/machines/cancel", {**WASHER_1, "machine_id": 2}, staff.headers).status_code == 200

    assert entries(room, ana, "claim_cancelled") == ["la reserva de la lavadora 1 se canceló (cancelada)"]
    assert entries(room, bob, "claim_cancelled") == ["claim on washer 2 cancelled (cancelled by staff)"]
    assert entries(room, staff, "claim_cancelled") == [
        "claim on washer 2 cancelled (cancelled by staff)",
        "claim on washer 1 cancelled (cancelled)",
    ]


def test_out_of_service_in_a_spanish_staff_members_language(room: Room) -> None:
    spanish = make_account(room.client, "warden", role="staff")
    english = make_account(room.client, "tech", role="staff")
    choose_language(room.client, spanish, "es")
    where = f"{room.edge.site}/{room.edge.room}"
    taken = room.post("/machines/washer/1/out-of-service", {"reason": "leaking"}, spanish.headers)
    assert taken.status_code == 200, taken.text
    again = room.post("/machines/washer/1/out-of-service", {"reason": "leaking"}, spanish.headers)
    assert refusal(again, 409, "already_out_of_service") == "Lavadora 1 ya está fuera de servicio"
    again = room.post("/machines/washer/1/out-of-service", {"reason": "leaking"}, english.headers)
    assert refusal(again, 409, "already_out_of_service") == "washer 1 is already out of service"
    back = room.post("/machines/washer/1/back-in-service", {"note": "new hose"}, english.headers)
    assert back.status_code == 200, back.text

    assert entries(room, spanish, "machine_out_of_service") == [
        f"el personal puso fuera de servicio la lavadora 1 en {where}: leaking"
    ]
    assert entries(room, spanish, "machine_back_in_service") == [
        f"Lavadora 1 en {where} vuelve a estar en servicio: new hose"
    ]
    assert entries(room, english, "machine_out_of_service") == [
        f"Washer 1 in {where} was taken out of service by staff: leaking"
    ]
    assert entries(room, english, "machine_back_in_service") == [f"Washer 1 in {where} is back in service: new hose"]


def test_fault_report_steps_in_each_readers_language(room: Room) -> None:
    ana = make_account(room.client, "300131")
    spanish = make_account(room.client, "warden", role="staff")
    english = make_account(room.client, "tech", role="staff")
    choose_language(room.client, spanish, "es")
    where = f"{room.edge.site}/{room.edge.room}"
    fault_id = report(room.client, ana).json()["id"]
    status = f"/api/v1/faults/{fault_id}/status"
    acknowledged = room.client.post(status, json={"status": "acknowledged", "note": "on it"}, headers=english.headers)
    assert acknowledged.status_code == 200, acknowledged.text
    resolved = room.client.post(status, json={"status": "resolved"}, headers=english.headers)
    assert resolved.status_code == 200, resolved.text
    again = room.client.post(status, json={"status": "resolved"}, headers=spanish.headers)
    assert refusal(again, 409, "already_resolved") == "el aviso ya está resuelto; vuelve a avisar del problema"
    again = room.client.post(status, json={"status": "resolved"}, headers=english.headers)
    assert refusal(again, 409, "already_resolved") == "the report is already resolved; report the problem again"

    assert entries(room, spanish, "fault_reported") == [f"Aviso de avería sobre la lavadora 1 en {where}"]
    assert entries(room, spanish, "fault_updated") == [
        f"Un aviso de avería sobre la lavadora 1 en {where}: el personal ha visto el aviso: on it"
    ]
    assert entries(room, spanish, "fault_resolved") == [
        f"Se resolvió un aviso de avería sobre la lavadora 1 en {where}"
    ]
    assert entries(room, english, "fault_reported") == [f"Fault reported on Washer 1 in {where}"]
    assert entries(room, english, "fault_updated") == [
        f"A fault report on Washer 1 in {where}: report acknowledged by staff: on it"
    ]
    assert entries(room, english, "fault_resolved") == [f"A fault report on Washer 1 in {where} was resolved"]


def test_a_photo_that_is_no_image_is_refused_in_the_requests_language(room: Room) -> None:
    ana = make_account(room.client, "300141")
    photo = ("leak.exe", b"MZ\x90\x00 an executable", "image/png")
    spanish = room.client.post(
        "/api/v1/faults/report",
        data={"machine_type": "washer", "machine_id": "1", "description": "It leaks water all over the floor"},
        files={"photo": photo},
        headers={**ana.headers, **SPANISH},
    )
    assert refusal(spanish, 415, "unsupported_photo") == (
        "la foto debe ser una imagen JPEG, PNG o WebP; el aviso no se guardó"
    )
    english = report(room.client, ana, photo=photo)
    assert refusal(english, 415, "unsupported_photo") == (
        "the photo must be a JPEG, PNG or WebP image; the report was not saved"
    )
