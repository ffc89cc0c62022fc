"""The room page at ``/``: its login form is labelled, its modules are served, and no script
puts server data into HTML (only ``textContent`` and DOM APIs)."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cloud.web import STATIC_DIR

JS_FILES = sorted(STATIC_DIR.glob("*.js"))
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


def _page(client: TestClient) -> _Page:
    response = client.get("/")
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
    assert set(modules) == {f"/static/{path.name}" for path in JS_FILES}, "a static .js file nobody imports?"
    everything = "\n".join(modules.values())
    for endpoint in ("/api/ws", "/api/v1/machines/", "/api/v1/auth/login", "/api/v1/auth/refresh"):
        assert endpoint in everything
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")


def test_the_websocket_token_goes_in_the_first_message_never_in_the_url() -> None:
    live = (STATIC_DIR / "live.js").read_text(encoding="utf-8")
    assert '{ type: "auth", token: access }' in live
    url = re.search(r"new WebSocket\(([^;]*)\);", live)
    assert url is not None and "token" not in url.group(1).lower() and "access" not in url.group(1)


@pytest.mark.parametrize("path", sorted(STATIC_DIR.iterdir()), ids=lambda p: p.name)
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
