"""HTTP: the review queue as JSON (``/api/v1/link/review``) and as a page (``/link/review``).

Permissions: ``link_review:read`` to list, ``link_review:review`` to decide (roles.yaml).
Every listing that shows names is audited (field names only), every decision too.
Nothing here imports Splink at module level (``maillon.link.service`` does, through the
engine): the web app starts without it and loads it on the first decision.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from maillon.auth import api as auth
from maillon.core.errors import NotFound, PermissionDenied
from maillon.link.defaults import REVIEW_BAND
from maillon.link.review import SHOWN_FIELDS, ReviewItem, list_review, may_decide
from maillon.web.pages import render
from maillon.web.security import Caller, CallerDep, cipher_of, client_ip, get_security

api_router = APIRouter(prefix="/api/v1/link", tags=["link"])
pages_router = APIRouter(prefix="/link", include_in_schema=False)


class DecisionIn(BaseModel):
    decision: Literal["accept", "reject"]


def _items(request: Request, caller: Caller, limit: int) -> tuple[list[ReviewItem], str]:
    security = get_security(request)
    store = request.app.state.store
    with security.audit.audit_scope(store.engine) as conn:
        items, visibility = list_review(conn, caller.principal, cipher=cipher_of(request),
                                        pseudonym_key=security.keys.secret("pseudonym"),
                                        limit=limit)
        if items:
            security.audit.append(
                conn, actor=caller.principal.username, action="read", resource="link_review",
                resource_id=None, fields=SHOWN_FIELDS[visibility], source=client_ip(request),
                detail={"items": len(items)},
                actor_organisation_id=caller.principal.organisation_id)
    return items, visibility


def _decide(request: Request, caller: Caller, review_id: str, accept: bool) -> None:
    from maillon.link.service import decide

    security = get_security(request)
    store = request.app.state.store
    with security.audit.audit_scope(store.engine) as conn:
        if not may_decide(conn, caller.principal, review_id):
            raise PermissionDenied("not allowed to review this pair")
        decide(conn, review_id=review_id, accept=accept, actor=caller.principal.username,
               audit=security.audit, source=client_ip(request),
               actor_organisation_id=caller.principal.organisation_id)


@api_router.get("/review")
def review_api(request: Request, caller: CallerDep,
               limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Uncertain pairs (probability in the review band) with their waterfall of weights."""
    items, visibility = _items(request, caller, limit)
    return {"band": list(REVIEW_BAND), "visibility": visibility,
            "items": [i.as_dict() for i in items]}


@api_router.post("/review/{review_id}")
def decide_api(review_id: str, body: DecisionIn, request: Request, caller: CallerDep
               ) -> dict[str, str]:
    """Accept (same person) or reject a pair; the next ``maillon link run`` uses it."""
    auth.require(caller.principal, "link_review", "review")
    _decide(request, caller, review_id, body.decision == "accept")
    return {"id": review_id, "status": "accepted" if body.decision == "accept" else "rejected"}


@pages_router.get("/review")
def review_page(request: Request, caller: CallerDep) -> HTMLResponse:
    items, visibility = _items(request, caller, 50)
    return render(request, "link/review.html", {
        "title": "Link review", "nav": "link", "items": items, "visibility": visibility,
        "band": REVIEW_BAND, "can_decide": True,
    })


@pages_router.post("/review/{review_id}", response_model=None)
async def decide_page(review_id: str, request: Request, caller: CallerDep
                      ) -> RedirectResponse:
    auth.require(caller.principal, "link_review", "review")
    form = await request.form()
    decision = str(form.get("decision", ""))
    if decision not in ("accept", "reject"):
        raise NotFound("unknown decision")
    _decide(request, caller, review_id, decision == "accept")
    return RedirectResponse("/link/review", status_code=303)
