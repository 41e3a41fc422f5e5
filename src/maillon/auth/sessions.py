"""Server-side sessions: opened at sign-in, checked on every request, ended by time or logout.

The raw token (256 random bits, URL-safe) goes to the client only; the database keeps its
SHA-256 as the row's primary key. A session ends after ``IDLE_TIMEOUT`` without a request or
``ABSOLUTE_TIMEOUT`` after sign-in, whichever comes first. Each session carries its own CSRF
token. Functions flush and never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from maillon.auth.errors import AuthenticationFailed
from maillon.auth.models import User, UserSession
from maillon.auth.roles import get_role
from maillon.core.errors import PermissionDenied
from maillon.core.timeutil import utcnow

IDLE_TIMEOUT = timedelta(minutes=30)
TOUCH_INTERVAL = timedelta(minutes=1)
"""How stale ``last_seen_at`` may get before a request moves it."""
ABSOLUTE_TIMEOUT = timedelta(hours=12)
TOKEN_BYTES = 32
"""256 bits of randomness per session token and per CSRF token."""
_MAX_TOKEN_CHARS = 200


def hash_token(token: str) -> str:
    """The stored form of a session token: SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def as_utc(moment: datetime) -> datetime:
    """``moment`` made aware: SQLite hands back naive datetimes (they were stored as UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def open_session(session: Session, *, user: User, source: str | None, now: datetime) -> str:
    """Start a session for ``user`` (already authenticated); returns the NEW raw token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        UserSession(
            id=hash_token(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE_TIMEOUT,
            csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
            source_ip=(source or "")[:45] or None,
            revoked=False,
        )
    )
    session.flush()
    return token


def session_user(
    session: Session, *, token: str, now: datetime | None = None
) -> tuple[User, UserSession]:
    """The signed-in user of ``token``; slides ``last_seen_at`` (at most once a minute, so
    most requests write nothing; the idle time-out is therefore exact to within a minute).

    Raises ``AuthenticationFailed`` for an unknown, revoked, idle (30 min) or expired (12 h)
    session, or when the account is inactive or its role unknown; an expired session is
    marked revoked on the way.
    """
    now = now or utcnow()
    found = None
    if token and len(token) <= _MAX_TOKEN_CHARS:
        found = session.get(UserSession, hash_token(token))
    if found is None or found.revoked:
        raise AuthenticationFailed("not signed in")
    user = session.get(User, found.user_id)
    idle = as_utc(found.last_seen_at) + IDLE_TIMEOUT <= now
    expired = as_utc(found.expires_at) <= now
    if idle or expired or user is None or not user.active or get_role(user.role) is None:
        found.revoked = True
        session.flush()
        raise AuthenticationFailed("session expired" if idle or expired else "not signed in")
    if now - as_utc(found.last_seen_at) >= TOUCH_INTERVAL:
        found.last_seen_at = now
        session.flush()
    return user, found


def logout(session: Session, *, token: str) -> None:
    """End the session of ``token`` (no error when there is none)."""
    if token and len(token) <= _MAX_TOKEN_CHARS:
        found = session.get(UserSession, hash_token(token))
        if found is not None:
            found.revoked = True
            session.flush()


def revoke_user_sessions(
    session: Session, *, user_id: str, except_session_id: str | None = None
) -> int:
    """End every open session of a user (but ``except_session_id``); returns how many."""
    rows = session.scalars(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.revoked.is_(False))
    ).all()
    count = 0
    for row in rows:
        if row.id != except_session_id:
            row.revoked = True
            count += 1
    session.flush()
    return count


def check_csrf(user_session: UserSession, token: str | None) -> None:
    """Raise ``PermissionDenied`` unless ``token`` is the session's CSRF token."""
    expected = user_session.csrf_token.encode("utf-8")
    given = (token or "").encode("utf-8")
    if not token or not hmac.compare_digest(expected, given):
        raise PermissionDenied("invalid or missing CSRF token")
