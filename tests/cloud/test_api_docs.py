"""``/api/docs`` works offline: the page names only files the cloud serves itself."""

from __future__ import annotations

import hashlib
import re

from fastapi.testclient import TestClient

from cloud.api.web import STATIC_DIR

VENDOR = STATIC_DIR / "vendor" / "swagger-ui"


def test_the_docs_page_loads_only_what_the_cloud_serves(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page.text)
    named = [u for pair in urls for u in pair if u]
    assert named, "the page names no script or style"
    assert not [u for u in named if "//" in u], f"the docs page reaches outside: {named}"
    for url in named:
        served = client.get(url)
        assert served.status_code == 200, url
    assert client.get("/api/openapi.json").json()["openapi"].startswith("3.1")


def test_the_vendored_swagger_ui_is_the_one_its_readme_names() -> None:
    readme = (VENDOR / "README.md").read_text()
    version = re.search(r"^## swagger-ui-dist (\S+)", readme, re.MULTILINE)
    assert version is not None and int(version[1].split(".")[0]) >= 5  # OpenAPI 3.1 needs Swagger UI 5
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() in readme, name
    assert "Apache License" in (VENDOR / "LICENSE").read_text()
