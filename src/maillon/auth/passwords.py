"""Password hashing (Argon2id) and the password policy.

Hashing uses ``argon2.PasswordHasher`` (Argon2id, random 16-byte salt, 32-byte tag, parameters
in the PHC string). Production parameters are the RFC 9106 "second recommended" low-memory
profile: t=3, m=64 MiB, p=4. Setting ``MAILLON_ARGON2_PROFILE=test`` selects a cheap profile
(t=1, m=1 MiB, p=1) so the test suite stays fast; any other value than ``production``, ``test``
or empty is a configuration error (fail closed rather than silently weaken).

Passwords are NFKC-normalised before hashing so that the same visible password typed on two
keyboards verifies the same; they are never truncated.

Policy (OWASP ASVS V2.1 / NIST SP 800-63B): at least 12 and at most 128 characters, any
character allowed, no composition rules, not one of the most common passwords (also with
digits or symbols appended), and not containing the username.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import NamedTuple

import yaml
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from maillon.core.errors import ConfigurationError

PROFILE_ENV = "MAILLON_ARGON2_PROFILE"
MIN_LENGTH = 12
MAX_LENGTH = 128


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters; ``memory_cost`` is in KiB."""

    time_cost: int = 3
    memory_cost: int = 65536
    parallelism: int = 4
    hash_len: int = 32
    salt_len: int = 16

    @classmethod
    def production(cls) -> Argon2Params:
        """RFC 9106 low-memory profile: t=3, m=64 MiB, p=4."""
        return cls()

    @classmethod
    def cheap(cls) -> Argon2Params:
        """For tests only: t=1, m=1 MiB, p=1."""
        return cls(time_cost=1, memory_cost=1024, parallelism=1)


def current_params() -> Argon2Params:
    """The parameters selected by ``MAILLON_ARGON2_PROFILE`` (read on every call)."""
    profile = os.environ.get(PROFILE_ENV, "").strip().lower()
    if profile in ("", "production"):
        return Argon2Params.production()
    if profile == "test":
        return Argon2Params.cheap()
    raise ConfigurationError(f"{PROFILE_ENV}={profile!r}: use 'production' or 'test'")


@cache
def _hasher(params: Argon2Params) -> PasswordHasher:
    return PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
        hash_len=params.hash_len,
        salt_len=params.salt_len,
        type=Type.ID,
    )


def _normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str, *, params: Argon2Params | None = None) -> str:
    """An Argon2id PHC string for ``password``."""
    return _hasher(params or current_params()).hash(_normalise(password))


class PasswordCheck(NamedTuple):
    ok: bool
    needs_rehash: bool
    """True when ``ok`` and the hash was made with other parameters than the current ones."""


def verify_password(password_hash: str, password: str) -> PasswordCheck:
    """Check ``password`` against ``password_hash`` (argon2 compares in constant time).

    A malformed hash verifies as false rather than raising, so a damaged row cannot be told
    apart from a wrong password by the caller's error path.
    """
    hasher = _hasher(current_params())
    try:
        hasher.verify(password_hash, _normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return PasswordCheck(ok=False, needs_rehash=False)
    return PasswordCheck(ok=True, needs_rehash=hasher.check_needs_rehash(password_hash))


@cache
def _dummy_hash(params: Argon2Params) -> str:
    return _hasher(params).hash("maillon-dummy-password-for-timing")


def burn_verification(password: str) -> None:
    """Spend the time of one verification, for unknown users (no user enumeration by timing)."""
    verify_password(_dummy_hash(current_params()), password)


@cache
def common_passwords() -> frozenset[str]:
    """The built-in list of the most common passwords, lower-case."""
    text = (
        resources.files("maillon.auth")
        .joinpath("common_passwords.yaml")
        .read_text(encoding="utf-8")
    )
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("passwords"), list):
        raise ConfigurationError("common_passwords.yaml: expected a 'passwords' list")
    return frozenset(str(p).lower() for p in raw["passwords"])


def _is_common(password: str) -> bool:
    folded = password.casefold()
    stripped = folded.rstrip("0123456789!?.@#$%^&*_-+= ")
    common = common_passwords()
    # Only digits and symbols, or one or two distinct characters ("aaaaaaaaaaaa"): too easy.
    if not stripped or len(set(folded)) <= 2:
        return True
    return folded in common or stripped in common


def password_problems(password: str, *, username: str | None = None) -> list[str]:
    """Reasons ``password`` breaks the policy; an empty list means it is acceptable."""
    password = _normalise(password)
    reasons: list[str] = []
    if len(password) < MIN_LENGTH:
        reasons.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        reasons.append(f"must be at most {MAX_LENGTH} characters long")
    if _is_common(password):
        reasons.append("is too common or too easy to guess")
    if username and len(username) >= 3 and username.casefold() in password.casefold():
        reasons.append("must not contain the username")
    return reasons
