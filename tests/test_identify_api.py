"""The identify and refer JSON API and pages, signed in with real accounts."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from maillon.store.api import Store
from tests.auth_helpers import PASSWORD, make_user, organisation_id

pytestmark = pytest.mark.database

ANSWERS = {"dr_nature_job": {"present": True, "note": "promised hotel work"},
           "dr_wages": {"present": True},
           "ex_hours": {"present": True, "note": "14 hours a day"},
           "ex_salary": {"present": True},
           "cd_documents": {"present": True, "note": "passport kept"},
           "cd_debt": {"present": True}}


_TOKENS: dict[tuple[int, str], str] = {}


def login(client: TestClient, store: Store, username: str, role: str, org: str) -> None:
    """Sign ``client`` in as ``username`` (the account is created on first use)."""
    known = _TOKENS.get((id(store), username))
    if known:
        client.headers["Authorization"] = f"Bearer {known}"
        return
    secret = make_user(store, username=username, role=role, organisation=org)
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD,
                                                "totp": pyotp.TOTP(secret).now()})
    assert r.status_code == 200, r.text
    _TOKENS[(id(store), username)] = r.json()["token"]
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"


def screening(client: TestClient, **extra: Any) -> dict[str, Any]:
    body = {"framework_id": "delphi_adult_labour",
            "subject": {"label": "Amina Okafor", "birth_date": "1994-03-02",
                        "nationality": "NG", "language": "en"},
            "answers": ANSWERS, **extra}
    r = client.post("/api/v1/identify/screenings", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_screening_api_scope_and_permissions(anonymous_client: TestClient,
                                             store: Store) -> None:
    c = anonymous_client
    assert c.get("/api/v1/identify/frameworks").status_code == 401
    login(c, store, "cara.worker", "case_worker", "Police Unit 7")
    fws = {f["id"]: f for f in c.get("/api/v1/identify/frameworks").json()}
    assert fws["delphi_child_sexual"]["complete"] is False
    s = screening(c)
    assert s["recommendation"] == "refer_as_presumed_victim"
    assert s["screener"] == "cara.worker" and s["framework_version"] == "2009-09"
    assert "not a legal determination" in s["result"]["disclaimer"]
    r = c.post("/api/v1/identify/screenings", json={
        "framework_id": "delphi_child_labour", "subject": {"label": "x"}, "answers": {}})
    assert r.status_code == 422 and "incomplete" in r.json()["error"]["message"]
    assert c.get(f"/api/v1/identify/screenings/{s['id']}").json()["subject"]["label"] == \
        "Amina Okafor"
    login(c, store, "cleo.worker", "case_worker", "Police Unit 7")
    assert c.get(f"/api/v1/identify/screenings/{s['id']}").status_code == 404  # own scope
    login(c, store, "ana.analyst", "analyst", "Police Unit 7")
    assert c.post("/api/v1/identify/hotline", json={
        "caller_type": "witness", "summary": "x"}).status_code == 403
    login(c, store, "sam.supervisor", "supervisor", "Police Unit 7")
    assert c.get(f"/api/v1/identify/screenings/{s['id']}").status_code == 200  # organisation
    r = c.post("/api/v1/identify/hotline", json={"caller_type": "witness",
                                                 "summary": "workers locked in at night",
                                                 "urgent": True})
    assert r.status_code == 201


def test_screening_pages_in_french_and_english(anonymous_client: TestClient,
                                               store: Store) -> None:
    c = anonymous_client
    login(c, store, "cara.worker", "case_worker", "Police Unit 7")
    page = c.get("/identify/screen?lang=fr")
    assert page.status_code == 200
    assert "Dépistage par indicateurs" in page.text
    assert "Servitude pour dettes" in page.text
    assert 'name="viewport"' in page.text
    en = c.get("/identify/screen", headers={"Accept-Language": "en-GB"})
    assert "Indicator screening" in en.text
    form = {"lang": "en", "framework_id": "delphi_adult_labour", "subject_label": "A. O.",
            "birth_date": "2010-05-01", "child_act": "on", "ind_ex_hours": "on",
            "note_ex_hours": "works nights", "ind_ex_salary": "on"}
    r = c.post("/identify/screen", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    result = c.get(r.headers["location"])
    assert "Refer as presumed victim" in result.text
    assert "child path" in result.text and "works nights" in result.text
    bad = c.post("/identify/screen", data={**form, "birth_date": "2010-02-30"})
    assert bad.status_code == 422
    home = c.get("/identify")
    assert home.status_code == 200 and "delphi_adult_labour" in home.text
    assert c.get("/identify/hotline").status_code == 200
    r = c.post("/identify/hotline", data={"caller_type": "victim", "summary": "help",
                                          "channel": "phone"}, follow_redirects=False)
    assert r.status_code == 303 and "call=" in r.headers["location"]


def test_referral_and_workflow_api(anonymous_client: TestClient, store: Store) -> None:
    c = anonymous_client
    shelter_org = organisation_id(store, "Shelter Hope")
    login(c, store, "sam.supervisor", "supervisor", "Police Unit 7")
    r = c.post("/api/v1/refer/services", json={"name": "Shelter Hope beds",
                                                "service_type": "shelter", "capacity": 3,
                                                "organisation_id": shelter_org})
    assert r.status_code == 201, r.text
    provider = r.json()["id"]
    login(c, store, "cara.worker", "case_worker", "Police Unit 7")
    assert c.post("/api/v1/refer/services", json={"name": "x", "service_type": "legal"}
                  ).status_code == 403
    s = screening(c)
    body = {"screening_id": s["id"], "provider_id": provider,
            "fields": ["name", "needs"], "needs": "bed", "consent": ""}
    assert c.post("/api/v1/refer/referrals", json=body).status_code == 422
    assert c.post("/api/v1/refer/referrals", json={
        **body, "consent": "override", "override_reason": "danger"}).status_code == 403
    r = c.post("/api/v1/refer/referrals", json={**body, "consent": "given"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert c.get("/api/v1/refer/referrals/outgoing").json()[0]["data"] is None

    login(c, store, "sol.shelter", "case_worker", "Shelter Hope")
    [got] = c.get("/api/v1/refer/referrals/incoming").json()
    assert got["data"] == {"name": "Amina Okafor", "needs": "bed"}
    assert c.post(f"/api/v1/refer/referrals/{rid}/status",
                  json={"status": "done"}).status_code == 409
    assert c.post(f"/api/v1/refer/referrals/{rid}/status",
                  json={"status": "accepted"}).json()["status"] == "accepted"
    inbox = c.get("/refer/inbox")
    assert "Amina Okafor" in inbox.text and "promised hotel work" not in inbox.text

    login(c, store, "cara.worker", "case_worker", "Police Unit 7")
    case = c.post("/api/v1/refer/cases", json={"screening_id": s["id"], "on": "2026-04-02"})
    assert case.status_code == 201, case.text
    cid = case.json()["id"]
    r = c.post(f"/api/v1/refer/cases/{cid}/transitions",
               json={"transition": "cg_positive", "on": "2026-04-02"})
    assert r.status_code == 409
    r = c.post(f"/api/v1/refer/cases/{cid}/transitions",
               json={"transition": "refer", "on": "2026-04-02"})
    assert r.json()["deadline"] == "2026-04-13"
    late = c.get("/api/v1/refer/overdue?today=2026-04-20").json()
    assert [d["case_id"] for d in late["overdue"]] == [cid]
    assert c.get(f"/refer/cases/{cid}").status_code == 200
    assert c.get("/refer/cases").status_code == 200
    assert c.get("/refer/services").status_code == 200
