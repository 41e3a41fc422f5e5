"""Who is calling: session cookies for people, bearer tokens for programs, CSRF, redaction.

Every route except sign-in, health and static files depends on :func:`current_caller`, which
turns the session cookie (``maillon_session``) or an ``Authorization: Bearer`` token into a
:class:`~maillon.auth.api.Principal`. State-changing requests authenticated by cookie must also
carry the session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``); bearer
tokens are not sent by browsers on their own, so they need none.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from hashlib import sha256
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from maillon.auth import api as auth
from maillon.auth.context import Security
from maillon.collect.api import (
    CaseDetail,
    CaseFilter,
    ImportOptions,
    PersonView,
    get_case,
    search_keys,
)
from maillon.core.errors import PermissionDenied
from maillon.core.timeutil import utcnow
from maillon.store import models as m
from maillon.store.api import Store
from maillon.store.audit import AuditRecord
from maillon.store.crypto import FieldCipher
from maillon.web.deps import get_store

COOKIE = "maillon_session"
READ_FIELDS = {
    "full": ("given_name", "middle_name", "family_name", "birth_date"),
    "pseudonymised": ("birth_year",),
    "none": (),
}
"""Personal fields a case page shows at each visibility level (names for the audit log)."""
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of one request and how it authenticated."""

    principal: auth.Principal
    session_id: str
    csrf_token: str
    via_cookie: bool


def get_security(request: Request) -> Security:
    security: Security = request.app.state.security
    return security


def cipher_of(request: Request) -> FieldCipher:
    """The app's field cipher (data keys cached in memory, read from the store)."""
    cipher: FieldCipher = request.app.state.cipher
    return cipher


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def request_token(request: Request) -> tuple[str | None, bool]:
    """The session token of a request and whether it came from the cookie (bearer first)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    return request.cookies.get(COOKIE), True


SESSION_CACHE_SECONDS = 2.0
"""How long one server process trusts a session it has checked in the database.

Within that time a request with the same token is authenticated from memory, without a
database round trip. Signing out through this process takes effect at once (the entry is
dropped); anything decided elsewhere (sign-out handled by another worker, a revoked or expired
session, a deactivated account or a changed role) takes effect within this many seconds."""
SESSION_CACHE_ENTRIES = 10_000
"""Sessions remembered per process at most (the oldest half is dropped when full)."""


@dataclass(frozen=True)
class _Checked:
    principal: auth.Principal
    session_id: str
    csrf_token: str
    until: float  # time.monotonic() after which the database is asked again


class SessionCache:
    """Sessions this process checked recently, keyed by the token's SHA-256 (never the token).

    See :data:`SESSION_CACHE_SECONDS` for what it means for revocation.
    """

    def __init__(self, seconds: float = SESSION_CACHE_SECONDS,
                 entries: int = SESSION_CACHE_ENTRIES) -> None:
        self.seconds = seconds
        self.entries = entries
        self._items: dict[str, _Checked] = {}
        self._ended: dict[str, float] = {}  # signed out here: not cached again for a while
        self._lock = threading.Lock()

    def get(self, key: str) -> _Checked | None:
        found = self._items.get(key)
        if found is None or found.until <= time.monotonic():
            return None
        return found

    def put(self, key: str, checked: _Checked) -> None:
        with self._lock:
            if key in self._ended:  # a check that began before the sign-out committed
                return
            if len(self._items) >= self.entries:
                for old in list(self._items)[: self.entries // 2]:  # oldest first
                    del self._items[old]
            self._items.pop(key, None)
            self._items[key] = checked

    def drop(self, token: str) -> None:
        """Forget the session of ``token`` (signed out here), and refuse to cache it again
        while a check that started before the sign-out may still come back."""
        key = auth.hash_token(token)
        now = time.monotonic()
        with self._lock:
            self._items.pop(key, None)
            self._ended = {k: t for k, t in self._ended.items() if t > now}
            self._ended[key] = now + self.seconds + 60


def session_cache(request: Request) -> SessionCache:
    cache: SessionCache = request.app.state.session_cache
    return cache


def _trusted_for(user_session: auth.UserSession, now: datetime) -> float:
    """Seconds the checked session may be trusted: the cache time, or less near its end."""
    ends = min(auth.as_utc(user_session.expires_at),
               auth.as_utc(user_session.last_seen_at) + auth.IDLE_TIMEOUT)
    return (ends - now).total_seconds()


def _check_session(store: Store, token: str, seconds: float) -> _Checked:
    """The session of ``token`` checked in the database (sliding its idle time-out)."""
    now = utcnow()
    with store.sessions() as session, session.begin():
        user, user_session = auth.session_user(session, token=token, now=now)
        return _Checked(auth.Principal.from_user(user), user_session.id,
                        user_session.csrf_token,
                        time.monotonic() + min(seconds, _trusted_for(user_session, now)))


async def current_caller(request: Request) -> Caller:
    """The signed-in caller, or :class:`AuthenticationFailed` (401; pages redirect to sign-in).

    A session checked in the last :data:`SESSION_CACHE_SECONDS` by this process is taken from
    memory, on the event loop; otherwise the database is asked in the thread pool, so the
    look-up does not block the event loop. It takes the store from the request rather than as
    a dependency of its own: FastAPI solves a dependency's own dependencies again at every
    place it is named, before looking in its per-request cache, and this one is named by the
    router and by most endpoints.
    """
    token, via_cookie = request_token(request)
    if not token:
        raise auth.AuthenticationFailed("sign in first")
    cache = session_cache(request)
    key = auth.hash_token(token)
    checked = cache.get(key) if cache.seconds > 0 else None
    if checked is None:
        checked = await run_in_threadpool(_check_session, get_store(request), token,
                                          cache.seconds)
        if cache.seconds > 0:
            cache.put(key, checked)
    caller = Caller(checked.principal, checked.session_id, checked.csrf_token, via_cookie)
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


async def csrf_guard(request: Request, caller: CallerDep) -> None:
    """Refuse an unsafe request authenticated by cookie unless it carries the CSRF token."""
    if not caller.via_cookie or request.method not in UNSAFE:
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and "form" in request.headers.get("content-type", ""):
        value = (await request.form()).get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), caller.csrf_token.encode()):
        raise PermissionDenied("invalid or missing CSRF token")


SIGNED_IN = [Depends(csrf_guard)]
"""Router dependencies of every route that needs a caller: sign-in (:func:`csrf_guard` depends
on :func:`current_caller`, so naming it again here would only make FastAPI walk it twice),
then CSRF."""


def case_scope(caller: Caller, action: str = "read") -> auth.Scope:
    """The caller's scope on cases, or :class:`PermissionDenied`."""
    return auth.require(caller.principal, "case", action)


def case_condition(caller: Caller, action: str = "read") -> ColumnElement[bool]:
    """The SQL condition restricting ``Case`` rows to what the caller may see.

    The same principal gets the same condition object back: it depends only on the principal
    (a frozen value) and the roles, which are data loaded once. Building it anew cost about a
    twentieth of a case read, and a reused condition lets :func:`~maillon.collect.api.get_case`
    reuse its scoped statement, whose SQLAlchemy cache key is then computed once.
    """
    return _case_condition(caller.principal, action)


@lru_cache(maxsize=4096)
def _case_condition(principal: auth.Principal, action: str) -> ColumnElement[bool]:
    return auth.scope_filter(principal, "case", action, owner_column=m.Case.created_by,
                             organisation_column=m.Case.organisation_id)


def _pseudonym(secret: bytes, value: str) -> str:
    return "P-" + hmac.new(secret, value.encode(), sha256).hexdigest()[:10]


def redact(detail: CaseDetail, visibility: str, secret: bytes) -> CaseDetail:
    """The case as the caller may see it: ``full``, ``pseudonymised`` or ``none``.

    Pseudonymised persons keep a stable pseudonym (keyed HMAC of the person id) and the birth
    year only; ``none`` removes names and birth dates altogether.
    """
    if visibility == "full":
        return detail
    persons: list[PersonView] = []
    for person in detail.persons:
        shown = _pseudonym(secret, person.id) if visibility == "pseudonymised" else None
        year = person.birth_date[:4] if person.birth_date and visibility != "none" else None
        persons.append(replace(person, given_name=shown, middle_name=None, family_name=None,
                               birth_date=year))
    return replace(detail, persons=persons, case_owner=None, closure_reason=None,
                   referrals=[{**r, "details": None} for r in detail.referrals])


def audit_read(security: Security, store: Store, caller: Caller, *, resource: str,
               resource_id: str, fields: tuple[str, ...], source: str) -> None:
    """Record that the caller read personal data (field names only, never values), committed
    before the data is returned; concurrent reads share one transaction (group commit)."""
    security.audit.append_committed(store.engine, AuditRecord(
        actor=caller.principal.username, action="read", resource=resource,
        resource_id=resource_id, fields=fields, source=source,
        actor_organisation_id=caller.principal.organisation_id))


def organisation_of(session: Session, caller: Caller) -> m.Organisation:
    org = session.get(m.Organisation, caller.principal.organisation_id)
    if org is None:
        raise auth.AuthenticationFailed("sign in first")
    return org


# --- the case and import flows shared by the JSON API and the HTML pages -------------------


def scoped_filter(request: Request, caller: Caller, flt: CaseFilter) -> CaseFilter:
    """``flt`` limited to the caller's scope; names searchable only by roles that see them."""
    case_scope(caller)
    cipher = cipher_of(request)
    return replace(flt, scope=case_condition(caller),
                   names=auth.field_visibility(caller.principal, "person") == "full",
                   name_keys=search_keys(cipher, flt.q) if flt.q else None)


def read_case(request: Request, session: Session, caller: Caller, case_id: str) -> CaseDetail:
    """One case within the caller's scope, redacted to the role's visibility, read audited.

    Outside the scope it is :class:`NotFound`, like a case that does not exist.
    """
    case_scope(caller)
    security = get_security(request)
    detail = get_case(session, case_id, scope=case_condition(caller), cipher=cipher_of(request))
    visibility = auth.field_visibility(caller.principal, "person")
    audit_read(security, request.app.state.store, caller, resource="case",
               resource_id=case_id, fields=READ_FIELDS[visibility], source=client_ip(request))
    return redact(detail, visibility, security.keys.secret("pseudonym"))


def import_options(request: Request, caller: Caller, **choices: Any) -> ImportOptions:
    """Options of an import made by the caller: as their organisation, audited.

    ``choices`` are the user's own (profile, skip_bad_rows, encoding, file_format).
    """
    auth.require(caller.principal, "import", "create")
    store: Store = request.app.state.store
    with store.sessions() as session:
        org = organisation_of(session, caller)
    security = get_security(request)
    return ImportOptions(
        organisation=org.name, user=caller.principal.username, audit=security.audit,
        source=client_ip(request), owner_organisation_id=org.id,
        only_organisation=(org.name, org.code), keys=security.keys, **choices,
    )
