"""Settings are checked at start: production refuses weak secrets; bad values name their field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import SecretStr, ValidationError

from cloud.platform.settings import DEFAULT_SECRET_KEY, CloudSettings, describe_errors
from cloud.runtime.cli import cloud_command

STRONG = "x" * 40


def fields_in(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [line.split(":", 1)[0] for line in describe_errors(exc.value)]


def test_development_defaults_start() -> None:
    settings = CloudSettings()
    assert settings.environment == "development"
    assert settings.database_url == "sqlite:///./data/kywash.db"
    assert settings.mqtt_url == "mqtt://127.0.0.1:1883"
    assert settings.mqtt_client_id.startswith("kywash-cloud-")
    assert CloudSettings().mqtt_client_id != settings.mqtt_client_id
    assert settings.mqtt_shared_group is None
    assert settings.ingest_enabled and settings.auto_register_rooms


@pytest.mark.parametrize("secret", [DEFAULT_SECRET_KEY, "short-but-not-default", "y" * 31])
def test_production_refuses_default_or_short_secret(secret: str) -> None:
    with pytest.raises(ValidationError) as exc:
        CloudSettings(environment="production", secret_key=SecretStr(secret))
    assert fields_in(exc) == ["secret_key"]


def test_production_accepts_a_strong_secret() -> None:
    settings = CloudSettings(environment="production", secret_key=SecretStr(STRONG))
    assert settings.secret_key.get_secret_value() == STRONG
    assert STRONG not in repr(settings)


def test_production_without_secret_in_env_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KYWASH_ENVIRONMENT", "production")
    with pytest.raises(ValidationError) as exc:
        CloudSettings()
    assert "KYWASH_SECRET_KEY" in str(exc.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("database_url", "mysql://db/kywash"),
        ("mqtt_url", "http://broker:1883"),
        ("mqtt_url", "mqtt://:1883"),
        ("mqtt_url", "mqtt://broker:notaport"),
        ("mqtt_shared_group", "a/b"),
        ("ingest_site", "#"),
        ("default_room", "Room 1"),
        ("environment", "staging"),
        ("websocket_queue_size", 0),
    ],
)
def test_bad_values_name_the_field(field: str, value: object) -> None:
    values: dict[str, Any] = {field: value}
    with pytest.raises(ValidationError) as exc:
        CloudSettings(**values)
    assert fields_in(exc) == [field]


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KYWASH_DATABASE_URL", "postgresql://kywash@db/kywash")
    monkeypatch.setenv("KYWASH_MQTT_URL", "mqtts://broker.example:8883")
    monkeypatch.setenv("KYWASH_INGEST_ENABLED", "false")
    settings = CloudSettings()
    assert settings.database_url == "postgresql+psycopg://kywash@db/kywash"
    assert (settings.mqtt_host, settings.mqtt_port, settings.mqtt_tls) == ("broker.example", 8883, True)
    assert settings.ingest_enabled is False


def test_persistent_session_needs_a_fixed_client_id() -> None:
    with pytest.raises(ValidationError, match="KYWASH_MQTT_CLIENT_ID"):
        CloudSettings(mqtt_clean_session=False)
    assert CloudSettings(mqtt_clean_session=False, mqtt_client_id="cloud-a").mqtt_client_id == "cloud-a"


def test_cli_reports_a_bad_setting_without_traceback() -> None:
    result = CliRunner().invoke(cloud_command, [], env={"KYWASH_ENVIRONMENT": "production"})
    assert result.exit_code == 2
    assert result.output.startswith("error: secret_key: ")
    assert "Traceback" not in result.output


def test_cli_option_errors_name_the_field() -> None:
    result = CliRunner().invoke(cloud_command, ["--mqtt-url", "http://nope"], env={})
    assert result.exit_code == 2
    assert "error: mqtt_url: must start with mqtt:// or mqtts://" in result.output


def test_cli_migrate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'kywash.db'}"
    result = CliRunner().invoke(cloud_command, ["--database-url", url, "migrate"])
    assert result.exit_code == 0, result.output
    assert "database at revision 0012" in result.output
    assert (tmp_path / "sub" / "kywash.db").exists()
