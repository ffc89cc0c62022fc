"""deploy/cloud/cloud.env.example: every line is a real setting, the defaults it shows are the
real defaults, production refuses it until its placeholders are filled, and accepts it after."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from cloud.platform.settings import CloudSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "cloud" / "cloud.env.example"
LINE = re.compile(r"^(#?)(KYWASH_[A-Z0-9_]+)=(.*)$")
MUST_SET = {
    "KYWASH_ENVIRONMENT",
    "KYWASH_SECRET_KEY",
    "KYWASH_DATABASE_URL",
    "KYWASH_MQTT_URL",
    "KYWASH_MQTT_USERNAME",
    "KYWASH_MQTT_PASSWORD",
    "KYWASH_MQTT_CLIENT_ID",
    "KYWASH_TRUST_FORWARDED_FOR",
    "KYWASH_PHOTO_DIR",
    "KYWASH_VAPID_KEY_PATH",
    "KYWASH_VAPID_SUBJECT",
}


def entries() -> tuple[dict[str, str], dict[str, str]]:
    """(settings set, settings shown commented out with their default)."""
    active: dict[str, str] = {}
    shown: dict[str, str] = {}
    for line in EXAMPLE.read_text().splitlines():
        match = LINE.match(line)
        if match:
            (shown if match[1] else active)[match[2]] = match[3]
    return active, shown


def filled(values: dict[str, str]) -> dict[str, str]:
    """The example with its CHANGE-ME placeholders filled as an operator would."""
    done = dict(values)
    done["KYWASH_SECRET_KEY"] = secrets.token_urlsafe(32)
    done["KYWASH_VAPID_SUBJECT"] = "mailto:laundry@example.edu"
    for key, value in done.items():
        done[key] = value.replace("CHANGE-ME", "s3cret")
    return done


def settings_from(values: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> CloudSettings:
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return CloudSettings()


def test_every_line_names_a_real_setting_and_production_needs_are_set() -> None:
    active, shown = entries()
    fields = {f"KYWASH_{name.upper()}" for name in CloudSettings.model_fields}
    assert set(active) | set(shown) <= fields
    assert set(active) >= MUST_SET
    assert active["KYWASH_ENVIRONMENT"] == "production"


def test_the_defaults_it_shows_are_the_defaults() -> None:
    _, shown = entries()
    defaults = CloudSettings()
    for key, value in shown.items():
        field = key.removeprefix("KYWASH_").lower()
        default = getattr(defaults, field)
        if isinstance(default, bool):
            assert value == str(default).lower(), key
        elif isinstance(default, float | int):
            assert float(value) == default, key
        else:
            assert value, key  # an example value for an optional setting


def test_production_refuses_the_example_until_the_secret_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    active, _ = entries()
    with pytest.raises(ValidationError, match="secret_key"):
        settings_from(active, monkeypatch)


def test_the_filled_in_example_starts_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    active, _ = entries()
    settings = settings_from(filled(active), monkeypatch)
    assert settings.environment == "production"
    assert settings.database_url.startswith("postgresql+psycopg://kywash:")
    assert (settings.mqtt_clean_session, settings.trust_forwarded_for) == (False, True)
    assert settings.photo_max_bytes == CloudSettings.model_fields["photo_max_bytes"].default
