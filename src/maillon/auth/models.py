"""Accounts and sessions.

Tables are ``user_account`` and ``user_session`` (``user`` is a reserved word in PostgreSQL and
SQL itself, so raw SQL against it would need quoting everywhere).

* ``username`` is stored lower-case and is the key record ownership refers to
  (``Case.created_by``): usernames are never renamed nor reused; deactivate instead.
* ``password_hash`` is an Argon2id PHC string (parameters inside it).
* ``totp_secret`` is the base32 TOTP seed, ENCRYPTED like the personal fields (installation-wide
  data key, bound to the account id and column; see :mod:`maillon.auth.service`). Seeds written
  in clear by a version before encryption are sealed at the next sign-in or by
  ``maillon keys reencrypt``.
* ``totp_last_step`` is the last accepted TOTP time step, for replay protection.
* A session's primary key is the SHA-256 hex of its random token: the raw token exists only in
  the user's cookie, so a database leak gives no usable session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from maillon.core.timeutil import utcnow
from maillon.store.base import ID, Base, IdMixin


class User(IdMixin, Base):
    """One person's account. ``role`` names a role of :mod:`maillon.auth.roles`."""

    __tablename__ = "user_account"
    organisation_id: Mapped[str] = mapped_column(
        ID, ForeignKey("organisation.id"), nullable=False, index=True
    )
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Stored in clear for now: a known gap listed in docs/security.md ("Not yet in place").
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(40))
    team: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserSession(Base):
    """One signed-in browser. ``id`` is ``sha256(token).hexdigest()``, never the token."""

    __tablename__ = "user_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    csrf_token: Mapped[str] = mapped_column(String(64))
    source_ip: Mapped[str | None] = mapped_column(String(45))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
