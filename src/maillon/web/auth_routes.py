"""Signing in and out: HTML form with a session cookie, and a JSON API with bearer tokens.

The login form is protected against login CSRF with a double-submit token (a random cookie
repeated in a hidden field). Every sign-in, success or failure, is written to the audit log;
failures are committed before answering so the lockout counter holds.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from maillon.auth import api as auth
from maillon.auth.context import Security
from maillon.store.api import Store
from maillon.web import pages
from maillon.web.deps import get_store
from maillon.web.security import (
    COOKIE,
    CallerDep,
    client_ip,
    csrf_guard,
    get_security,
    request_token,
)

pages_router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
LOGIN_CSRF = "maillon_login_csrf"


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
