"""The README's curl examples, run as written against a live cloud server holding the demo's room."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from cloud.runtime.server import serve
from launchers.broker import free_port
from tests.support.seed import demo_room_edge, seed_room

README = Path(__file__).resolve().parents[2] / "README.md"
TINY_JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def curl_block() -> str:
    blocks = re.findall(r"```sh\n(API=http://127\.0\.0\.1:8000/api/v1\n.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1, "the README should have one block of curl examples starting with API=..."
    return blocks[0]


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash")
def test_the_readme_curl_examples_work(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    seed_room(url, demo_room_edge())
    settings = CloudSettings(database_url=url, ingest_enabled=False, photo_dir=str(tmp_path / "photos"))
    (tmp_path / "leak.jpg").write_bytes(TINY_JPEG)
    port = free_port()
    script = "set -euo pipefail\n" + curl_block().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    with serve(create_app(settings), port=port):
        done = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    out = done.stdout
    assert '"access_token"' in out and '"washers"' in out
    assert '"status":"pending"' in out and '"status":"cancelled"' in out
    assert '"open_faults":1' in out
    assert '"student_id":"123456"' in out
    assert list((tmp_path / "photos").iterdir()), "the photo was stored"
