"""The VAPID key: made on the first start, mode 0600, and the same key on every start after."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.testclient import TestClient

from cloud.domain.push.keys import load_or_create_key
from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from tests.cloud.push_support import b64url


def public_key_of_a_start(settings: CloudSettings, clock: FakeClock) -> str:
    with TestClient(create_app(settings, clock=clock)) as client:
        key: str = client.get("/api/v1/push/key").json()["public_key"]
    return key


def test_the_key_is_made_once_and_kept_across_starts(
    offline_settings: CloudSettings, fake_clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "keys" / "vapid_private.pem"
    settings = offline_settings.model_copy(update={"vapid_key_path": str(path)})

    first = public_key_of_a_start(settings, fake_clock)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = path.read_bytes()
    second = public_key_of_a_start(settings, fake_clock)

    assert first == second
    assert path.read_bytes() == written
    assert [p.name for p in path.parent.iterdir()] == ["vapid_private.pem"], "no temporary file is left behind"


def test_the_key_is_read_from_the_environment_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str
) -> None:
    monkeypatch.setenv("KYWASH_VAPID_KEY_PATH", str(tmp_path / "from-env.pem"))
    settings = CloudSettings(database_url=sqlite_url, ingest_enabled=False, timer_loop=False)
    public_key_of_a_start(settings, FakeClock())
    assert (tmp_path / "from-env.pem").exists()


def test_an_existing_key_is_used_as_it_is(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "mine.pem"
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    path.chmod(0o600)
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

    loaded = load_or_create_key(path)

    assert loaded.public_key == b64url(point)


def test_a_key_that_is_not_p256_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rsa.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    with pytest.raises(ValueError, match="P-256"):
        load_or_create_key(path)
