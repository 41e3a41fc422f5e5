"""Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second steps) with pyotp.

A code is accepted for the current time step and one step either side (clock drift), and only
for a step later than the last one accepted for that user: a code, once used, can never be used
again, not even within its own 90-second window (ASVS 2.8.4).
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

from maillon.core.timeutil import utcnow

ISSUER = "Maillon"
DIGITS = 6
INTERVAL = 30
WINDOW = 1
"""Steps accepted either side of the current one."""


def new_secret() -> str:
    """A fresh random base32 seed of 160 bits (RFC 4226 recommends at least 128)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, username: str, issuer: str = ISSUER) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=username, issuer_name=issuer
    )


def step_of(at: datetime) -> int:
    """The RFC 6238 time step ``T`` that contains ``at``."""
    return int(at.timestamp()) // INTERVAL


def code_at(secret: str, at: datetime) -> str:
    """The code valid at ``at`` (used by tests and by enrolment confirmation screens)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).at(at)


def verify(
    secret: str, code: str, *, at: datetime | None = None, last_step: int | None = None
) -> int | None:
    """The time step ``code`` matches, or ``None``.

    Matches the step of ``at`` (default now) and ``WINDOW`` steps either side, skipping every
    step at or before ``last_step`` (replay protection). The caller stores the returned step as
    the user's new ``last_step``. All candidate steps are compared, in constant time each.
    """
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    now_step = step_of(at or utcnow())
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    matched: int | None = None
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected.encode(), code.encode()) and (
            last_step is None or step > last_step
        ):
            matched = step if matched is None else matched
    return matched
