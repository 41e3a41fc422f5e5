"""HTTP: the JSON API under ``/api/v1/refer`` and the pages under ``/refer``.

Permissions (roles.yaml, resource ``referral``): ``create`` to refer and open workflow cases,
``update`` to take workflow transitions and to accept/reject/complete a referral received,
``read`` for lists (workflow cases in the caller's scope; received referrals of the caller's
organisation), ``review`` to refer without consent (audited override) and to edit the services
directory.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from maillon.auth import api as auth
from maillon.core.errors import MaillonError
from maillon.identify.context import write_scope
from maillon.identify.routes import (
    actor_of,
    engine_of,
    screening_scope,
    tools_of,
)
from maillon.refer import service as svc
from maillon.refer.models import NrmCase, ServiceProvider, ServiceReferral
from maillon.refer.workflow import get_workflow
from maillon.web.deps import db_session
from maillon.web.security import Caller, CallerDep

api_router = APIRouter(prefix="/api/v1/refer", tags=["refer"])
pages_router = APIRouter(prefix="/refer", include_in_schema=False)
SessionDep = Annotated[Session, Depends(db_session)]


def nrm_scope(caller: Caller, action: str = "read") -> ColumnElement[bool]:
    auth.require(caller.principal, "referral", action)
    return auth.scope_filter(caller.principal, "referral", action,
                             owner_column=NrmCase.created_by,
                             organisation_column=NrmCase.organisation_id)


def _may(caller: Caller, action: str) -> bool:
    return auth.allowed(caller.principal, "referral", action) is not None


# --- JSON API ------------------------------------------------------------------------------


class ProviderIn(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    service_type: str
    capacity: int | None = Field(default=None, ge=0)
    organisation_id: str | None = None
    country: str | None = None
    area: str | None = None
    accepts_children: bool = False
    contact: str | None = None


class ReferralIn(BaseModel):
    screening_id: str
    provider_id: str
    fields: list[str] = Field(min_length=1)
    consent: str
    needs: str | None = Field(default=None, max_length=1000)
    override_reason: str | None = Field(default=None, max_length=500)


class StatusIn(BaseModel):
    status: str
    note: str | None = Field(default=None, max_length=500)


class CaseIn(BaseModel):
    screening_id: str | None = None
    is_child: bool = False
    on: date | None = None
    owner: str | None = None


class TransitionIn(BaseModel):
    transition: str
    on: date | None = None
    reason: str | None = Field(default=None, max_length=2000)
    owner: str | None = None


@api_router.get("/services")
def services_api(session: SessionDep, caller: CallerDep, service_type: str | None = None
                 ) -> list[dict[str, Any]]:
    auth.require(caller.principal, "referral", "read")
    return svc.list_providers(session, service_type=service_type)


@api_router.post("/services", status_code=201)
def add_service_api(body: ProviderIn, request: Request, caller: CallerDep) -> dict[str, str]:
    auth.require(caller.principal, "referral", "review")
    tools, actor = tools_of(request), actor_of(request, caller)
    with write_scope(engine_of(request), tools) as session:
        return {"id": svc.add_provider(session, tools, actor, **body.model_dump())}


def _create_referral(request: Request, caller: Caller, body: ReferralIn) -> str:
    auth.require(caller.principal, "referral", "create")
    tools, actor = tools_of(request), actor_of(request, caller)
    scope = screening_scope(caller)
    with request.app.state.store.sessions() as session:
        provider = session.get(ServiceProvider, body.provider_id)
        recipient = provider.organisation_id if provider else None
    with write_scope(engine_of(request), tools, recipient, actor.organisation_id) as session:
        return svc.create_referral(session, tools, actor, **body.model_dump(),
                                   may_override=_may(caller, "review"), scope=scope)


@api_router.post("/referrals", status_code=201)
def referral_api(body: ReferralIn, request: Request, caller: CallerDep) -> dict[str, str]:
    """Refer a screened person: consent required (``given``; ``not_required_child`` for a child;
    ``override`` with a reason for roles with ``referral:review``, audited)."""
    return {"id": _create_referral(request, caller, body)}


@api_router.get("/referrals/incoming")
def incoming_api(request: Request, caller: CallerDep) -> list[dict[str, Any]]:
    """Referrals addressed to the caller's organisation: only the fields the sender shared."""
    auth.require(caller.principal, "referral", "read")
    tools, actor = tools_of(request), actor_of(request, caller)
    with write_scope(engine_of(request), tools) as session:
        return [v.as_dict() for v in svc.incoming_referrals(session, tools, actor)]


@api_router.get("/referrals/outgoing")
def outgoing_api(request: Request, session: SessionDep, caller: CallerDep
                 ) -> list[dict[str, Any]]:
    """Referrals the caller's organisation sent, within the caller's referral scope."""
    return [v.as_dict() for v in svc.outgoing_referrals(
        session, tools_of(request), scope=referral_scope(caller))]


def referral_scope(caller: Caller) -> ColumnElement[bool]:
    """The caller's scope on sent referrals (deny by default: 403 without a referral grant)."""
    auth.require(caller.principal, "referral", "read")
    return auth.scope_filter(caller.principal, "referral", "read",
                             owner_column=ServiceReferral.created_by,
                             organisation_column=ServiceReferral.organisation_id)


@api_router.post("/referrals/{referral_id}/status")
def status_api(referral_id: str, body: StatusIn, request: Request, caller: CallerDep
               ) -> dict[str, Any]:
    auth.require(caller.principal, "referral", "update")
    tools, actor = tools_of(request), actor_of(request, caller)
    with write_scope(engine_of(request), tools) as session:
        return svc.set_referral_status(session, tools, actor, referral_id, body.status,
                                       note=body.note).as_dict()


@api_router.post("/cases", status_code=201)
def open_case_api(body: CaseIn, request: Request, caller: CallerDep) -> dict[str, Any]:
    auth.require(caller.principal, "referral", "create")
    tools, actor = tools_of(request), actor_of(request, caller)
    with write_scope(engine_of(request), tools, actor.organisation_id) as session:
        return svc.open_nrm_case(session, tools, actor, on=body.on or date.today(),
                                 screening_id=body.screening_id, is_child=body.is_child,
                                 owner=body.owner).as_dict()


@api_router.get("/cases/{case_id}")
def case_api(case_id: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    return svc.get_nrm_case(session, case_id, nrm_scope(caller)).as_dict()


@api_router.post("/cases/{case_id}/transitions")
def transition_api(case_id: str, body: TransitionIn, request: Request, caller: CallerDep
                   ) -> dict[str, Any]:
    """Take a workflow transition; 409 when the workflow does not allow it now."""
    scope = nrm_scope(caller, "update")
    tools, actor = tools_of(request), actor_of(request, caller)
    with write_scope(engine_of(request), tools) as session:
        return svc.transition(session, tools, actor, case_id, body.transition,
                              on=body.on or date.today(), reason=body.reason,
                              owner=body.owner, scope=scope).as_dict()


@api_router.get("/overdue")
def overdue_api(session: SessionDep, caller: CallerDep, today: date | None = None
                ) -> dict[str, Any]:
    late, soon = svc.due_cases(session, today=today or date.today(), scope=nrm_scope(caller))
    return {"overdue": [d.__dict__ for d in late], "due_soon": [d.__dict__ for d in soon]}


# --- pages ---------------------------------------------------------------------------------


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200
            ) -> HTMLResponse:
    from maillon.web.pages import render

    return render(request, name, {"nav": "identify", **context}, status)


@pages_router.post("/referrals", response_model=None)
async def referral_submit(request: Request, caller: CallerDep
                          ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    lang = str(form.get("lang") or "en")
    sid = str(form.get("screening_id") or "")
    body = ReferralIn.model_construct(
        screening_id=sid, provider_id=str(form.get("provider_id") or ""),
        fields=[str(f) for f in form.getlist("fields")],
        consent=str(form.get("consent") or ""), needs=str(form.get("needs") or "") or None,
        override_reason=str(form.get("override_reason") or "") or None)
    try:
        _create_referral(request, caller, body)
    except MaillonError as exc:
        from maillon.web.pages import error_page

        return error_page(request, exc.status, exc.message, exc.details)
    return RedirectResponse(f"/identify/screenings/{sid}?lang={lang}&notice=referred",
                            status_code=303)


@pages_router.get("/inbox")
def inbox_page(request: Request, caller: CallerDep) -> HTMLResponse:
    """Referrals received by the caller's organisation, showing only the permitted fields."""
    auth.require(caller.principal, "referral", "read")
    tools, actor = tools_of(request), actor_of(request, caller)
    with write_scope(engine_of(request), tools) as session:
        items = svc.incoming_referrals(session, tools, actor)
    return _render(request, "refer/inbox.html", {
        "title": "Referrals received", "items": items, "labels": svc.SHAREABLE_FIELDS,
        "next": svc.NEXT_STATUS, "may_update": _may(caller, "update")})


@pages_router.post("/referrals/{referral_id}/status", response_model=None)
async def status_submit(referral_id: str, request: Request, caller: CallerDep
                        ) -> RedirectResponse:
    auth.require(caller.principal, "referral", "update")
    form = await request.form()
    tools, actor = tools_of(request), actor_of(request, caller)
    with write_scope(engine_of(request), tools) as session:
        svc.set_referral_status(session, tools, actor, referral_id,
                                str(form.get("status") or ""),
                                note=str(form.get("note") or "") or None)
    return RedirectResponse("/refer/inbox", status_code=303)


@pages_router.get("/cases")
def cases_page(request: Request, session: SessionDep, caller: CallerDep) -> HTMLResponse:
    """Workflow cases in the caller's scope, overdue first."""
    scope = nrm_scope(caller)
    today = date.today()
    late, soon = svc.due_cases(session, today=today, scope=scope)
    rows = session.execute(select(NrmCase).where(scope).order_by(NrmCase.state_since.desc())
                           .limit(200)).scalars().all()
    return _render(request, "refer/cases.html", {
        "title": "Referral workflow", "rows": rows, "overdue": late, "soon": soon,
        "today": today, "late_ids": {d.case_id for d in late}})


@pages_router.post("/cases", response_model=None)
async def open_case_submit(request: Request, caller: CallerDep) -> RedirectResponse:
    auth.require(caller.principal, "referral", "create")
    form = await request.form()
    tools, actor = tools_of(request), actor_of(request, caller)
    sid = str(form.get("screening_id") or "") or None
    with write_scope(engine_of(request), tools, actor.organisation_id) as session:
        view = svc.open_nrm_case(session, tools, actor, on=date.today(), screening_id=sid)
    return RedirectResponse(f"/refer/cases/{view.id}", status_code=303)


@pages_router.get("/cases/{case_id}")
def case_page(case_id: str, request: Request, session: SessionDep, caller: CallerDep
              ) -> HTMLResponse:
    view = svc.get_nrm_case(session, case_id, nrm_scope(caller))
    wf = get_workflow(view.workflow_id)
    return _render(request, "refer/case.html", {
        "title": "Workflow case", "c": view, "wf": wf, "today": date.today(),
        "transitions": [wf.transitions[n] for n in view.available],
        "may_update": _may(caller, "update")})


@pages_router.post("/cases/{case_id}/transition", response_model=None)
async def transition_submit(case_id: str, request: Request, caller: CallerDep
                            ) -> HTMLResponse | RedirectResponse:
    scope = nrm_scope(caller, "update")
    form = await request.form()
    tools, actor = tools_of(request), actor_of(request, caller)
    try:
        on = date.fromisoformat(str(form.get("on") or date.today().isoformat()))
        with write_scope(engine_of(request), tools) as session:
            svc.transition(session, tools, actor, case_id, str(form.get("transition") or ""),
                           on=on, reason=str(form.get("reason") or "") or None, scope=scope)
    except MaillonError as exc:
        from maillon.web.pages import error_page

        return error_page(request, exc.status, exc.message, exc.details)
    except ValueError:
        from maillon.web.pages import error_page

        return error_page(request, 422, "not a valid date", [])
    return RedirectResponse(f"/refer/cases/{case_id}", status_code=303)


@pages_router.get("/services")
def services_page(request: Request, session: SessionDep, caller: CallerDep) -> HTMLResponse:
    auth.require(caller.principal, "referral", "read")
    return _render(request, "refer/services.html", {
        "title": "Services directory", "items": svc.list_providers(session)})
