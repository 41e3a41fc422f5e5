"""Signing in and out: HTML form with a session cookie, and a JSON API with bearer tokens.

The login form is protected against login CSRF with a double-submit token (a random cookie
repeated in a hidden field). Every sign-in, success or failure, is written to the audit log;
failures are committed before answering so the lockout counter holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from maillon.auth import api as auth
from maillon.auth.context import Security
from maillon.auth.oidc import OidcClient, OidcFailed, asserts_second_factor
from maillon.core.errors import NotFound
from maillon.core.settings import Settings
from maillon.store.api import Store
from maillon.web import pages
from maillon.web.deps import get_settings, get_store
from maillon.web.security import (
    COOKIE,
    CallerDep,
    client_ip,
    csrf_guard,
    get_security,
    request_token,
    session_cache,
)

pages_router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
LOGIN_CSRF = "maillon_login_csrf"
OIDC_COOKIE = "maillon_oidc"
OIDC_MAX_AGE_S = 600


def _safe_next(target: str) -> str:
    """Only same-site paths: ``/cases?x`` stays, ``//evil.example`` or ``https://..`` -> ``/``."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/cases"


def _sign_in(store: Store, security: Security, *, username: str, password: str, totp: str,
             source: str) -> tuple[auth.User, str]:
    with store.sessions() as session:
        try:
            user, token = auth.authenticate(session, username=username, password=password,
                                            totp_code=totp or None, source=source,
                                            keys=security.keys)
            session.commit()
        except auth.AuthenticationFailed:
            session.commit()  # keep the failure count and lock, not roll them back
            with security.audit.audit_scope(store.engine) as conn:
                security.audit.append(conn, actor=username[:100] or "?",
                                      action="login_failed", resource="session", source=source)
            raise
    with security.audit.audit_scope(store.engine) as conn:
        security.audit.append(conn, actor=user.username, action="login", resource="session",
                              source=source, actor_organisation_id=user.organisation_id)
    return user, token


def _login_form(request: Request, *, next_url: str, error: str | None = None,
                username: str = "", status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = pages.render(request, "login.html", {
        "title": "Sign in", "nav": "", "next": next_url, "error": error,
        "username": username, "login_csrf": token,
        "oidc": bool(get_settings(request).oidc_issuer),
    }, status)
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/login")
    return response


@pages_router.get("/login")
def login_page(request: Request, next: str = "/cases") -> HTMLResponse:  # noqa: A002
    return _login_form(request, next_url=_safe_next(next))


@pages_router.post("/login", response_model=None)
def login_submit(
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    security: Annotated[Security, Depends(get_security)],
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    totp: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/cases",  # noqa: A002
    login_csrf: Annotated[str, Form()] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(expected.encode(), login_csrf.encode()):
        return _login_form(request, next_url=_safe_next(next), username=username, status=400,
                           error="The sign-in form expired. Please try again.")
    try:
        _, token = _sign_in(store, security, username=username, password=password, totp=totp,
                            source=client_ip(request))
    except auth.AuthenticationFailed:
        return _login_form(request, next_url=_safe_next(next), username=username, status=401,
                           error="Invalid credentials.")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/",
                        max_age=int(auth.ABSOLUTE_TIMEOUT.total_seconds()))
    response.delete_cookie(LOGIN_CSRF, path="/login")
    return response


@pages_router.post("/logout", dependencies=[Depends(csrf_guard)])
def logout_submit(request: Request, caller: CallerDep,
                  store: Annotated[Store, Depends(get_store)],
                  security: Annotated[Security, Depends(get_security)]) -> RedirectResponse:
    _end(request, store, security, caller.principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _end(request: Request, store: Store, security: Security, principal: auth.Principal) -> None:
    token, _ = request_token(request)  # the very session the caller authenticated with
    with store.sessions() as session, session.begin():
        auth.logout(session, token=token or "")
    session_cache(request).drop(token or "")
    with security.audit.audit_scope(store.engine) as conn:
        security.audit.append(conn, actor=principal.username, action="logout",
                              resource="session", source=client_ip(request),
                              actor_organisation_id=principal.organisation_id)


class Credentials(BaseModel):
    username: str = Field(max_length=200)
    password: str = Field(max_length=1024)
    totp: str | None = Field(default=None, max_length=12)


@api_router.post("/login")
def api_login(body: Credentials, request: Request,
              store: Annotated[Store, Depends(get_store)],
              security: Annotated[Security, Depends(get_security)]) -> JSONResponse:
    """Exchange credentials for a bearer token: ``{"token", "role", "organisation_id"}``."""
    user, token = _sign_in(store, security, username=body.username, password=body.password,
                           totp=body.totp or "", source=client_ip(request))
    payload: dict[str, Any] = {"token": token, "token_type": "bearer", "username": user.username,
                               "role": user.role, "organisation_id": user.organisation_id}
    return JSONResponse(payload)


@api_router.post("/logout", status_code=204, dependencies=[Depends(csrf_guard)])
def api_logout(request: Request, caller: CallerDep,
               store: Annotated[Store, Depends(get_store)],
               security: Annotated[Security, Depends(get_security)]) -> Response:
    _end(request, store, security, caller.principal)
    return Response(status_code=204)


# -- OpenID Connect ----------------------------------------------------------------------------


def _oidc(request: Request, settings: Settings) -> OidcClient:
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    if client is None:
        client = OidcClient.from_settings(settings)
        if client is None:
            raise NotFound("OpenID Connect sign-in is not configured")
        request.app.state.oidc = client
    return client


def _state_key(security: Security) -> bytes:
    return hmac.new(security.keys.secret("audit"), b"maillon/oidc-state", hashlib.sha256).digest()


def _seal_state(security: Security, pending: dict[str, str]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(pending).encode()).decode()
    mac = hmac.new(_state_key(security), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _open_state(security: Security, cookie: str) -> dict[str, str] | None:
    body, _, mac = cookie.partition(".")
    expected = hmac.new(_state_key(security), body.encode(), hashlib.sha256).hexdigest()
    if not mac or not hmac.compare_digest(mac, expected):
        return None
    try:
        pending: dict[str, str] = json.loads(base64.urlsafe_b64decode(body))
        expired = time.time() - float(pending.get("at", "0")) > OIDC_MAX_AGE_S
    except (ValueError, TypeError, AttributeError):  # binascii.Error is a ValueError
        return None
    return None if expired else pending


def _callback_url(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


@pages_router.get("/login/oidc")
def oidc_start(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    security: Annotated[Security, Depends(get_security)],
    next: str = "/cases",  # noqa: A002
) -> Response:
    """Send the browser to the identity provider (state, nonce and PKCE verifier kept in a
    signed, short-lived, HttpOnly cookie)."""
    client = _oidc(request, settings)
    try:
        url, pending = client.start(_callback_url(request))
    except OidcFailed as exc:
        return _login_form(request, next_url=_safe_next(next), status=502,
                           error=f"Sign-in with the identity provider failed: {exc}")
    pending.update(next=_safe_next(next), at=str(time.time()))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(OIDC_COOKIE, _seal_state(security, pending), httponly=True,
                        samesite="lax", secure=request.url.scheme == "https",
                        path="/login/oidc", max_age=OIDC_MAX_AGE_S)
    return response


@pages_router.get("/login/oidc/callback", name="oidc_callback")
def oidc_callback(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    store: Annotated[Store, Depends(get_store)],
    security: Annotated[Security, Depends(get_security)],
    code: str = "",
    state: str = "",
) -> Response:
    """Validate the provider's answer, then sign the matching Maillon account in."""
    client = _oidc(request, settings)
    source = client_ip(request)
    pending = _open_state(security, request.cookies.get(OIDC_COOKIE, ""))
    username = "?"
    try:
        if pending is None or not hmac.compare_digest(pending["state"].encode(), state.encode()):
            raise OidcFailed("the sign-in expired or did not start here")
        claims = client.finish(code, _callback_url(request), pending)
        username = client.username(claims)
        with store.sessions() as session, session.begin():
            user, token = auth.authenticate_external(
                session, username=username, second_factor=asserts_second_factor(claims),
                source=source)
            organisation_id = user.organisation_id
    except (OidcFailed, auth.AuthenticationFailed) as exc:
        with security.audit.audit_scope(store.engine) as conn:
            security.audit.append(conn, actor=username[:100], action="login_failed",
                                  resource="session", source=source,
                                  detail={"via": "oidc", "reason": type(exc).__name__})
        reason = (str(exc) if isinstance(exc, OidcFailed)
                  else "no active Maillon account matches, or a second factor is required")
        refused = _login_form(request, next_url="/cases", status=401,
                              error=f"Sign-in with the identity provider failed: {reason}.")
        refused.delete_cookie(OIDC_COOKIE, path="/login/oidc")
        return refused
    with security.audit.audit_scope(store.engine) as conn:
        security.audit.append(conn, actor=username, action="login", resource="session",
                              source=source, actor_organisation_id=organisation_id,
                              detail={"via": "oidc"})
    response = RedirectResponse(pending["next"], status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/",
                        max_age=int(auth.ABSOLUTE_TIMEOUT.total_seconds()))
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc")
    return response
