"""The authorisation matrix: every route x every built-in role, generated from the route table.

Each route belongs to a resource of ``auth/roles.yaml`` (:data:`RESOURCE_OF`, by path prefix);
a route whose prefix is not listed fails the test, so a new capability cannot forget to say
what protects it. For every role:

* a role with no grant at all on the route's resource is refused: 403 (deny by default), or
  422 for a request whose body FastAPI rejects before any handler code runs;
* a role with a grant is not refused outright (it may still get 404 for an object outside its
  scope, or 422 for the empty request this test sends), and nothing ever answers 5xx.

The own / other organisation dimension (a record of another organisation is refused to every
role, lists and searches never show one) is generated from the same route table in
``tests/test_authorization_orgs.py``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from maillon.auth.roles import roles
from maillon.core.settings import Settings
from maillon.store.api import Store
from tests.auth_helpers import sign_in
from tests.test_web_security import PUBLIC, _api_routes

RESOURCE_OF: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("/api/v1/cases", frozenset({"case"})),
    ("/cases", frozenset({"case"})),
    ("/api/v1/imports", frozenset({"import"})),
    ("/imports", frozenset({"import"})),
    ("/api/v1/stats", frozenset({"stats"})),
    ("/stats/stats.css", None),  # the dashboard's style sheet
    ("/stats", frozenset({"stats"})),
    ("/api/v1/link", frozenset({"link_review"})),
    ("/link", frozenset({"link_review"})),
    ("/api/v1/identify/frameworks", None),  # published indicator lists, reference data
    ("/api/v1/identify", frozenset({"person", "referral"})),
    ("/identify", frozenset({"person", "referral"})),
    ("/api/v1/refer", frozenset({"referral"})),
    ("/refer", frozenset({"referral"})),
    ("/api/v1/screen", frozenset({"supplier"})),
    ("/screen", frozenset({"supplier"})),
    ("/api/v1/money", frozenset({"alert"})),
    ("/money", frozenset({"alert"})),
    # open to every signed-in account: code lists, signing out, the home redirect
    ("/api/v1/vocabularies", None),
    ("/api/v1/auth/logout", None),
    ("/logout", None),
    ("/", None),
)
"""Route path prefix -> the resources whose grants open it (None: any signed-in account)."""

SKIPPED = {("POST", "/api/v1/auth/logout"), ("POST", "/logout")}
"""Routes not called (they would end the test's own sessions); still listed above."""


def _resource(path: str) -> frozenset[str] | None:
    for prefix, resources in RESOURCE_OF:
        if path == prefix or (prefix != "/" and path.startswith(prefix.rstrip("/") + "/")):
            return resources
        if prefix == "/" and path == "/":
            return resources
    raise AssertionError(f"route {path} is not in RESOURCE_OF: say which resource protects it")


def _has_grant(role: str, resources: frozenset[str]) -> bool:
    granted = roles()[role].resources
    return any(r in granted and granted[r].actions for r in resources)


@pytest.fixture
def tokens(anonymous_client: TestClient, store: Store) -> dict[str, str]:
    found = {}
    for role in roles():
        found[role] = sign_in(anonymous_client, store, username=f"m.{role.replace('_', '-')}",
                              role=role)
    anonymous_client.headers.pop("Authorization", None)
    return found


def test_every_route_for_every_role(anonymous_client: TestClient, tokens: dict[str, str],
                                    settings: Settings) -> None:
    app_routes = anonymous_client.app.routes  # type: ignore[attr-defined]
    routes = [r for r in _api_routes(app_routes) if r.path not in PUBLIC]
    assert len(routes) > 20
    problems: list[str] = []
    checked = 0
    for route in routes:
        assert isinstance(route, APIRoute)
        resources = _resource(route.path)
        path = re.sub(r"\{[^}]+\}", "0" * 32, route.path)
        for method in sorted(route.methods or ()):
            if (method, route.path) in SKIPPED:
                continue
            for role, token in tokens.items():
                kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}"},
                                          "follow_redirects": False}
                if method in ("POST", "PUT", "PATCH"):
                    if path.startswith("/api/"):
                        kwargs["json"] = {}
                    else:
                        kwargs["data"] = {}
                status = anonymous_client.request(method, path, **kwargs).status_code
                checked += 1
                where = f"{method} {route.path} as {role}: {status}"
                if status >= 500:
                    problems.append(f"{where} (server error)")
                elif resources is None:
                    if status in (401, 403):
                        problems.append(f"{where} (open to every signed-in account)")
                elif not _has_grant(role, resources):
                    allowed = (403, 422) if method != "GET" else (403,)
                    if status not in allowed:
                        problems.append(f"{where} (role has no grant on {sorted(resources)})")
                elif status == 401:
                    problems.append(f"{where} (signed in, yet unauthenticated)")
    assert checked > 100
    assert problems == [], "\n".join(problems)
