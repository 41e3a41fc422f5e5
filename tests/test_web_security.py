"""Who may see what through the web app and the API: sign-in, scope, redaction, CSRF, audit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text

from maillon.collect.api import ImportOptions, import_file
from maillon.store.api import Store
from tests.auth_helpers import PASSWORD, make_user, sign_in
from tests.factories import GOOD_ROWS, HEADER, write_csv

PUBLIC = {"/login", "/login/oidc", "/login/oidc/callback", "/api/v1/auth/login",
          "/api/v1/health", "/api/v1/openapi.json", "/api/v1/docs",
          "/api/v1/docs/oauth2-redirect"}


def _seed(store: Store, tmp_path: Path) -> None:
    """Police Unit 7 owns C-1 and C-2 (factories); Harbour Police owns C-9."""
    import_file(store.engine, write_csv(tmp_path / "police.csv", GOOD_ROWS), ImportOptions())
    other = [dict(zip(HEADER, GOOD_ROWS[0], strict=True))]
    other[0].update(record_id="HP-1", case_id="C-9", org_Name="Harbour Police",
                    prs_FirstName="Zara", prs_SecondName="Hidden")
    import_file(store.engine, write_csv(tmp_path / "harbour.csv",
                                        [[r[h] for h in HEADER] for r in other]),
                ImportOptions())


def _case_id(store: Store, source: str) -> str:
    with store.engine.connect() as conn:
        return str(conn.execute(text("SELECT id FROM case_file WHERE source_record_id = :s"),
                                {"s": source}).scalar_one())


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, looking inside included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            yield from _api_routes(route.routes)


def test_every_route_but_the_public_ones_needs_sign_in(anonymous_client: TestClient) -> None:
    """Generated from the route table, so a new route cannot be left open by mistake."""
    app_routes = anonymous_client.app.routes  # type: ignore[attr-defined]
    routes = [r for r in _api_routes(app_routes) if r.path not in PUBLIC]
    assert len(routes) > 10
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        for method in route.methods:
            response = anonymous_client.request(method, path, follow_redirects=False)
            assert response.status_code in (303, 401), (method, path, response.status_code)
            if path.startswith("/api/"):
                assert response.status_code == 401
                assert response.json()["error"]["code"] == "unauthenticated"


def test_anonymous_page_redirects_to_sign_in(anonymous_client: TestClient) -> None:
    response = anonymous_client.get("/cases?year=2022", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcases%3Fyear%3D2022"


@pytest.mark.database
def test_lists_never_show_another_organisations_records(
    client: TestClient, store: Store, tmp_path: Path
) -> None:
    _seed(store, tmp_path)
    listed = client.get("/api/v1/cases").json()
    assert {i["source_record_id"] for i in listed["items"]} == {"C-1", "C-2"}
    assert listed["total"] == 2
    assert client.post("/api/v1/cases/search", json={"q": "Zara"}).json()["total"] == 0
    assert client.get(f"/api/v1/cases/{_case_id(store, 'C-9')}").status_code == 404
    page = client.get("/cases", headers={"Accept": "text/html"}).text
    assert "Harbour Police" not in page and "C-9" not in page
    assert client.get(f"/cases/{_case_id(store, 'C-9')}").status_code == 404


def test_analyst_sees_pseudonyms_not_names(
    anonymous_client: TestClient, store: Store, tmp_path: Path
) -> None:
    _seed(store, tmp_path)
    sign_in(anonymous_client, store, username="ann.analyst", role="analyst")
    detail = anonymous_client.get(f"/api/v1/cases/{_case_id(store, 'C-1')}").json()
    names = {p["given_name"] for p in detail["persons"]}
    assert all(re.fullmatch(r"P-[0-9a-f]{10}", n) for n in names)
    assert all(p["family_name"] is None for p in detail["persons"])
    assert {p["birth_date"] for p in detail["persons"]} <= {"1998", "1980", None}
    html = anonymous_client.get(f"/cases/{_case_id(store, 'C-1')}").text
    assert "Popescu" not in html and "Ana" not in html
    assert anonymous_client.post("/api/v1/cases/search", json={"q": "Popescu"}).json()["total"] == 0
    assert anonymous_client.post("/api/v1/cases/search", json={"q": "C-1"}).json()["total"] == 1


@pytest.mark.parametrize("role", ["administrator", "auditor"])
def test_roles_without_case_access_are_refused(
    anonymous_client: TestClient, store: Store, role: str
) -> None:
    sign_in(anonymous_client, store, username=f"x.{role}", role=role)
    assert anonymous_client.get("/api/v1/cases").status_code == 403
    assert anonymous_client.post(
        "/api/v1/imports", files={"file": ("a.csv", b"record_id\nA\n", "text/csv")}
    ).status_code == 403


def test_case_reads_are_audited_without_values(
    client: TestClient, store: Store, tmp_path: Path
) -> None:
    _seed(store, tmp_path)
    case_id = _case_id(store, "C-1")
    assert client.get(f"/api/v1/cases/{case_id}").status_code == 200
    with store.engine.connect() as conn:
        row = conn.execute(text(
            "SELECT actor, action, resource, resource_id, fields, detail FROM audit_log "
            "WHERE action = 'read'")).one()
        dump = " ".join(str(v) for r in conn.execute(text("SELECT * FROM audit_log"))
                        for v in r)
    assert row[:4] == ("sam.supervisor", "read", "case", case_id)
    assert "family_name" in row[4]
    assert "Popescu" not in dump and "Ana " not in dump


def _cookie_sign_in(client: TestClient, store: Store) -> str:
    secret = make_user(store, username="cora.cookie", role="supervisor",
                       organisation="Police Unit 7")
    form = client.get("/login").text
    login_csrf = re.search(r'name="login_csrf" value="([^"]+)"', form)
    assert login_csrf
    response = client.post("/login", data={
        "username": "cora.cookie", "password": PASSWORD, "totp": pyotp.TOTP(secret).now(),
        "next": "/imports", "login_csrf": login_csrf.group(1)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/imports"
    page = client.get("/imports").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    return csrf.group(1)


def test_cookie_session_needs_csrf_on_posts(
    anonymous_client: TestClient, store: Store, tmp_path: Path
) -> None:
    csrf = _cookie_sign_in(anonymous_client, store)
    data = write_csv(tmp_path / "p.csv", GOOD_ROWS).read_bytes()
    refused = anonymous_client.post("/imports", files={"file": ("p.csv", data, "text/csv")},
                                    data={"profile": "htcds"}, follow_redirects=False)
    assert refused.status_code == 403
    accepted = anonymous_client.post(
        "/imports", files={"file": ("p.csv", data, "text/csv")},
        data={"profile": "htcds", "csrf_token": csrf}, follow_redirects=False)
    assert accepted.status_code == 303
    out = anonymous_client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert anonymous_client.get("/imports", follow_redirects=False).status_code == 303


def test_sign_in_failures_are_generic_and_lock_the_account(
    anonymous_client: TestClient, store: Store
) -> None:
    make_user(store, username="lou.locked", role="supervisor", organisation="Police Unit 7")
    for _ in range(5):
        bad = anonymous_client.post("/api/v1/auth/login", json={
            "username": "lou.locked", "password": "wrong password entirely", "totp": "000000"})
        assert bad.status_code == 401
        assert bad.json()["error"]["message"] == "invalid credentials"
    unknown = anonymous_client.post("/api/v1/auth/login", json={
        "username": "nobody.here", "password": "x" * 12, "totp": "000000"})
    assert unknown.json() == bad.json()
    with store.engine.connect() as conn:
        locked = conn.execute(text(
            "SELECT locked_until FROM user_account WHERE username = 'lou.locked'")).scalar_one()
        failures = conn.execute(text(
            "SELECT count(*) FROM audit_log WHERE action = 'login_failed'")).scalar_one()
    assert locked is not None and failures == 6


def test_login_form_without_its_csrf_cookie_is_refused(anonymous_client: TestClient) -> None:
    response = anonymous_client.post("/login", data={
        "username": "a", "password": "b", "totp": "1", "login_csrf": "forged"})
    assert response.status_code == 400


def test_open_redirects_are_refused(anonymous_client: TestClient) -> None:
    page = anonymous_client.get("/login?next=//evil.example/x").text
    assert 'name="next" value="/cases"' in page


def test_api_logout_ends_the_bearer_session_not_a_cookie_one(
    anonymous_client: TestClient, store: Store
) -> None:
    _cookie_sign_in(anonymous_client, store)
    cookie_session = anonymous_client.cookies.get("maillon_session")
    token = sign_in(anonymous_client, store, username="bea.bearer")
    assert anonymous_client.post("/api/v1/auth/logout").status_code == 204
    assert anonymous_client.get("/api/v1/cases").status_code == 401
    del anonymous_client.headers["Authorization"]
    assert anonymous_client.cookies.get("maillon_session") == cookie_session
    assert anonymous_client.get("/api/v1/cases").status_code == 200
    del token


def test_cookie_logout_needs_its_csrf_token(anonymous_client: TestClient, store: Store) -> None:
    csrf = _cookie_sign_in(anonymous_client, store)
    assert anonymous_client.post("/logout", follow_redirects=False).status_code == 403
    assert anonymous_client.get("/imports", follow_redirects=False).status_code == 200
    assert anonymous_client.post("/logout", data={"csrf_token": csrf},
                                 follow_redirects=False).status_code == 303
