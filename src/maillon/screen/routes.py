"""HTTP: the JSON API under ``/api/v1/screen`` and the pages under ``/screen``.

Permissions (roles.yaml, resource ``supplier``): ``read`` to see suppliers, alerts and lists
and to screen names ad hoc, ``create`` to register suppliers (one by one or bulk CSV),
``review`` to confirm or clear alerts. Everything is limited to the caller's organisation.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from maillon.auth import api as auth
from maillon.core.errors import InvalidInput, MaillonError, NotFound
from maillon.screen import service
from maillon.screen.matcher import Match
from maillon.screen.models import ScreenAlert, Supplier
from maillon.web.deps import db_session, get_settings, save_upload
from maillon.web.security import Caller, CallerDep, cipher_of, client_ip, get_security

api_router = APIRouter(prefix="/api/v1/screen", tags=["screen"])
pages_router = APIRouter(prefix="/screen", include_in_schema=False)
SessionDep = Annotated[Session, Depends(db_session)]
MAX_NAMES = 1000


class SupplierIn(BaseModel):
    reference: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=500)
    schema_: str = Field(default="Organization", alias="schema")
    country: str | None = None
    birth_date: str | None = None
    identifiers: list[str] = Field(default_factory=list)


class DecisionIn(BaseModel):
    decision: str = Field(pattern="^(confirm|clear)$")
    reason: str = Field(min_length=1, max_length=2000)


class NameIn(BaseModel):
    id: str
    name: str = Field(min_length=1, max_length=500)
    schema_: str = Field(default="", alias="schema")
    birth_date: str | None = None
    country: str | None = None


class NamesIn(BaseModel):
    names: list[NameIn] = Field(max_length=MAX_NAMES)
    threshold: float | None = Field(default=None, ge=0, le=1)
    lists: list[str] | None = None


def _supplier_dict(s: service.SupplierView) -> dict[str, Any]:
    return s.as_dict()


def _alert_dict(a: ScreenAlert) -> dict[str, Any]:
    return {"id": a.id, "supplier_id": a.supplier_id, "list": a.list_id,
            "entity_id": a.entity_id, "name": a.entity_name, "score": round(a.score, 4),
            "explanation": json.loads(a.explanation), "status": a.status, "reason": a.reason,
            "decided_by": a.decided_by, "decided_at": a.decided_at}


def _register(request: Request, caller: Caller, items: list[service.SupplierInput]
              ) -> list[service.ScreenOutcome]:
    auth.require(caller.principal, "supplier", "create")
    return service.register_suppliers(
        request.app.state.store, items, organisation_id=caller.principal.organisation_id,
        user=caller.principal.username, audit=get_security(request).audit,
        cipher=cipher_of(request), source=client_ip(request))


def _decide(request: Request, caller: Caller, alert_id: str, decision: str, reason: str
            ) -> dict[str, Any]:
    auth.require(caller.principal, "supplier", "review")
    return service.decide(request.app.state.store, alert_id, decision=decision, reason=reason,
                          user=caller.principal.username,
                          organisation_id=caller.principal.organisation_id,
                          audit=get_security(request).audit, source=client_ip(request))


def _supplier(request: Request, session: Session, caller: Caller, supplier_id: str
              ) -> service.SupplierView:
    supplier = session.get(Supplier, supplier_id)
    if supplier is None or supplier.organisation_id != caller.principal.organisation_id:
        raise NotFound("no such supplier")
    return service.supplier_view(cipher_of(request), supplier)


# --- JSON API ------------------------------------------------------------------------------


@api_router.get("/suppliers")
def suppliers_api(request: Request, session: SessionDep, caller: CallerDep,
                  status: str | None = None) -> list[dict[str, Any]]:
    auth.require(caller.principal, "supplier", "read")
    return [_supplier_dict(s) for s in service.suppliers(
        session, caller.principal.organisation_id, cipher_of(request), status)]


@api_router.post("/suppliers", status_code=201)
def register_api(body: SupplierIn, request: Request, caller: CallerDep) -> dict[str, Any]:
    item = service.SupplierInput.parse({**body.model_dump(by_alias=True)})
    (outcome,) = _register(request, caller, [item])
    with request.app.state.store.sessions() as session:
        alerts = service.alerts(session, caller.principal.organisation_id,
                                cipher_of(request), outcome.supplier_id, status="open")
    return {**outcome.as_dict(), "alerts": [_alert_dict(a) for a, _ in alerts]}


@api_router.post("/suppliers/bulk", status_code=201)
def bulk_api(request: Request, caller: CallerDep,
             file: Annotated[UploadFile, File()]) -> list[dict[str, Any]]:
    auth.require(caller.principal, "supplier", "create")
    path, _ = save_upload(file, get_settings(request))
    try:
        items = service.read_supplier_csv(path)
    finally:
        path.unlink(missing_ok=True)
    return [o.as_dict() for o in _register(request, caller, items)]


@api_router.get("/suppliers/{supplier_id}")
def supplier_api(supplier_id: str, request: Request, session: SessionDep, caller: CallerDep
                 ) -> dict[str, Any]:
    auth.require(caller.principal, "supplier", "read")
    supplier = _supplier(request, session, caller, supplier_id)
    alerts = service.alerts(session, caller.principal.organisation_id, cipher_of(request),
                            supplier_id, None)
    return {**_supplier_dict(supplier), "alerts": [_alert_dict(a) for a, _ in alerts]}


@api_router.get("/alerts")
def alerts_api(request: Request, session: SessionDep, caller: CallerDep,
               status: str | None = "open") -> list[dict[str, Any]]:
    auth.require(caller.principal, "supplier", "read")
    return [{**_alert_dict(a), "supplier": s.name} for a, s in service.alerts(
        session, caller.principal.organisation_id, cipher_of(request), None, status or None)]


@api_router.post("/alerts/{alert_id}/decision")
def decision_api(alert_id: str, body: DecisionIn, request: Request, caller: CallerDep
                 ) -> dict[str, Any]:
    return _decide(request, caller, alert_id, body.decision, body.reason)


@api_router.post("/names")
def names_api(body: NamesIn, request: Request, caller: CallerDep) -> list[dict[str, Any]]:
    """Screen up to 1,000 names; same line format as ``maillon screen names``."""
    auth.require(caller.principal, "supplier", "read")
    queries = [service.query_from({"id": n.id, "name": n.name, "schema": n.schema_,
                                   "birth_date": n.birth_date or "",
                                   "country": n.country or ""}, i)
               for i, n in enumerate(body.names, start=1)]
    matcher = service.matcher_for(request.app.state.store, body.lists)
    results: list[list[Match]] = matcher.screen(queries, body.threshold)
    return [{"id": q.id, "matches": [m.as_dict() for m in r]}
            for q, r in zip(queries, results, strict=True)]


@api_router.get("/lists")
def lists_api(session: SessionDep, caller: CallerDep) -> list[dict[str, Any]]:
    auth.require(caller.principal, "supplier", "read")
    return service.list_versions(session)


# --- pages ---------------------------------------------------------------------------------


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200
            ) -> HTMLResponse:
    from maillon.web.pages import render

    return render(request, name, {"nav": "screen", **context}, status)


def _may(caller: Caller, action: str) -> bool:
    return auth.allowed(caller.principal, "supplier", action) is not None


def _suppliers_page(request: Request, session: Session, caller: Caller, *, status: int = 200,
                    error: MaillonError | None = None, form: dict[str, str] | None = None
                    ) -> HTMLResponse:
    auth.require(caller.principal, "supplier", "read")
    org = caller.principal.organisation_id
    cipher = cipher_of(request)
    return _render(request, "screen/suppliers.html", {
        "title": "Suppliers", "suppliers": service.suppliers(session, org, cipher),
        "alerts": service.alerts(session, org, cipher, None, "open"),
        "lists": service.list_versions(session), "may_create": _may(caller, "create"),
        "may_review": _may(caller, "review"), "error": error, "form": form or {}}, status)


@pages_router.get("/suppliers")
def suppliers_page(request: Request, session: SessionDep, caller: CallerDep) -> HTMLResponse:
    return _suppliers_page(request, session, caller)


@pages_router.post("/suppliers", response_model=None)
async def register_submit(request: Request, caller: CallerDep
                          ) -> HTMLResponse | RedirectResponse:
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        item = service.SupplierInput.parse(form)
        (outcome,) = _register(request, caller, [item])
    except InvalidInput as exc:
        with request.app.state.store.sessions() as session:
            return _suppliers_page(request, session, caller, status=422, error=exc, form=form)
    return RedirectResponse(f"/screen/suppliers/{outcome.supplier_id}", status_code=303)


@pages_router.get("/suppliers/{supplier_id}")
def supplier_page(supplier_id: str, request: Request, session: SessionDep, caller: CallerDep
                  ) -> HTMLResponse:
    auth.require(caller.principal, "supplier", "read")
    supplier = _supplier(request, session, caller, supplier_id)
    alerts = [a for a, _ in service.alerts(session, caller.principal.organisation_id,
                                           cipher_of(request), supplier_id, None)]
    return _render(request, "screen/supplier.html", {
        "title": f"Supplier {supplier.reference}", "s": supplier,
        "alerts": [(a, json.loads(a.explanation)) for a in alerts],
        "may_review": _may(caller, "review")})


@pages_router.post("/alerts/{alert_id}", response_model=None)
async def decide_submit(alert_id: str, request: Request, caller: CallerDep
                        ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    try:
        result = _decide(request, caller, alert_id, str(form.get("decision") or ""),
                         str(form.get("reason") or ""))
    except MaillonError as exc:
        from maillon.web.pages import error_page

        return error_page(request, exc.status, exc.message, exc.details)
    return RedirectResponse(f"/screen/suppliers/{result['supplier_id']}", status_code=303)
