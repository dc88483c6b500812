"""Secrets: argon2 password hashes, API key and session tokens (random, stored as SHA-256)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()
# Verified against when the account does not exist, so both paths cost one argon2 verification.
_DUMMY_HASH = _HASHER.hash("legalai-timing-equaliser")

API_KEY_PREFIX = "lgl"
MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-cost check: a missing account or SSO-only account costs the same as a wrong password."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


def token_hash(token: str) -> str:
    """High-entropy tokens need no slow hash; SHA-256 keeps look-ups by hash cheap."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


@dataclass(frozen=True)
class NewApiKey:
    prefix: str  # public identifier, also shown in listings
    secret: str
    full: str  # what the client sends: lgl_<prefix>_<secret>, shown once


def generate_api_key() -> NewApiKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(prefix=prefix, secret=secret, full=f"{API_KEY_PREFIX}_{prefix}_{secret}")


def split_api_key(value: str) -> tuple[str, str] | None:
    if not (value.isascii() and value.isprintable()):
        return None  # keys are printable ASCII; anything else is refused before any database look-up
    parts = value.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def same_secret(stored_hash: str, presented: str) -> bool:
    return hmac.compare_digest(stored_hash, token_hash(presented))


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 1024:
        return "The password is too long"
    return None
