"""Identifiers.

Record ids are 32 lowercase hex characters, time-ordered: 12 hex digits of milliseconds since the
epoch, then a per-process counter and random bits (e.g. ``019a9f3c2b1e4d2a9c0f00000000002a``).
Time order keeps B-tree inserts at the right edge of the index, which matters when a bulk import
writes a million rows; randomness keeps ids unguessable across processes.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable

_counter = itertools.count(secrets.randbelow(1 << 20))
_process_salt = secrets.randbits(40)


def new_id() -> str:
    """A new time-ordered 128-bit id as 32 hex characters."""
    ms = time.time_ns() // 1_000_000
    n = next(_counter) & 0xFFFFFFFFFF
    return f"{ms:012x}{_process_salt:010x}{n:010x}"


def id_block(count: int) -> list[str]:
    """``count`` fresh ids sharing one timestamp read; ordered, for bulk inserts."""
    ms = time.time_ns() // 1_000_000
    prefix = f"{ms:012x}{_process_salt:010x}"
    return [f"{prefix}{next(_counter) & 0xFFFFFFFFFF:010x}" for _ in range(count)]


def id_maker() -> Callable[[], str]:
    """A cheap source of fresh ids that share one timestamp read, for one bulk write.

    Same form and ordering as :func:`new_id` (the process counter keeps them unique); meant to be
    used for one chunk of a bulk import, then dropped, so ids keep following the clock.
    """
    ms = time.time_ns() // 1_000_000
    prefix = f"{ms:012x}{_process_salt:010x}"
    counter = _counter

    def make() -> str:
        return f"{prefix}{next(counter) & 0xFFFFFFFFFF:010x}"

    return make


def slug(name: str, *, limit: int = 60) -> str:
    """A short readable code for a name: ``"Police – Unit 7"`` -> ``"police-unit-7"``."""
    import re

    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:limit] or "org"
