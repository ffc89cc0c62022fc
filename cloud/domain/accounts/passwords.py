"""Hashing PINs and passwords with argon2id: a 4-digit PIN is only 10,000 guesses, so each one
must cost an attacker with a stolen database real time and memory.

The parameters are argon2-cffi's RFC 9106 "low memory" profile; ``needs_rehash`` lets a
later release raise them, re-hashing each account at its next successful login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

_HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)

_DUMMY_HASH = _HASHER.hash("not-a-real-secret")
"""Verified against when the account does not exist, so timing does not reveal which IDs do."""


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True if ``secret`` matches; always spends the same work, even for an unknown account."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, secret) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)
