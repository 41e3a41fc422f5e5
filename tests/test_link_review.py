"""The review queue: JSON and page, role-dependent visibility, decisions stored and audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from maillon.core.settings import Settings
from maillon.link.models import LinkReview
from maillon.store.api import Store
from maillon.store.audit_models import AuditEntry
from tests.auth_helpers import organisation_id, sign_in
from tests.link_helpers import link_run, scripted, seed

pytestmark = pytest.mark.database

PEOPLE = [
    ("a", "Amira", "Haddad", "1995-02-03", "Feminine", "LB"),
    ("b", "Amirah", "Hadad", "1995-02-03", "Feminine", "LB"),
    ("c", "Joy", "Okafor", "2000-10-10", "Feminine", "NG"),
    ("d", "Joyce", "Okafor", "2000-10-10", "Feminine", "NG"),
]


def _queue(store: Store, settings: Settings) -> dict[str, str]:
    mine = organisation_id(store, "Police Unit 7")
    other = organisation_id(store, "Other NGO")
    ids = seed(store, settings, PEOPLE[:2], orgs=[mine, other])
    ids |= seed(store, settings, PEOPLE[2:], orgs=[other])
    link_run(store, settings, scripted([(ids["a"], ids["b"]), (ids["c"], ids["d"])], 0.7))
    return ids


def test_supervisor_sees_own_side_in_clear_and_decides(client: TestClient, store: Store,
                                                        settings: Settings) -> None:
    ids = _queue(store, settings)
    body = client.get("/api/v1/link/review").json()
    assert body["visibility"] == "full"
    assert len(body["items"]) == 1  # the NGO-only pair is outside the caller's scope
    item = body["items"][0]
    sides = {s["person_id"]: s for s in (item["left"], item["right"])}
    assert sides[ids["a"]]["name"] == "Amira Haddad"
    assert sides[ids["b"]]["pseudonymised"] and "Hadad" not in str(sides[ids["b"]]["name"])
    assert item["waterfall"][0]["comparison"] == "prior"
    page = client.get("/link/review")
    assert page.status_code == 200 and "Amira Haddad" in page.text
    res = client.post(f"/api/v1/link/review/{item['id']}", json={"decision": "accept"})
    assert res.status_code == 200 and res.json()["status"] == "accepted"
    with store.engine.connect() as conn:
        status = conn.execute(select(LinkReview.status).where(LinkReview.id == item["id"])
                              ).scalar_one()
        actions = set(conn.execute(select(AuditEntry.action).where(
            AuditEntry.resource == "link_review")).scalars())
    assert status == "accepted" and {"read", "update"} <= actions
    assert client.get("/api/v1/link/review").json()["items"] == []
    # the decision is a label: the next run links the pair although the model does not
    link_run(store, settings, scripted([]))
    from maillon.link.models import PersonCluster
    with store.engine.connect() as conn:
        got = dict(conn.execute(select(PersonCluster.person_id, PersonCluster.cluster_id)).all())
    assert got[ids["a"]] == got[ids["b"]]


def test_analyst_sees_pseudonyms_and_cannot_decide(anonymous_client: TestClient, store: Store,
                                                   settings: Settings) -> None:
    _queue(store, settings)
    sign_in(anonymous_client, store, username="ana.analyst", role="analyst")
    body = anonymous_client.get("/api/v1/link/review").json()
    assert body["visibility"] == "pseudonymised" and len(body["items"]) == 1
    item = body["items"][0]
    assert all(s["name"].startswith("P-") for s in (item["left"], item["right"]))
    res = anonymous_client.post(f"/api/v1/link/review/{item['id']}",
                                json={"decision": "reject"})
    assert res.status_code == 403


def test_roles_without_link_review_are_refused(anonymous_client: TestClient,
                                               store: Store) -> None:
    sign_in(anonymous_client, store, username="adm", role="administrator")
    assert anonymous_client.get("/api/v1/link/review").status_code == 403
