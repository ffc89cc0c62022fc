"""Broker credentials and access rules: Mosquitto password lines and per-user ACL blocks.

Every MQTT user gets an exact ``user`` block in the ACL file, written here; there are no
``pattern`` lines. Why (checked against Mosquitto 2.0.11, the tests repeat it):

- an edge must be confined to one ``{site}/{room}`` pair, two topic levels, but ``%u`` /
  ``%c`` fill one level. 2.0.x does substitute a username holding ``/`` across levels,
  but 2.1 refuses it (eclipse-mosquitto/mosquitto#3520): a scheme that breaks on upgrade.
- ``pattern`` lines apply to *every* user, so ``pattern write .../cmd/%u`` would let an
  edge or a read-only dashboard send commands under its own name; a staff group needs
  exact lines anyway.
- the password file must be edited (and the broker reloaded) for every new user, so
  editing the ACL file at the same time costs nothing.

Usernames: ``edge.{site}.{room}`` for edges (ids never hold ``.``, so the name is
unambiguous and never collides with a person's), and a contract id for everyone else.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from kywash.contract import TOPIC_ROOT, ContractError, check_id

CLOUD_USERNAME: Final = "kywash-cloud"
INTERNAL_ROOT: Final = "kywash/internal/v1"
PBKDF2_ITERATIONS: Final = 101
"""What ``mosquitto_passwd`` 2.0 writes (``$7$101$...``); the broker reads the count from the line."""

_BLOCK_START = "# >>> "
_BLOCK_END = "# <<< "


class ProvisionError(ValueError):
    """A username, id or file that provisioning refuses, with the reason in the message."""


class Role(StrEnum):
    EDGE = "edge"
    CLOUD = "cloud"
    STAFF = "staff"
    DASHBOARD = "dashboard"


def edge_username(site: str, room: str) -> str:
    try:
        return f"edge.{check_id(site, 'site')}.{check_id(room, 'room')}"
    except ContractError as exc:
        raise ProvisionError(str(exc)) from None


def person_username(username: str) -> str:
    """Staff and dashboard names become a topic level (``cmd/{username}``): the id rule applies."""
    try:
        return check_id(username, "username")
    except ContractError as exc:
        raise ProvisionError(str(exc)) from None


def acl_rules(role: Role, username: str, site: str = "", room: str = "") -> list[str]:
    """The ``topic`` lines of one user's block."""
    if role is Role.EDGE:
        base = f"{TOPIC_ROOT}/{site}/{room}"
        writes = [f"{base}/{leaf}" for leaf in ("status", "info", "health")]
        writes += [f"{base}/machine/+/{leaf}" for leaf in ("state", "event", "telemetry", "ack")]
        reads = [f"{base}/replay", f"{base}/machine/+/desired"]
        # Its learned profiles: published, and read back (the cloud restores a replaced Pi's).
        both = [f"{base}/machine/+/profile"]
        return (
            [f"topic write {t}" for t in writes]
            + [f"topic read {t}" for t in reads]
            + [f"topic readwrite {t}" for t in both]
        )
    if role is Role.CLOUD:
        return [
            f"topic read {TOPIC_ROOT}/#",
            f"topic write {TOPIC_ROOT}/+/+/machine/+/desired",
            f"topic write {TOPIC_ROOT}/+/+/machine/+/fault",
            f"topic write {TOPIC_ROOT}/+/+/machine/+/profile",
            f"topic write {TOPIC_ROOT}/+/+/replay",
            f"topic write {TOPIC_ROOT}/+/+/summary",
            f"topic readwrite {INTERNAL_ROOT}/#",
            "topic readwrite homeassistant/#",
        ]
    reads = [f"topic read {TOPIC_ROOT}/#", "topic read homeassistant/#"]
    if role is Role.DASHBOARD:
        return reads
    # Staff: commands only under their own name (the cloud learns who sent one from the
    # topic, since MQTT 3.1.1 does not tell subscribers the publisher), and Home
    # Assistant's birth message, so a Home Assistant logged in as staff gets discovery.
    return [*reads, f"topic write {TOPIC_ROOT}/+/+/machine/+/cmd/{username}", "topic write homeassistant/status"]


@dataclass(frozen=True)
class AclBlock:
    role: Role
    username: str
    rules: tuple[str, ...]

    def render(self) -> str:
        body = "\n".join(self.rules)
        return f"{_BLOCK_START}{self.role} {self.username}\nuser {self.username}\n{body}\n{_BLOCK_END}{self.username}\n"


ACL_HEADER: Final = f"""\
# KY Wash broker ACL (Mosquitto acl_file, installed as /etc/mosquitto/kywash.acl).
# Written by `kywash provision`: one exact block per user between the >>> and <<< lines;
# re-provisioning a user replaces its block. Reload the broker after a change
# (`systemctl reload mosquitto`).
#
# No `pattern` lines, on purpose (launchers/provision.py explains it in full): a pattern
# applies to every user, and %u fills one topic level while an edge's room is two
# ({TOPIC_ROOT}/{{site}}/{{room}}). Nothing is granted to anonymous clients: there are no
# lines before the first `user`.
"""


def update_acl(text: str, block: AclBlock) -> str:
    """``text`` with ``block`` replacing the same user's block, or appended; refuses a role change."""
    text = text or ACL_HEADER
    start = re.compile(rf"^{re.escape(_BLOCK_START)}(\S+) {re.escape(block.username)}\n", re.M)
    found = start.search(text)
    if found is None:
        return text.rstrip("\n") + "\n\n" + block.render()
    if found.group(1) != block.role:
        raise ProvisionError(f"username {block.username!r} is already provisioned as {found.group(1)}")
    end = text.find(f"{_BLOCK_END}{block.username}\n", found.end())
    if end < 0:
        raise ProvisionError(f"the ACL block of {block.username!r} has no end line ({_BLOCK_END}{block.username})")
    end += len(_BLOCK_END) + len(block.username) + 1
    return text[: found.start()] + block.render() + text[end:]


def new_password() -> str:
    """32 URL-safe characters: 192 random bits, no shell or TOML quoting trouble."""
    return secrets.token_urlsafe(24)


def hash_password(password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """The hash part of a password-file line, as ``mosquitto_passwd`` 2.0 makes it."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def password_line(username: str, password: str, *, use_tool: bool | None = None) -> str:
    """``username:$7$...`` through ``mosquitto_passwd`` when installed (or asked), else in Python."""
    tool = shutil.which("mosquitto_passwd") if use_tool is not False else None
    if use_tool and tool is None:
        raise ProvisionError("mosquitto_passwd is not installed")
    if tool is None:
        return f"{username}:{hash_password(password)}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "passwd"
        # -b puts the password on the command line for the few milliseconds the tool runs;
        # provisioning runs on an operator's machine, and the tool has no other batch mode.
        done = subprocess.run(
            [tool, "-c", "-b", str(path), username, password], check=False, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise ProvisionError(f"mosquitto_passwd failed: {(done.stderr or done.stdout).strip()}")
        line = path.read_text().strip()
    if not line.startswith(f"{username}:"):
        raise ProvisionError(f"mosquitto_passwd wrote an unexpected line for {username!r}")
    return line


def update_passwd(text: str, line: str) -> str:
    """``text`` (a password file) with ``line`` replacing the same user's line, or appended."""
    username = line.split(":", 1)[0]
    kept = [old for old in text.splitlines() if old.strip() and old.split(":", 1)[0] != username]
    return "\n".join([*kept, line]) + "\n"


def write_private(path: Path, text: str, *, keep_group: bool = False) -> Path:
    """Write ``text`` to ``path`` readable by its owner only (0600), replacing it atomically.

    ``keep_group``: a file that exists keeps its owner, group and group bits (never
    "other" bits), so the live /etc/mosquitto/kywash.passwd stays readable by the
    ``mosquitto`` group that the broker reads it as after dropping root.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.stat() if keep_group and path.exists() else None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600 if old is None else stat.S_IMODE(old.st_mode) & 0o660 | 0o600)
        if old is not None and os.geteuid() == 0:
            os.chown(tmp, old.st_uid, old.st_gid)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class BrokerFiles:
    """The password and ACL files a provisioning run updates (its ``--out`` copies, or the live ones)."""

    passwd: Path
    acl: Path

    def check(self, role: Role, username: str) -> None:
        """Refuse early (before other files are written) a username provisioned with another role."""
        if self.acl.exists():
            update_acl(self.acl.read_text(encoding="utf-8"), AclBlock(role, username, ()))

    def add_user(
        self, role: Role, username: str, password: str, rules: Sequence[str], *, use_tool: bool | None = None
    ) -> AclBlock:
        block = AclBlock(role, username, tuple(rules))
        acl_text = self.acl.read_text(encoding="utf-8") if self.acl.exists() else ""
        new_acl = update_acl(acl_text, block)  # refuses a role change before any file is touched
        passwd_text = self.passwd.read_text(encoding="utf-8") if self.passwd.exists() else ""
        line = password_line(username, password, use_tool=use_tool)
        write_private(self.passwd, update_passwd(passwd_text, line), keep_group=True)
        write_private(self.acl, new_acl, keep_group=True)
        return block
