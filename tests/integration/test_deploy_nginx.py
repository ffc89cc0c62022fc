"""deploy/nginx/kywash.conf: its promises read from the file, ``nginx -t`` on it, and a real
nginx (where installed) in front of a real cloud: the redirect, the headers, the WebSocket
upgrade and the upload limit that lets every photo the cloud accepts through."""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from cloud.runtime.server import RunningServer, serve
from cloud.runtime.state import CloudState
from launchers.broker import free_port
from tests.conftest import REQUIRE_SERVICES
from tests.support.live import bearer, issue_access_token
from tests.support.nginx import NGINX, SERVER_NAME, SITE, NginxProcess, check_conf, site_for_test, write_nginx_conf

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
# Skipped on a laptop without nginx; in CI (KYWASH_REQUIRE_SERVICES=1, .ci/run installs it) it must run.
needs_nginx = pytest.mark.skipif(
    NGINX is None and not REQUIRE_SERVICES, reason="nginx is not installed (apt-get install nginx-light)"
)


def locations(text: str) -> dict[str, str]:
    """``location`` path -> its block's text (blocks here hold no nested braces)."""
    return {m[1]: m[2] for m in re.finditer(r"location\s+(?:=\s+)?(\S+)\s*\{([^}]*)\}", text)}


def size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([km]?)", value.lower()).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": MiB}[unit]


def test_the_site_redirects_http_and_serves_tls_with_certbots_paths() -> None:
    text = SITE.read_text()
    assert "return 301 https://$host$request_uri;" in text
    assert "location /.well-known/acme-challenge/" in text  # renewals over plain HTTP
    assert f"ssl_certificate /etc/letsencrypt/live/{SERVER_NAME}/fullchain.pem;" in text
    assert f"ssl_certificate_key /etc/letsencrypt/live/{SERVER_NAME}/privkey.pem;" in text
    for header in ("Strict-Transport-Security", "X-Content-Type-Options", "Content-Security-Policy", "X-Frame-Options"):
        assert re.search(rf"add_header {header} .* always;", text), header


def test_websockets_are_upgraded_for_the_app_and_for_mqtt_dashboards() -> None:
    blocks = locations(SITE.read_text())
    for path in ("/api/ws", "/api/ws/display/", "/mqtt"):
        assert "proxy_set_header Upgrade $http_upgrade;" in blocks[path]
        assert "proxy_set_header Connection $kywash_connection;" in blocks[path]
    # The broker's websockets listener, as mosquitto.conf declares it.
    conf = (ROOT / "mosquitto.conf").read_text()
    assert re.search(r"^listener 9001 127\.0\.0\.1\nprotocol websockets$", conf, re.M)
    assert "server 127.0.0.1:9001;" in SITE.read_text()


def test_the_upload_limit_fits_the_photo_limit_and_nothing_else_gets_it() -> None:
    text = SITE.read_text()
    photo_max = CloudSettings().photo_max_bytes
    report = locations(text)["/api/v1/faults/report"]
    limit = size(re.search(r"client_max_body_size (\w+);", report)[1])  # type: ignore[index]
    assert photo_max + 64 * 1024 <= limit <= photo_max + 2 * MiB  # the photo plus its envelope
    default = re.search(r"^    client_max_body_size (\w+);", text, re.M)
    assert default is not None and size(default[1]) <= MiB


def test_the_upstream_is_where_the_cloud_unit_listens() -> None:
    unit = (ROOT / "deploy" / "systemd" / "kywash-cloud.service").read_text()
    start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    port = start.split("--port")[1].split()[0]
    assert f"server 127.0.0.1:{port};" in SITE.read_text()
    assert "--host 127.0.0.1" in start


@needs_nginx
def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    site = site_for_test(tmp_path, http_port=free_port(), https_port=free_port(), cloud_port=8000, mqtt_port=9001)
    result = check_conf(write_nginx_conf(tmp_path, site))
    assert result.returncode == 0, result.stderr


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[tuple[RunningServer, CloudState]]:
    settings = CloudSettings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}", ingest_enabled=False, photo_dir=str(tmp_path / "photos")
    )
    app = create_app(settings)
    with serve(app, "127.0.0.1", free_port()) as server:
        yield server, app.state.cloud


@needs_nginx
def test_a_real_nginx_in_front_of_the_cloud(tmp_path: Path, cloud: tuple[RunningServer, CloudState]) -> None:
    server, state = cloud
    http_port, https_port = free_port(), free_port()
    site = site_for_test(tmp_path, http_port=http_port, https_port=https_port, cloud_port=server.port, mqtt_port=1)
    with NginxProcess(write_nginx_conf(tmp_path, site), https_port), httpx.Client(verify=False, timeout=10) as http:
        redirect = http.get(f"http://127.0.0.1:{http_port}/api/health", headers={"Host": SERVER_NAME})
        assert redirect.status_code == 301
        assert redirect.headers["location"] == f"https://{SERVER_NAME}/api/health"

        base = f"https://127.0.0.1:{https_port}"
        health = http.get(f"{base}/api/health", headers={"Host": SERVER_NAME})
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert "max-age=" in health.headers["strict-transport-security"]
        assert health.headers["x-content-type-options"] == "nosniff"
        assert http.get(f"{base}/metrics").status_code == 404  # scraped on loopback, never public

        # Uploads: a photo at the cloud's limit reaches the cloud (which wants a login); more is 413.
        photo = {"photo": ("leak.jpg", b"\xff" * CloudSettings().photo_max_bytes, "image/jpeg")}
        fields = {"machine_type": "washer", "machine_id": "1", "description": "Leaks from the door seal"}
        assert http.post(f"{base}/api/v1/faults/report", data=fields, files=photo).status_code == 401
        huge = {"photo": ("leak.jpg", b"\xff" * 7 * MiB, "image/jpeg")}
        assert http.post(f"{base}/api/v1/faults/report", data=fields, files=huge).status_code == 413
        assert http.post(f"{base}/api/v1/auth/login", content=b"x" * 2 * MiB).status_code == 413

        # The live stream through nginx's WebSocket upgrade.
        token = issue_access_token(state.engine, state.settings, state.clock.now())
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with connect(f"wss://127.0.0.1:{https_port}/api/ws", ssl=context, additional_headers=bearer(token)) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "snapshot"
