"""The web app at ``/``: its login form is labelled, its modules are served, no script puts
server data into HTML (only ``textContent`` and DOM APIs), and the service worker, the
manifest and its icons are where a phone looks for them."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import struct
import subprocess
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cloud.api.web import STATIC_DIR

WORKER = STATIC_DIR / "sw.js"
JS_FILES = sorted(STATIC_DIR.glob("*.js"))
PAGE_MODULES = [path for path in JS_FILES if path != WORKER]
VENDOR_DIR = STATIC_DIR / "vendor"  # third-party files as published (Swagger UI): not ours to lint
TEXT_FILES = sorted(
    p
    for p in STATIC_DIR.rglob("*")
    if p.suffix in {".js", ".html", ".css", ".webmanifest"} and VENDOR_DIR not in p.parents
)
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
HTML_SINKS = re.compile(r"\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write)\b")
IMPORT = re.compile(r"""^\s*import\s[^'"]*['"](\./[^'"]+)['"]""", re.MULTILINE)


class _Page(HTMLParser):
    """Collects the page's elements by id, its labels, and its module scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.label_for: set[str] = set()
        self.modules: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        attributes["<tag>"] = tag
        if attributes.get("id"):
            self.by_id[str(attributes["id"])] = attributes
        if tag == "label" and attributes.get("for"):
            self.label_for.add(str(attributes["for"]))
        if tag == "script" and attributes.get("type") == "module" and attributes.get("src"):
            self.modules.append(str(attributes["src"]))


def _page(client: TestClient, path: str = "/") -> _Page:
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = _Page()
    page.feed(response.text)
    return page


def _module_graph(client: TestClient, entry_points: list[str]) -> dict[str, str]:
    """Every module the page loads, following relative imports: URL -> source."""
    seen: dict[str, str] = {}
    pending = list(entry_points)
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        response = client.get(url)
        assert response.status_code == 200, url
        assert "javascript" in response.headers["content-type"], (url, response.headers["content-type"])
        seen[url] = response.text
        base = url.rsplit("/", 1)[0]
        pending.extend(f"{base}/{target.removeprefix('./')}" for target in IMPORT.findall(response.text))
    return seen


def test_the_login_form_fields_are_labelled_for_screen_readers(client: TestClient) -> None:
    page = _page(client)
    student_id, pin, phone = (page.by_id[name] for name in ("student-id", "pin", "phone"))
    assert {"student-id", "pin", "phone"} <= page.label_for
    assert student_id["inputmode"] == "numeric" and student_id["name"] == "student_id"
    assert pin["type"] == "password" and pin["inputmode"] == "numeric" and pin["name"] == "pin"
    assert phone["type"] == "tel" and phone["name"] == "phone_number"
    assert page.by_id["login-error"]["role"] == "alert"
    assert page.by_id["action-status"]["role"] == "status"
    assert page.by_id["logout"]["<tag>"] == "button"


def test_every_module_the_page_loads_is_served_as_javascript(client: TestClient) -> None:
    page = _page(client)
    assert page.modules == ["/static/app.js"]
    modules = _module_graph(client, page.modules)
    display = _page(client, "/display/site/room")  # the wall display: a page of its own
    assert display.modules == ["/static/display.js"]
    loaded = set(modules) | set(_module_graph(client, display.modules))
    assert loaded == {f"/static/{path.name}" for path in PAGE_MODULES}, "a static .js file nobody imports?"
    everything = "\n".join(modules.values())
    endpoints = (
        "/api/ws",
        "/api/v1/machines/",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/staff/login",
        "/api/v1/waitlist/",
        "/api/v1/faults/report",
        "/api/v1/notifications/",
        "/api/v1/push/key",
        "/api/v1/push/subscriptions",
        "/api/v1/activities/",
        "/api/v1/profile/me",
        "/api/v1/rooms/status",
        "/busy-hours",
    )
    for endpoint in endpoints:
        assert endpoint in everything
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")


def test_the_websocket_token_goes_in_the_first_message_never_in_the_url() -> None:
    live = (STATIC_DIR / "live.js").read_text(encoding="utf-8")
    assert '{ type: "auth", token: access }' in live
    url = re.search(r"new WebSocket\(([^;]*)\);", live)
    assert url is not None and "token" not in url.group(1).lower() and "access" not in url.group(1)


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: p.name)
def test_no_static_file_writes_html(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not HTML_SINKS.search(text), f"{path.name}: use textContent / DOM APIs for server data"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.name)
def test_the_scripts_parse(path: Path, tmp_path: Path) -> None:
    """Checked as ``.mjs``: Node 20's ``--check`` passes a ``.js`` file with ``import`` in it unparsed."""
    node = shutil.which("node")
    assert node is not None
    module = tmp_path / f"{path.stem}.mjs"
    shutil.copyfile(path, module)
    result = subprocess.run([node, "--check", str(module)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr


def test_the_service_worker_is_served_from_the_root_uncached(client: TestClient) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200 and "javascript" in response.headers["content-type"]
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["cache-control"] == "no-cache"
    for event in ("push", "notificationclick"):
        assert f'addEventListener("{event}"' in response.text
    assert 'register("/sw.js", { scope: "/" })' in (STATIC_DIR / "push.js").read_text(encoding="utf-8")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_app_is_installable_with_its_manifest_and_icons(client: TestClient) -> None:
    html = client.get("/").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    response = client.get("/manifest.webmanifest")
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.text)
    assert (manifest["start_url"], manifest["display"]) == ("/", "standalone")
    assert manifest["name"] and manifest["short_name"] and manifest["theme_color"]
    seen = set()
    for icon in manifest["icons"]:
        served = client.get(icon["src"])
        assert served.status_code == 200 and served.headers["content-type"] == "image/png", icon["src"]
        width, height = _png_size(served.content)
        assert icon["sizes"] == f"{width}x{height}"
        seen.add((icon["sizes"], icon.get("purpose", "any")))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= seen


def test_the_package_ships_every_static_file() -> None:
    """``pip install`` copies only what ``[tool.setuptools.package-data]`` matches."""
    patterns = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]["cloud"]
    cloud_dir = STATIC_DIR.parents[2]  # cloud/api/web/static -> cloud
    for path in STATIC_DIR.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(cloud_dir).as_posix()
            assert any(fnmatch.fnmatch(relative, p) and relative.count("/") == p.count("/") for p in patterns), relative


def test_the_staff_login_and_the_fault_photo_are_labelled(client: TestClient) -> None:
    page = _page(client)
    assert {
        "staff-username",
        "staff-password",
        "report-description",
        "report-photo",
        "service-reason",
    } <= page.label_for
    photo = page.by_id["report-photo"]
    assert (photo["type"], photo["accept"], photo["capture"]) == ("file", "image/*", "environment")
    assert page.by_id["staff-password"]["type"] == "password"


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.name)
def test_every_script_is_small_and_says_what_it_is_for(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("//"), f"{path.name}: start with a comment saying what the module is for"
    assert len(lines) <= 300, f"{path.name}: {len(lines)} lines; split it"


def test_the_manifest_speaks_the_phones_language(client: TestClient) -> None:
    spanish = client.get("/manifest.webmanifest", headers={"Accept-Language": "es-ES,es;q=0.9"}).json()
    english = client.get("/manifest.webmanifest", headers={"Accept-Language": "fr-FR"}).json()
    assert (spanish["lang"], english["lang"]) == ("es", "en")
    assert spanish["name"] == "KY Wash — lavandería" and "lavadoras" in spanish["description"].lower()
    assert english["name"] == "KY Wash — laundry room" and "washers" in english["description"]
    assert spanish["icons"] == english["icons"] and spanish["start_url"] == "/"
