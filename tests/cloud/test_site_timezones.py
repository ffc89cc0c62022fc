"""Each room keeps time in its site's zone: ``KYWASH_SITE_TIMEZONES`` (JSON, site → IANA zone,
checked at start), else ``KYWASH_TIMEZONE``; the rooms, machines and display answers say which."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from cloud.domain.rooms.display import display_snapshot
from cloud.platform.settings import CloudSettings, describe_errors
from cloud.runtime.app import create_app
from kywash.clock import FakeClock, to_datetime
from tests.cloud.fake_edge import FakeEdge


def test_site_zones_come_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KYWASH_TIMEZONE", "Europe/London")
    monkeypatch.setenv("KYWASH_SITE_TIMEZONES", '{"north": "Europe/Madrid", "east": "Asia/Tokyo"}')
    settings = CloudSettings()
    assert settings.site_timezones == {"north": "Europe/Madrid", "east": "Asia/Tokyo"}
    assert settings.timezone_of("north") == "Europe/Madrid"
    assert settings.timezone_of("east") == "Asia/Tokyo"
    assert settings.timezone_of("south") == "Europe/London"


def test_no_site_zones_by_default() -> None:
    settings = CloudSettings()
    assert settings.site_timezones == {}
    assert settings.timezone_of("north") == settings.timezone == "UTC"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('{"north": "Mars/Olympus"}', "unknown time zone 'Mars/Olympus'"),
        ('{"North Campus": "Europe/Madrid"}', "site 'North Campus'"),
        ('{"north": 5}', "site_timezones"),
        ('["Europe/Madrid"]', "site_timezones"),
    ],
)
def test_a_bad_site_zone_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, value: str, says: str) -> None:
    monkeypatch.setenv("KYWASH_SITE_TIMEZONES", value)
    with pytest.raises(ValidationError) as exc:
        CloudSettings()
    described = "\n".join(describe_errors(exc.value))
    assert "site_timezones" in described
    assert says in described


@pytest.fixture
def madrid_client(sqlite_url: str, unique_site: str, fake_clock: FakeClock) -> Iterator[TestClient]:
    settings = CloudSettings(
        database_url=sqlite_url,
        ingest_enabled=False,
        ingest_site=unique_site,
        timer_loop=False,
        timezone="Asia/Tokyo",
        site_timezones={unique_site: "Europe/Madrid"},
    )
    with TestClient(create_app(settings, clock=fake_clock)) as client:
        yield client


def test_the_room_machines_and_display_answers_name_the_rooms_zone(
    madrid_client: TestClient, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    ingest = madrid_client.app.state.cloud.ingest  # type: ignore[attr-defined]
    assert madrid_client.portal is not None
    for topic, payload in (edge.info(), edge.status(online=True), *(edge.state(m.id) for m in edge.machines)):
        madrid_client.portal.call(ingest.handle, topic, payload)
    [room] = madrid_client.get("/api/v1/rooms", params={"site": edge.site}).json()
    assert room["timezone"] == "Europe/Madrid"
    machines = madrid_client.get("/api/v1/machines/", params={"site": edge.site, "room": edge.room}).json()
    assert machines["timezone"] == "Europe/Madrid"
    engine = madrid_client.app.state.cloud.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        snapshot = display_snapshot(conn, edge.site, edge.room, to_datetime(fake_clock.now()), "Europe/Madrid")
    assert snapshot.timezone == "Europe/Madrid"
