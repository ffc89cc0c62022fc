"""The VAPID key pair that signs our pushes: made on first start, kept in a PEM file, reused.

Browsers subscribe against the public key (``applicationServerKey``), so losing or
replacing the private key orphans every subscription; it is written once, mode 0600, and
never regenerated while the file exists. Creation is atomic (written aside, then hard
linked into place), so replicas starting together on a shared volume end up with one key.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

log = logging.getLogger(__name__)


def b64url(data: bytes) -> str:
    """Base64url without padding, as Web Push writes keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class VapidKey:
    """The private key (as py_vapid signs with it) and its public half for browsers."""

    signer: Any
    """A ``py_vapid.Vapid02``: ``sign(claims)`` gives the ``Authorization: vapid t=..., k=...`` header."""
    public_key: str
    """The uncompressed P-256 point, base64url without padding (the page's ``applicationServerKey``)."""

    @classmethod
    def from_private_key(cls, key: ec.EllipticCurvePrivateKey) -> VapidKey:
        point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return cls(Vapid02(key), b64url(point))


def load_or_create_key(path: Path) -> VapidKey:
    """The key in ``path``, made (mode 0600) when the file does not exist yet."""
    if not path.exists():
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s is readable by others (mode %o); chmod 600 it", path, mode)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{path} does not hold a P-256 (prime256v1) private key, as VAPID needs")
    return VapidKey.from_private_key(key)


def _create(path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(aside, path)  # fails if another process made the key first: keep theirs
            log.info("made a new VAPID key in %s", path)
        except FileExistsError:
            pass
    finally:
        aside.unlink(missing_ok=True)
