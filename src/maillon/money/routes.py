"""HTTP: the alert queue as JSON (``/api/v1/money/alerts``) and as pages (``/money/alerts``).

Permissions: ``alert:read`` to list and open, ``alert:update`` to assign, change the status and
add notes, ``alert:export`` for the goAML draft (see :mod:`maillon.money.queue`). Every change,
every detail read and every export is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from maillon.auth.permissions import allowed
from maillon.money import queue
from maillon.money.goaml import network_svg
from maillon.money.models import STATUSES
from maillon.web.pages import render
from maillon.web.security import Caller, CallerDep, cipher_of, client_ip, get_security

api_router = APIRouter(prefix="/api/v1/money", tags=["money"])
pages_router = APIRouter(prefix="/money", include_in_schema=False)
T = TypeVar("T")


class AlertChange(BaseModel):
    status: str | None = Field(default=None, description="new status")
    assigned_to: str | None = Field(default=None, description="username; empty: un-assign")
    reason: str | None = Field(default=None, description="required to escalate, close or reopen")


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=queue.MAX_NOTE)


def _in_transaction(request: Request, work: Callable[[Connection], T]) -> T:
    security = get_security(request)
    with security.audit.audit_scope(request.app.state.store.engine) as conn:
        return work(conn)


def _filter(status: str | None, assigned_to: str | None, account: str | None,
            indicator: str | None, min_score: float | None, limit: int, offset: int
            ) -> queue.AlertFilter:
    return queue.AlertFilter(status=status or None, assigned_to=assigned_to or None,
                             account=account or None, indicator=indicator or None,
                             min_score=min_score, limit=limit, offset=offset)


Status = Annotated[str | None, Query(description="new, assigned, investigating...")]
Assignee = Annotated[str | None, Query(description="a username, or - for unassigned")]


@api_router.get("/alerts")
def list_api(request: Request, caller: CallerDep, status: Status = None,
             assigned_to: Assignee = None, account: str | None = None,
             indicator: str | None = None, min_score: float | None = None,
             limit: Annotated[int, Query(ge=1, le=500)] = 100,
             offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """Alerts of the caller's organisation, best score first."""
    flt = _filter(status, assigned_to, account, indicator, min_score, limit, offset)
    items, total = _in_transaction(
        request, lambda conn: queue.list_alerts(conn, caller.principal, flt))
    return {"total": total, "items": [i.as_dict(detail=False) for i in items]}


def _detail(request: Request, caller: Caller, alert_id: str) -> queue.AlertView:
    return _in_transaction(request, lambda conn: queue.get_alert(
        conn, caller.principal, alert_id, cipher=cipher_of(request),
        audit=get_security(request).audit, source=client_ip(request)))


@api_router.get("/alerts/{alert_id}")
def detail_api(alert_id: str, request: Request, caller: CallerDep) -> dict[str, Any]:
    """One alert: indicators that fired with their evidence rows, notes, allowed changes."""
    return _detail(request, caller, alert_id).as_dict()


def _change(request: Request, caller: Caller, alert_id: str, change: AlertChange
            ) -> queue.AlertView:
    return _in_transaction(request, lambda conn: queue.update_alert(
        conn, caller.principal, alert_id, status=change.status or None,
        assigned_to=change.assigned_to, reason=change.reason, cipher=cipher_of(request),
        audit=get_security(request).audit, source=client_ip(request)))


@api_router.patch("/alerts/{alert_id}")
def change_api(alert_id: str, body: AlertChange, request: Request, caller: CallerDep
               ) -> dict[str, Any]:
    """Assign and/or change the status (escalating, closing and reopening a closed alert
    (``closed -> investigating``) need a ``reason``)."""
    return _change(request, caller, alert_id, body).as_dict()


def _note(request: Request, caller: Caller, alert_id: str, body: str) -> queue.Note:
    return _in_transaction(request, lambda conn: queue.add_note(
        conn, caller.principal, alert_id, body, cipher=cipher_of(request),
        audit=get_security(request).audit, source=client_ip(request)))


@api_router.post("/alerts/{alert_id}/notes", status_code=201)
def note_api(alert_id: str, body: NoteIn, request: Request, caller: CallerDep
             ) -> dict[str, Any]:
    """Add a note (stored encrypted)."""
    note = _note(request, caller, alert_id, body.body)
    return {"id": note.id, "author": note.author, "body": note.body,
            "created_at": note.created_at}


@api_router.get("/alerts/{alert_id}/goaml")
def goaml_api(alert_id: str, request: Request, caller: CallerDep) -> Response:
    """The goAML STR draft (XML; not validated against an FIU's schema)."""
    body = _in_transaction(request, lambda conn: queue.export_goaml(
        conn, caller.principal, alert_id, cipher=cipher_of(request),
        audit=get_security(request).audit, source=client_ip(request)))
    return Response(body, media_type="application/xml", headers={
        "Content-Disposition": f'attachment; filename="str-{alert_id}.xml"'})


# -- pages -----------------------------------------------------------------------------------

@pages_router.get("/alerts")
def queue_page(request: Request, caller: CallerDep, status: Status = None,
               assigned_to: Assignee = None, account: str | None = None,
               indicator: str | None = None,
               min_score: Annotated[str | None, Query()] = None,
               offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    score = float(min_score) if min_score and min_score.replace(".", "", 1).isdigit() else None
    flt = _filter(status, assigned_to, account, indicator, score, 50, offset)
    items, total = _in_transaction(
        request, lambda conn: queue.list_alerts(conn, caller.principal, flt))
    return render(request, "money/alerts.html", {
        "title": "Money alerts", "nav": "money", "items": items, "total": total, "flt": flt,
        "statuses": STATUSES, "min_score": min_score or "",
    })


@pages_router.get("/alerts/{alert_id}")
def alert_page(alert_id: str, request: Request, caller: CallerDep) -> HTMLResponse:
    alert = _detail(request, caller, alert_id)
    users = _in_transaction(request, lambda conn: queue.assignable(conn, caller.principal))
    return render(request, "money/alert.html", {
        "title": f"Alert {alert.alert_ref}", "nav": "money", "alert": alert,
        "svg": network_svg(alert.as_alert()), "users": users,
        "can_export": allowed(caller.principal, "alert", "export") is not None,
    })


@pages_router.post("/alerts/{alert_id}", response_model=None)
async def change_page(alert_id: str, request: Request, caller: CallerDep) -> RedirectResponse:
    form = await request.form()
    assignee = form.get("assigned_to")
    change = AlertChange(status=str(form.get("status") or "") or None,
                         assigned_to=None if assignee is None else str(assignee),
                         reason=str(form.get("reason") or "") or None)
    _change(request, caller, alert_id, change)
    return RedirectResponse(f"/money/alerts/{alert_id}", status_code=303)


@pages_router.post("/alerts/{alert_id}/notes", response_model=None)
async def note_page(alert_id: str, request: Request, caller: CallerDep) -> RedirectResponse:
    form = await request.form()
    _note(request, caller, alert_id, str(form.get("body") or ""))
    return RedirectResponse(f"/money/alerts/{alert_id}", status_code=303)
