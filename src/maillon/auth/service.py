"""Accounts and sign-in: the operations, over a SQLAlchemy session the caller owns.

Every function takes the caller's :class:`~sqlalchemy.orm.Session`, flushes what it changed and
never commits: the caller commits or rolls back. One exception to keep in mind: a failed
sign-in *writes* (failure counter, lock) before raising :class:`AuthenticationFailed`, so the
caller must commit on that error too, or the lockout never takes effect::

    try:
        user, token = authenticate(db, username=..., password=..., totp_code=..., source=ip,
                                   keys=security.keys)
    except AuthenticationFailed:
        db.commit()
        raise

Rules (see ``docs/security-auth.md``): one generic message for every sign-in failure; after
``MAX_FAILURES`` consecutive failures the account locks for 15 minutes, doubling with each
further failure (capped at 24 h). Sessions are in :mod:`maillon.auth.sessions`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from maillon.auth import totp
from maillon.auth.errors import AuthenticationFailed
from maillon.auth.models import User
from maillon.auth.passwords import (
    burn_verification,
    hash_password,
    password_problems,
    verify_password,
)
from maillon.auth.roles import get_role, role_names
from maillon.auth.sessions import as_utc, open_session, revoke_user_sessions
from maillon.core.errors import Conflict, FieldError, InvalidInput
from maillon.core.ids import new_id
from maillon.core.timeutil import utcnow
from maillon.store.crypto import TOKEN_VERSION, FieldCipher
from maillon.store.keys import KeyProvider
from maillon.store.models import Organisation

MAX_FAILURES = 5
LOCK_BASE = timedelta(minutes=15)
LOCK_MAX = timedelta(hours=24)
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{2,99}")
TOTP_FIELD = "user_account.totp_secret"


def _seal_totp(session: Session, keys: KeyProvider, user_id: str, secret: str) -> str:
    """The encrypted form of a TOTP seed: installation-wide data key, bound to the account."""
    cipher = FieldCipher(keys, session.connection())
    return cipher.encrypt(secret, organisation_id=None, record_id=user_id, field=TOTP_FIELD)


def _open_totp(session: Session, keys: KeyProvider, user: User) -> str | None:
    """The user's TOTP seed in clear; a seed still stored in clear (older versions) is sealed."""
    stored = user.totp_secret
    if stored is None:
        return None
    if not stored.startswith(TOKEN_VERSION + "."):
        user.totp_secret = _seal_totp(session, keys, user.id, stored)
        return stored
    cipher = FieldCipher(keys, session.connection())
    return cipher.decrypt(stored, organisation_id=None, record_id=user.id, field=TOTP_FIELD)


def normalise_username(username: str) -> str:
    return username.strip().lower()


def create_user(
    session: Session,
    *,
    organisation_id: str,
    username: str,
    password: str,
    role: str,
    keys: KeyProvider,
    display_name: str | None = None,
    team: str | None = None,
) -> tuple[User, str | None]:
    """Create an account; returns it and its TOTP secret when the role requires a second factor.

    The secret is shown once to the person (as :func:`maillon.auth.totp.provisioning_uri`);
    it cannot be read back through this API.
    """
    name = normalise_username(username)
    errors: list[FieldError] = []
    if not USERNAME_PATTERN.fullmatch(name):
        errors.append(
            FieldError("3 to 100 characters: a-z, 0-9, '.', '_', '@', '-'", "username", None, name)
        )
    the_role = get_role(role)
    if the_role is None:
        known = ", ".join(role_names())
        errors.append(FieldError(f"unknown role; known roles: {known}", "role", None, role))
    for reason in password_problems(password, username=name):
        errors.append(FieldError(f"password {reason}", "password"))
    if session.get(Organisation, organisation_id) is None:
        errors.append(FieldError("no such organisation", "organisation_id", None, organisation_id))
    if errors or the_role is None:
        raise InvalidInput("cannot create the user", errors)
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(f"username {name!r} is already taken")
    secret = totp.new_secret() if the_role.requires_totp else None
    user_id = new_id()
    user = User(
        id=user_id,
        organisation_id=organisation_id,
        username=name,
        display_name=display_name,
        password_hash=hash_password(password),
        totp_secret=None if secret is None else _seal_totp(session, keys, user_id, secret),
        role=role,
        team=team,
        active=True,
        failed_logins=0,
        password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user, secret


def _record_failure(session: Session, user: User, now: datetime) -> None:
    # Incremented in SQL, not read-modify-write, so concurrent guesses are all counted.
    session.flush()
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=func.coalesce(User.failed_logins, 0) + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user, attribute_names=["failed_logins"])
    extra = user.failed_logins - MAX_FAILURES
    if extra >= 0:
        user.locked_until = now + min(LOCK_BASE * 2 ** min(extra, 16), LOCK_MAX)
    session.flush()


def _claim_step(session: Session, user: User, step: int) -> bool:
    """Record ``step`` as used, atomically: of two requests racing with one code, one wins."""
    result = session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def _second_factor_ok(
    session: Session, keys: KeyProvider, user: User, code: str | None, now: datetime
) -> bool:
    role = get_role(user.role)
    needed = user.totp_secret is not None or (role is not None and role.requires_totp)
    if not needed:
        return True
    secret = _open_totp(session, keys, user)
    if secret is None or not code:
        return False
    step = totp.verify(secret, code, at=now, last_step=user.totp_last_step)
    return step is not None and _claim_step(session, user, step)


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    totp_code: str | None,
    source: str | None,
    keys: KeyProvider,
    now: datetime | None = None,
) -> tuple[User, str]:
    """Check the credentials and open a session; returns the user and the NEW raw token.

    The token goes to the client (cookie) and is never stored. Every failure, whatever its
    cause (unknown user, wrong password, wrong or replayed code, locked or inactive account,
    unknown role), raises ``AuthenticationFailed("invalid credentials")`` after about the same
    work: one Argon2 verification.
    """
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        burn_verification(password)
        raise AuthenticationFailed()
    check = verify_password(user.password_hash, password)
    locked = user.locked_until is not None and as_utc(user.locked_until) > now
    if locked or not user.active or get_role(user.role) is None:
        raise AuthenticationFailed()
    if not (check.ok and _second_factor_ok(session, keys, user, totp_code, now)):
        _record_failure(session, user, now)
        raise AuthenticationFailed()
    if check.needs_rehash:
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user, open_session(session, user=user, source=source, now=now)


def authenticate_external(
    session: Session,
    *,
    username: str,
    second_factor: bool,
    source: str | None,
    now: datetime | None = None,
) -> tuple[User, str]:
    """Open a session for an account whose identity an external provider (OpenID Connect)
    has proven; returns the user and the NEW raw token.

    The account must exist, be active, unlocked and hold a known role; a role that requires a
    second factor needs ``second_factor`` (the provider asserted one). Any refusal raises
    ``AuthenticationFailed("invalid credentials")``, as for passwords.
    """
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise AuthenticationFailed()
    role = get_role(user.role)
    locked = user.locked_until is not None and as_utc(user.locked_until) > now
    if locked or not user.active or role is None or (role.requires_totp and not second_factor):
        raise AuthenticationFailed()
    user.last_login_at = now
    return user, open_session(session, user=user, source=source, now=now)


def change_password(
    session: Session,
    *,
    user: User,
    current_password: str,
    new_password: str,
    keep_session_id: str | None = None,
    now: datetime | None = None,
) -> int:
    """Replace the password after re-checking the current one; ends the user's other sessions.

    A wrong current password counts as a failed sign-in and raises ``AuthenticationFailed``
    (commit on that error, as for :func:`authenticate`); a new password that breaks the policy
    raises ``InvalidInput``. Returns the number of sessions ended.
    """
    now = now or utcnow()
    if not verify_password(user.password_hash, current_password).ok:
        _record_failure(session, user, now)
        raise AuthenticationFailed()
    reasons = password_problems(new_password, username=user.username)
    if new_password == current_password:
        reasons.append("must differ from the current password")
    if reasons:
        raise InvalidInput(
            "the new password was refused",
            [FieldError(f"password {r}", "new_password") for r in reasons],
        )
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    return revoke_user_sessions(session, user_id=user.id, except_session_id=keep_session_id)


def reset_totp(session: Session, *, user: User, keys: KeyProvider) -> str:
    """Give the user a new TOTP seed (lost phone, or a new role that needs one); returns it.

    Ends the user's sessions: whoever held the old factor is signed out.
    """
    secret = totp.new_secret()
    user.totp_secret = _seal_totp(session, keys, user.id, secret)
    user.totp_last_step = None
    revoke_user_sessions(session, user_id=user.id)
    return secret
