"""``kywash cloud create-staff``: the only way to make a staff account."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select
from starlette.testclient import TestClient

from cloud.domain.accounts.passwords import verify_secret
from cloud.platform.settings import CloudSettings
from cloud.platform.storage.engine import make_engine
from cloud.platform.storage.tables import users
from cloud.runtime.app import create_app
from cloud.runtime.cli import cloud_command, shown_url
from kywash.clock import FakeClock

PASSWORD = "correct horse battery"


def create_staff(database_url: str, *args: str, input: str | None = f"{PASSWORD}\n") -> tuple[int, str, str]:
    command = ["--database-url", database_url, "create-staff", *args]
    result = CliRunner().invoke(cloud_command, command, input=input)
    return result.exit_code, result.stdout, result.stderr


def stored_staff(database_url: str) -> list[tuple[str, str, str | None]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(users.c.username, users.c.role, users.c.secret_hash, users.c.student_id))
            return [
                (row.username, row.role, row.student_id) for row in rows if verify_secret(row.secret_hash, PASSWORD)
            ]
    finally:
        engine.dispose()


def test_creates_a_staff_user_on_a_fresh_database(database_url: str) -> None:
    code, out, err = create_staff(database_url, "--username", "Janitor", "--password-stdin")
    assert (code, err) == (0, "")
    assert "created staff user 'janitor'" in out
    assert PASSWORD not in out
    assert stored_staff(database_url) == [("janitor", "staff", None)]


def test_takes_the_database_url_after_the_subcommand_and_says_where_it_wrote(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo' / 'cloud.db'}"
    args = ["create-staff", "--username", "janitor", "--password-stdin", "--database-url", url]
    result = CliRunner().invoke(cloud_command, args, input=f"{PASSWORD}\n", env={"KYWASH_DATABASE_URL": "sqlite:///x"})
    assert result.exit_code == 0, result.output
    assert f"created staff user 'janitor' (id 1) in {url}" in result.stdout
    assert stored_staff(url) == [("janitor", "staff", None)]


def test_never_prints_a_database_password() -> None:
    assert "s3cret-pw" not in shown_url("postgresql+psycopg://kywash:s3cret-pw@db.example/kywash")
    assert shown_url("sqlite:////srv/kywash.db") == "sqlite:////srv/kywash.db"


def test_the_new_staff_user_can_log_in(sqlite_url: str, fake_clock: FakeClock) -> None:
    assert create_staff(sqlite_url, "--username", "janitor", "--password-stdin")[0] == 0
    settings = CloudSettings(database_url=sqlite_url, ingest_enabled=False)
    with TestClient(create_app(settings, clock=fake_clock)) as client:
        response = client.post("/api/v1/auth/staff/login", json={"username": "janitor", "password": PASSWORD})
        assert response.status_code == 200
        me = client.get("/api/v1/profile/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
        assert me.json()["role"] == "staff"


def test_prompts_twice_for_the_password(sqlite_url: str) -> None:
    code, out, _ = create_staff(sqlite_url, "--username", "janitor", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0, out
    assert "Repeat for confirmation" in out
    assert stored_staff(sqlite_url) == [("janitor", "staff", None)]


def test_refuses_a_taken_username(database_url: str) -> None:
    assert create_staff(database_url, "--username", "janitor", "--password-stdin")[0] == 0
    code, out, err = create_staff(database_url, "--username", "JANITOR", "--password-stdin")
    assert code == 1
    assert "error: username 'janitor' is already taken" in err
    assert "created" not in out


def test_refuses_a_short_password(sqlite_url: str) -> None:
    code, _, err = create_staff(sqlite_url, "--username", "janitor", "--password-stdin", input="elevenchars\n")
    assert code == 2
    assert "password must be 12" in err
    assert stored_staff(sqlite_url) == []


def test_refuses_a_username_that_could_be_a_student_id(sqlite_url: str) -> None:
    code, _, err = create_staff(sqlite_url, "--username", "123456", "--password-stdin")
    assert code == 2
    assert "username must be" in err


def test_username_is_required(sqlite_url: str) -> None:
    code, _, err = create_staff(sqlite_url, "--password-stdin")
    assert code == 2
    assert "--username" in err
