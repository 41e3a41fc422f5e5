"""Supplier registry, review queue, re-screening, the JSON API and the pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from maillon.auth.context import Security
from maillon.core.errors import Conflict, InvalidInput
from maillon.core.settings import Settings
from maillon.screen import service
from maillon.screen.models import Supplier
from maillon.store.api import Store
from maillon.store.audit_models import AuditEntry
from maillon.store.crypto import FieldCipher
from tests.auth_helpers import organisation_id

LIST: list[dict[str, Any]] = [
    {"id": "T-1", "schema": "Company", "properties": {"name": ["Golden Harvest Recruitment Ltd"],
                                                      "country": ["np"]}},
    {"id": "T-2", "schema": "Person", "properties": {"name": ["Ivan Petrovich Sidorov"],
                                                     "birthDate": ["1966-02-01"]}},
]
def load_test_list(store: Store, tmp_path: Path, entries: list[dict[str, Any]] = LIST,
                   audit: Security | None = None) -> None:
    path = tmp_path / "trafficking.ftm.json"
    path.write_text("\n".join(json.dumps(e) for e in entries) + "\n", encoding="utf-8")
    service.load_list(store, "trafficking_suppliers", [path], fmt="ftm",
                      audit=audit.audit if audit else None)


@pytest.mark.database
def test_register_review_silence_and_rescreen(store: Store, settings: Settings,
                                              tmp_path: Path) -> None:
    security = Security.open(settings)
    audit = security.audit
    cipher = FieldCipher(security.keys, store.engine)
    org = organisation_id(store, "Procurement Unit")
    load_test_list(store, tmp_path, audit=security)
    items = [service.SupplierInput("S1", "Golden Harvest Recruitment Limited", country="np"),
             service.SupplierInput("S2", "Blue Sky Catering")]
    hit, clean = service.register_suppliers(store, items, organisation_id=org, user="ana",
                                            audit=audit, cipher=cipher)
    assert (hit.status, hit.new_alerts) == ("pending_review", 1)
    assert (clean.status, clean.new_alerts) == ("cleared", 0)
    with store.sessions() as session:
        ((alert, _),) = service.alerts(session, org, cipher)
        stored = session.execute(select(Supplier.name)).scalars().all()
    assert "Golden Harvest Recruitment Limited" not in stored  # encrypted at rest
    with pytest.raises(InvalidInput):
        service.decide(store, alert.id, decision="clear", reason=" ", user="rita",
                       organisation_id=org, audit=audit)
    result = service.decide(store, alert.id, decision="clear", reason="different company, "
                            "other registration number", user="rita", organisation_id=org,
                            audit=audit)
    assert result["supplier_status"] == "cleared"
    with pytest.raises(Conflict):
        service.decide(store, alert.id, decision="confirm", reason="x", user="rita",
                       organisation_id=org, audit=audit)
    # same supplier, same list entry: the cleared pair stays silent
    (again,) = service.register_suppliers(store, items[:1], organisation_id=org, user="ana",
                                          audit=audit, cipher=cipher)
    assert (again.status, again.new_alerts, again.silenced) == ("cleared", 0, 1)
    assert service.rescreen_all(store, audit=audit, cipher=cipher)["new_alerts"] == 0
    # the list entry changes: the pair alerts again on re-screening
    changed = [dict(LIST[0], properties={**LIST[0]["properties"],
                                         "alias": ["Golden Harvest Manpower"]}), LIST[1]]
    load_test_list(store, tmp_path, changed, audit=security)
    from datetime import date

    from maillon.jobs import JOBS
    from maillon.refer.jobs import JobContext, run_jobs

    (job,) = run_jobs(JobContext(settings, store, security, date.today()), JOBS,
                      only="supplier_rescreening")  # what `maillon jobs run` does
    totals = job.counts
    assert totals == {"suppliers": 2, "new_alerts": 1, "pending_review": 1, "blocked": 0}
    with store.sessions() as session:
        ((alert2, supplier),) = service.alerts(session, org, cipher)
        assert supplier.reference == "S1"
    service.decide(store, alert2.id, decision="confirm", reason="same registration number",
                   user="rita", organisation_id=org, audit=audit)
    with store.sessions() as session:
        assert [(s.status, s.name) for s in service.suppliers(session, org, cipher, "blocked")
                ] == [("blocked", "Golden Harvest Recruitment Limited")]
        actions = [e.action for e in session.execute(select(AuditEntry).where(
            AuditEntry.resource.in_(["supplier", "supplier_alert", "screen_list"]))).scalars()]
    assert actions.count("review") == 2 and "import" in actions and "create" in actions
    with store.engine.connect() as conn:
        assert audit.verify(conn).ok


def test_supplier_csv(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("reference,name,schema,country\nA1,Acme,Organization,FR\nA2,,Person,XX\n",
                    encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        service.read_supplier_csv(path)
    assert {d.field for d in info.value.details} == {"name", "country"}


@pytest.mark.database
def test_api_and_pages(client: TestClient, store: Store, tmp_path: Path) -> None:
    load_test_list(store, tmp_path)
    response = client.post("/api/v1/screen/suppliers", json={
        "reference": "R-9", "name": "Sidorov Ivan", "schema": "Person",
        "birth_date": "1967"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending_review"
    (alert,) = body["alerts"]
    assert alert["entity_id"] == "T-2" and alert["list"] == "trafficking_suppliers"
    assert {"feature": "birth_date", "result": "year_close", "weight": 0.0} in alert[
        "explanation"]
    queue = client.get("/api/v1/screen/alerts").json()
    assert [a["id"] for a in queue] == [alert["id"]]
    page = client.get("/screen/suppliers", headers={"accept": "text/html"})
    assert page.status_code == 200 and "Sidorov Ivan" in page.text
    detail = client.get(f"/screen/suppliers/{body['supplier_id']}")
    assert "Ivan Petrovich Sidorov" in detail.text
    decided = client.post(f"/api/v1/screen/alerts/{alert['id']}/decision",
                          json={"decision": "clear", "reason": "born in another city"})
    assert decided.json()["supplier_status"] == "cleared"
    names = client.post("/api/v1/screen/names", json={"names": [
        {"id": "1", "name": "Golden Harvest Recruitment"}, {"id": "2", "name": "Zzyzx Qwerty"}]})
    assert [len(r["matches"]) for r in names.json()] == [1, 0]
    bulk = client.post("/api/v1/screen/suppliers/bulk", files={"file": (
        "s.csv", b"reference,name\nB1,Golden Harvest Recruitment\nB2,Other Name\n", "text/csv")})
    assert [o["status"] for o in bulk.json()] == ["pending_review", "cleared"]


@pytest.mark.database
def test_roles_without_grant_are_refused(anonymous_client: TestClient, store: Store) -> None:
    from tests.auth_helpers import sign_in

    sign_in(anonymous_client, store, username="ana.analyst", role="analyst")
    assert anonymous_client.get("/api/v1/screen/suppliers").status_code == 403
    assert anonymous_client.post("/api/v1/screen/suppliers", json={
        "reference": "x", "name": "y"}).status_code == 403


def test_demo_with_fixture_list(store: Store, settings: Settings, tmp_path: Path) -> None:
    from rich.console import Console

    from maillon.screen.api import run_demo

    org = organisation_id(store, "Demo Procurement")
    console = Console(record=True, width=200)
    result = run_demo(settings, store, organisation_id=org, console=console,
                      folder=tmp_path / "absent")
    statuses = [s["status"] for s in result["suppliers"]]
    assert statuses == ["pending_review", "pending_review", "pending_review", "cleared",
                        "cleared"]
    again = run_demo(settings, store, organisation_id=org, console=console,
                     folder=tmp_path / "absent")
    assert again["lists"][0]["status"] == "unchanged"
