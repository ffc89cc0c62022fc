"""deploy/compose.yaml: it parses, every file it names exists, and the stack is wired as an
operator expects (the cloud waits for a healthy database and broker, nothing private is
published, the broker runs the repository's mosquitto.conf)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cloud.platform.settings import CloudSettings
from cloud.runtime.cli import cloud_command

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    mounts = [volume.split(":")[:2] for volume in service.get("volumes", [])]
    return [(source, target) for source, target in mounts if source.startswith((".", "/"))]


def test_the_stack_is_the_cloud_its_database_and_its_broker(stack: dict[str, Any]) -> None:
    assert set(stack["services"]) == {"cloud", "db", "broker"}
    for name, service in stack["services"].items():
        assert "healthcheck" in service, name
        assert service["restart"] == "unless-stopped", name


def test_the_cloud_starts_after_a_healthy_database_and_broker(stack: dict[str, Any]) -> None:
    depends = stack["services"]["cloud"]["depends_on"]
    assert depends == {"db": {"condition": "service_healthy"}, "broker": {"condition": "service_healthy"}}


def test_every_file_it_names_exists(stack: dict[str, Any]) -> None:
    build = stack["services"]["cloud"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert context == ROOT
    dockerfile = context / build["dockerfile"]
    assert dockerfile.is_file()
    for line in dockerfile.read_text().splitlines():  # what the image copies from the context
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (context / source).exists(), source
    for service in stack["services"].values():
        for source, _ in bind_mounts(service):
            assert (DEPLOY / source).exists(), source
        for env_file in service.get("env_file", []):  # the operator makes it from the example
            assert (DEPLOY / f"{env_file}.example").is_file(), env_file
            assert Path(env_file).name in (DEPLOY / env_file).parent.joinpath(".gitignore").read_text()


def test_named_volumes_are_declared_and_hold_the_state(stack: dict[str, Any]) -> None:
    named = {
        volume.split(":")[0]: volume.split(":")[1]
        for service in stack["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert set(named) == set(stack["volumes"])
    assert named["pgdata"] == "/var/lib/postgresql/data"
    assert named["mosquitto"] == "/var/lib/mosquitto"  # persistence_location in mosquitto.conf
    cloud_env = stack["services"]["cloud"]["environment"]
    assert cloud_env["KYWASH_PHOTO_DIR"].startswith(named["cloud"])
    assert cloud_env["KYWASH_VAPID_KEY_PATH"].startswith(named["cloud"])


def test_only_the_edges_tls_port_is_public(stack: dict[str, Any]) -> None:
    services = stack["services"]
    assert "ports" not in services["db"]
    assert services["cloud"]["ports"] == ["127.0.0.1:8000:8000"]  # where deploy/nginx/kywash.conf proxies
    assert set(services["broker"]["ports"]) == {"8883:8883", "127.0.0.1:9001:9001"}
    assert "server 127.0.0.1:8000;" in (DEPLOY / "nginx" / "kywash.conf").read_text()


def test_the_broker_runs_mosquitto_conf_with_only_its_loopback_binds_opened(stack: dict[str, Any]) -> None:
    broker = stack["services"]["broker"]
    assert ("../mosquitto.conf", "/kywash/mosquitto.conf") in bind_mounts(broker)
    script = broker["command"][-1].replace("$$", "$")  # compose's escape for a literal $
    conf = (ROOT / "mosquitto.conf").read_text()
    rewritten = conf
    for old, new in re.findall(r"s/(\^[^/]+\$)/([^/]+)/", script):
        pattern = old.replace("\\", "")
        assert re.search(pattern, conf, re.M), f"{old} matches no line of mosquitto.conf"
        rewritten = re.sub(pattern, new, rewritten, flags=re.M)
    assert "listener 1883\n" in rewritten and "listener 9001\n" in rewritten
    assert rewritten.count("\n") == conf.count("\n")  # no line added or lost
    for path in re.findall(r"^(?:password_file|acl_file|cafile|certfile|keyfile) (\S+)", conf, re.M):
        assert path.startswith("/etc/mosquitto/")  # inside the ./broker mount


def test_the_cloud_is_configured_by_real_settings_and_real_options(stack: dict[str, Any]) -> None:
    cloud = stack["services"]["cloud"]
    fields = {f"KYWASH_{name.upper()}" for name in CloudSettings.model_fields}
    assert set(cloud["environment"]) <= fields
    assert cloud["environment"]["KYWASH_MQTT_URL"] == "mqtt://broker:1883"
    assert cloud["environment"]["KYWASH_DATABASE_URL"].startswith("postgresql+psycopg://kywash:")
    dockerfile = (ROOT / cloud["build"]["dockerfile"]).read_text()
    cmd = shlex.split(re.search(r"^CMD \[(.*)\]$", dockerfile, re.M)[1].replace(",", " "))  # type: ignore[index]
    assert cmd[:2] == ["kywash", "cloud"]
    help_text = CliRunner().invoke(cloud_command, ["--help"]).output
    assert all(option in help_text for option in cmd if option.startswith("--"))
