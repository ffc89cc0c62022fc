"""Reporting a fault: the form, the room choice, and photos judged by their bytes, not their names."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.faults_support import JPEG, PNG, WEBP, Feed, assert_error, register, report


def photo_files(settings: CloudSettings) -> list[Path]:
    folder = Path(settings.photo_dir)
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_student_reports_a_fault(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    student = make_account(db_client, "123456")
    response = report(db_client, student, kind="washer", number=2, description="  Drum does not turn  ")
    assert response.status_code == 201, response.text
    fault = response.json()
    assert fault["id"] >= 1
    assert (fault["site"], fault["room"], fault["machine"], fault["kind"], fault["number"]) == (
        edge.site,
        "r1",
        "washer-2",
        "washer",
        2,
    )
    assert fault["description"] == "Drum does not turn"
    assert (fault["status"], fault["automatic"], fault["mine"]) == ("open", False, True)
    assert fault["photo_url"] is None and fault["reporter"] is None
    assert db_client.get("/api/v1/machines/washer/2").json()["open_faults"] == 1


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"machine_type": "iron"}, "machine_type"),
        ({"machine_id": "0"}, "machine_id"),
        ({"machine_id": "two"}, "machine_id"),
        ({"description": "   "}, "description"),
        ({"description": "x" * 1001}, "description"),
    ],
)
def test_bad_forms_are_refused_with_the_field_named(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge, form: dict[str, str], field: str
) -> None:
    register(db_feed, edge)
    student = make_account(db_client, "123456")
    data = {"machine_type": "washer", "machine_id": "1", "description": "broken", **form}
    response = db_client.post("/api/v1/faults/report", data=data, headers=student.headers)
    error = assert_error(response, 422, "invalid_input")
    assert field in {f["field"] for f in error["fields"]}


def test_a_missing_description_or_machine_is_refused(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    student = make_account(db_client, "123456")
    response = db_client.post("/api/v1/faults/report", data={"machine_type": "washer"}, headers=student.headers)
    error = assert_error(response, 422, "invalid_input")
    assert {f["field"] for f in error["fields"]} >= {"machine_id", "description"}
    assert_error(report(db_client, student, kind="dryer", number=5), 404, "no_such_machine")


def test_reporting_needs_an_account(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    assert_error(report(db_client, None), 401, "not_authenticated")


def test_the_room_comes_from_the_form_or_the_query(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    register(db_feed, FakeEdge(site=edge.site, room="r2"))
    student = make_account(db_client, "123456")
    assert_error(report(db_client, student), 422, "invalid_input")  # two rooms: which one?
    by_form = report(db_client, student, site=edge.site, room="r2")
    assert by_form.status_code == 201 and by_form.json()["room"] == "r2"
    by_query = report(db_client, student, params={"site": edge.site, "room": "r1"})
    assert by_query.status_code == 201 and by_query.json()["room"] == "r1"
    assert_error(report(db_client, student, site=edge.site, room="r9"), 404)


@pytest.mark.parametrize(
    ("filename", "content", "declared", "stored_type", "extension"),
    [
        ("photo.jpg", PNG, "image/jpeg", "image/png", ".png"),  # a PNG named .jpg is a PNG
        ("IMG_0001.JPG", JPEG, "application/octet-stream", "image/jpeg", ".jpg"),
        ("../../etc/passwd", WEBP, "text/plain", "image/webp", ".webp"),
    ],
)
def test_photos_are_judged_by_their_bytes_and_stored_under_a_random_name(
    db_client: TestClient,
    db_feed: Feed,
    edge: FakeEdge,
    db_settings: CloudSettings,
    filename: str,
    content: bytes,
    declared: str,
    stored_type: str,
    extension: str,
) -> None:
    register(db_feed, edge)
    student = make_account(db_client, "123456")
    response = report(db_client, student, photo=(filename, content, declared))
    assert response.status_code == 201, response.text
    fault = response.json()
    assert fault["photo_url"] == f"/api/v1/faults/{fault['id']}/photo"
    (stored,) = photo_files(db_settings)
    assert stored.parent == Path(db_settings.photo_dir)
    assert stored.suffix == extension and len(stored.stem) == 32
    stem = Path(filename).stem.lower()
    assert stem not in stored.name.lower() and "passwd" not in stored.name
    assert stored.read_bytes() == content
    photo = db_client.get(fault["photo_url"], headers=student.headers)
    assert photo.status_code == 200
    assert photo.headers["content-type"] == stored_type
    assert photo.content == content


def test_a_text_file_named_like_a_photo_refuses_the_whole_report(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge, db_settings: CloudSettings
) -> None:
    register(db_feed, edge)
    student = make_account(db_client, "123456")
    response = report(db_client, student, photo=("photo.jpg", b"<html><script>alert(1)</script>", "image/jpeg"))
    error = assert_error(response, 415, "unsupported_photo")
    assert "not saved" in error["message"]
    assert photo_files(db_settings) == []
    assert db_client.get("/api/v1/faults/", headers=student.headers).json()["items"] == []


def test_an_empty_file_part_means_no_photo(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    """What a browser sends when no file was chosen: a part with no name and no bytes."""
    register(db_feed, edge)
    student = make_account(db_client, "123456")
    response = report(db_client, student, photo=("", b"", "application/octet-stream"))
    assert response.status_code == 201, response.text
    assert response.json()["photo_url"] is None


def test_the_size_limit_is_inclusive(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge, db_settings: CloudSettings
) -> None:
    register(db_feed, edge)
    student = make_account(db_client, "123456")
    limit = db_settings.photo_max_bytes
    assert limit == 5 * 1024 * 1024
    at_limit = PNG + bytes(limit - len(PNG))
    accepted = report(db_client, student, photo=("big.png", at_limit, "image/png"))
    assert accepted.status_code == 201, accepted.text
    over = report(db_client, student, photo=("big.png", at_limit + b"\x00", "image/png"))
    error = assert_error(over, 413, "photo_too_large")
    assert error["max_bytes"] == limit
    assert len(photo_files(db_settings)) == 1  # only the accepted one; no temporary file left
    assert len(db_client.get("/api/v1/faults/", headers=student.headers).json()["items"]) == 1
