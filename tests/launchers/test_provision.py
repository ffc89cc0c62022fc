"""``kywash provision``: password lines, ACL blocks and room configs, without a broker."""

from __future__ import annotations

import base64
import shutil
import stat
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from paho.mqtt.client import topic_matches_sub

from edge.config import load_room_config
from kywash.contract import TOPIC_TABLE
from launchers.cli import main
from launchers.provision import (
    ACL_HEADER,
    CLOUD_USERNAME,
    AclBlock,
    ProvisionError,
    Role,
    acl_rules,
    edge_username,
    hash_password,
    password_line,
    update_acl,
    update_passwd,
)

REPO = Path(__file__).resolve().parents[2]


def provision(out: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["provision", *args, "--out", str(out)])


def room(out: Path, site: str = "maple-hall", name: str = "basement", *extra: str) -> Result:
    return provision(out, "room", "--site", site, "--room", name, "--broker-host", "mqtt.example.org", *extra)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def passwd_lines(out: Path) -> dict[str, str]:
    return dict(line.split(":", 1) for line in (out / "kywash.passwd").read_text().splitlines())


def matches(password: str, hashed: str) -> bool:
    _, kind, iterations, salt, _digest = hashed.split("$")
    return kind == "7" and hash_password(password, base64.b64decode(salt), int(iterations)) == hashed


def test_room_writes_private_files_with_a_login_that_matches_its_hash(tmp_path: Path) -> None:
    result = room(tmp_path)
    assert result.exit_code == 0, result.output
    config_path = tmp_path / "rooms" / "maple-hall" / "basement" / "room.toml"
    for path in (config_path, tmp_path / "kywash.passwd", tmp_path / "kywash.acl"):
        assert mode(path) == 0o600, path
    config = load_room_config(config_path)
    assert config.broker.url == "mqtts://mqtt.example.org:8883" and config.broker.tls
    assert config.broker.username == config.client_id == "edge.maple-hall.basement"
    assert config.broker.password is not None and len(config.broker.password) >= 32
    assert matches(config.broker.password, passwd_lines(tmp_path)["edge.maple-hall.basement"])
    assert config.broker.password not in result.output
    assert "/etc/kywash/room.toml" in result.output and "kywash-edge.service" in result.output
    assert "user edge.maple-hall.basement" in result.output  # the ACL block to install


def test_re_provisioning_a_room_replaces_its_password_line_and_acl_block(tmp_path: Path) -> None:
    assert room(tmp_path).exit_code == 0
    assert room(tmp_path, "maple-hall", "attic").exit_code == 0
    first = passwd_lines(tmp_path)["edge.maple-hall.basement"]
    assert room(tmp_path).exit_code == 0
    lines = (tmp_path / "kywash.passwd").read_text().splitlines()
    assert sorted(line.split(":")[0] for line in lines) == ["edge.maple-hall.attic", "edge.maple-hall.basement"]
    assert passwd_lines(tmp_path)["edge.maple-hall.basement"] != first
    acl = (tmp_path / "kywash.acl").read_text()
    assert acl.count("user edge.maple-hall.basement\n") == 1 and acl.count("user edge.maple-hall.attic\n") == 1
    config = load_room_config(tmp_path / "rooms" / "maple-hall" / "basement" / "room.toml")
    assert config.broker.password and config.broker.username
    assert matches(config.broker.password, passwd_lines(tmp_path)[config.broker.username])


@pytest.mark.parametrize(
    ("site", "name"),
    [("Maple", "basement"), ("maple/hall", "basement"), ("maple", "b+"), ("maple", "#"), ("maple", "a.b"), ("", "x")],
)
def test_bad_site_or_room_ids_are_refused_before_anything_is_written(tmp_path: Path, site: str, name: str) -> None:
    result = room(tmp_path, site, name)
    assert result.exit_code != 0
    assert "must be 1-63 characters of a-z, 0-9, '-' or '_'" in result.output
    assert not tmp_path.joinpath("kywash.passwd").exists()


def test_the_ca_certificate_is_copied_and_named_relative_to_the_config(tmp_path: Path) -> None:
    ca = tmp_path / "my-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert room(tmp_path / "out", "maple-hall", "basement", "--ca-cert", str(ca)).exit_code == 0
    room_dir = tmp_path / "out" / "rooms" / "maple-hall" / "basement"
    assert (room_dir / "ca.crt").read_text() == ca.read_text()
    assert tomllib.loads((room_dir / "room.toml").read_text())["broker"]["ca_file"] == "ca.crt"
    assert load_room_config(room_dir / "room.toml").broker.ca_file == room_dir / "ca.crt"


def test_a_template_keeps_its_machines(tmp_path: Path) -> None:
    template = REPO / "edge" / "room.example.toml"
    assert room(tmp_path, "oak", "laundry", "--template", str(template)).exit_code == 0
    config = load_room_config(tmp_path / "rooms" / "oak" / "laundry" / "room.toml")
    assert (config.site, config.room) == ("oak", "laundry")
    assert [m.id for m in config.machines] == [m.id for m in load_room_config(template).machines]


def test_staff_and_cloud_logins_go_to_private_files_and_never_to_the_terminal(tmp_path: Path) -> None:
    staff = provision(tmp_path, "staff", "--username", "alice")
    cloud = provision(tmp_path, "cloud")
    assert staff.exit_code == 0 and cloud.exit_code == 0, staff.output + cloud.output
    login = tmp_path / "users" / "alice.txt"
    env = tmp_path / "cloud-mqtt.env"
    assert mode(login) == 0o600 and mode(env) == 0o600
    password = login.read_text().split("password = ")[1].strip()
    assert matches(password, passwd_lines(tmp_path)["alice"]) and password not in staff.output
    cloud_password = env.read_text().split("KYWASH_MQTT_PASSWORD=")[1].split()[0]
    assert matches(cloud_password, passwd_lines(tmp_path)[CLOUD_USERNAME]) and cloud_password not in cloud.output


def test_a_username_keeps_its_role(tmp_path: Path) -> None:
    assert provision(tmp_path, "staff", "--username", "alice").exit_code == 0
    before = (tmp_path / "kywash.passwd").read_text()
    result = provision(tmp_path, "dashboard", "--username", "alice")
    assert result.exit_code != 0 and "already provisioned as staff" in result.output
    assert (tmp_path / "kywash.passwd").read_text() == before


def test_staff_may_command_only_under_their_own_name() -> None:
    rules = acl_rules(Role.STAFF, "alice")
    writes = [rule for rule in rules if rule.startswith("topic write")]
    assert writes == ["topic write kywash/v1/+/+/machine/+/cmd/alice", "topic write homeassistant/status"]
    assert not [rule for rule in acl_rules(Role.DASHBOARD, "viewer") if "write" in rule]


def test_edge_rules_name_only_its_own_room() -> None:
    rules = acl_rules(Role.EDGE, edge_username("s", "r"), "s", "r")
    assert all(rule.split()[2].startswith("kywash/v1/s/r/") for rule in rules)
    assert "topic read kywash/v1/s/r/machine/+/desired" in rules


def test_update_acl_and_update_passwd_keep_the_other_entries() -> None:
    text = update_acl("", AclBlock(Role.STAFF, "alice", ("topic read a",)))
    text = update_acl(text, AclBlock(Role.STAFF, "bob", ("topic read b",)))
    text = update_acl(text, AclBlock(Role.STAFF, "alice", ("topic read c",)))
    assert text.startswith(ACL_HEADER)
    assert "topic read a" not in text and text.index("user alice") < text.index("topic read c") < text.index("user bob")
    with pytest.raises(ProvisionError, match="no end line"):
        update_acl(text.replace("# <<< bob\n", ""), AclBlock(Role.STAFF, "bob", ()))
    assert update_passwd("alice:x\nbob:y\n", "alice:z") == "bob:y\nalice:z\n"


def test_the_python_hash_is_the_one_mosquitto_passwd_makes() -> None:
    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd is not installed")
    username, hashed = password_line("alice", "s3cret pass", use_tool=True).split(":", 1)
    assert username == "alice" and hashed.startswith("$7$101$")
    assert matches("s3cret pass", hashed) and not matches("other", hashed)
    assert password_line("alice", "x", use_tool=False).startswith("alice:$7$101$")


def test_the_example_acl_in_deploy_is_what_provisioning_writes() -> None:
    text = ""
    for role, username, site, name in (
        (Role.CLOUD, CLOUD_USERNAME, "", ""),
        (Role.EDGE, edge_username("maple-hall", "basement"), "maple-hall", "basement"),
        (Role.STAFF, "alice", "", ""),
        (Role.DASHBOARD, "wall-display", "", ""),
    ):
        text = update_acl(text, AclBlock(role, username, tuple(acl_rules(role, username, site, name))))
    example = (REPO / "deploy" / "mosquitto" / "kywash.acl").read_text()
    assert example.endswith(text)
    assert all(line.startswith("#") for line in example[: -len(text)].splitlines())


def _allowed(rules: list[str], access: str, topic: str) -> bool:
    return any(rule.split()[1] in (access, "readwrite") and topic_matches_sub(rule.split()[2], topic) for rule in rules)


def test_every_contract_topic_is_writable_by_its_publisher_and_no_one_else() -> None:
    edge = acl_rules(Role.EDGE, edge_username("s", "r"), "s", "r")
    others = acl_rules(Role.EDGE, edge_username("s", "other"), "s", "other")
    cloud, staff = acl_rules(Role.CLOUD, CLOUD_USERNAME), acl_rules(Role.STAFF, "alice")
    dashboard = acl_rules(Role.DASHBOARD, "viewer")
    for spec in TOPIC_TABLE:
        topic = spec.pattern.format(site="s", room="r", machine="m", user="alice")
        writers = {
            "edge": _allowed(edge, "write", topic),
            "cloud": _allowed(cloud, "write", topic),
            "staff": _allowed(staff, "write", topic),
        }
        expected = spec.publisher.split()[0]
        restores = "(cloud restores)" in spec.publisher  # the edge's, published back by the cloud
        assert writers == {who: who == expected or (restores and who == "cloud") for who in writers}, topic
        assert not _allowed(others, "write", topic) and not _allowed(dashboard, "write", topic), topic
        assert _allowed(cloud, "read", topic) and _allowed(dashboard, "read", topic), topic
        assert _allowed(edge, "read", topic) == (topic.endswith(("/replay", "/desired", "/profile"))), topic
        assert not _allowed(others, "read", topic), topic


def test_a_live_password_file_keeps_its_group_read_bit_but_never_others(tmp_path: Path) -> None:
    passwd, acl = tmp_path / "kywash.passwd", tmp_path / "kywash.acl"
    passwd.write_text("")
    passwd.chmod(0o644)
    result = provision(tmp_path, "staff", "--username", "alice", "--passwd-file", str(passwd), "--acl-file", str(acl))
    assert result.exit_code == 0, result.output
    assert mode(passwd) == 0o640 and mode(acl) == 0o600
