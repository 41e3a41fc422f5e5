"""HTTP: the JSON API under ``/api/v1/identify`` and the pages under ``/identify``.

Permissions (roles.yaml, existing resources): recording a screening or a hotline call needs
``person:create`` or ``referral:create``; screenings are read within the ``person:read`` scope
(``own`` for a case worker, the organisation for a supervisor).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from maillon.auth import api as auth
from maillon.core.errors import FieldError, InvalidInput, MaillonError, PermissionDenied
from maillon.identify.context import Actor, Tools, write_scope
from maillon.identify.frameworks import builtin_frameworks, get_framework
from maillon.identify.i18n import Translator, catalogues, pick_locale
from maillon.identify.models import HotlineCall, Screening
from maillon.identify.service import (
    CALLER_TYPES,
    CHANNELS,
    Answer,
    Subject,
    get_screening,
    list_hotline_calls,
    list_screenings,
    record_hotline_call,
    record_screening,
)
from maillon.web.deps import db_session
from maillon.web.security import Caller, CallerDep, client_ip, get_security

api_router = APIRouter(prefix="/api/v1/identify", tags=["identify"])
pages_router = APIRouter(prefix="/identify", include_in_schema=False)
SessionDep = Annotated[Session, Depends(db_session)]
DEFAULT_FRAMEWORK = "delphi_adult_labour"


# --- shared helpers (also used by maillon.refer.routes) -------------------------------------


def tools_of(request: Request) -> Tools:
    return Tools(request.app.state.cipher, get_security(request).audit)


def actor_of(request: Request, caller: Caller) -> Actor:
    p = caller.principal
    return Actor(p.username, p.organisation_id, client_ip(request))


def may_screen(caller: Caller) -> None:
    p = caller.principal
    if auth.allowed(p, "person", "create") is None and \
            auth.allowed(p, "referral", "create") is None:
        raise PermissionDenied("not allowed to record screenings")


def screening_scope(caller: Caller, model: Any = Screening) -> ColumnElement[bool]:
    auth.require(caller.principal, "person", "read")
    return auth.scope_filter(caller.principal, "person", "read",
                             owner_column=model.created_by,
                             organisation_column=model.organisation_id)


def engine_of(request: Request) -> Any:
    return request.app.state.store.engine


# --- JSON API ------------------------------------------------------------------------------


class SubjectIn(BaseModel):
    label: str = Field(min_length=1, max_length=200, description="Name or pseudonym")
    birth_date: date | None = None
    gender: str | None = Field(default=None, max_length=20)
    nationality: str | None = Field(default=None, max_length=2)
    language: str | None = Field(default=None, max_length=20)
    age_uncertain: bool = False


class AnswerIn(BaseModel):
    present: bool
    note: str = Field(default="", max_length=2000)


class ScreeningIn(BaseModel):
    framework_id: str = DEFAULT_FRAMEWORK
    subject: SubjectIn
    answers: dict[str, AnswerIn]
    child_act: bool = False
    locale: str = "en"
    place: str | None = Field(default=None, max_length=200)
    hotline_call_id: str | None = None


class HotlineIn(BaseModel):
    caller_type: str
    summary: str = Field(min_length=1, max_length=4000)
    channel: str = "phone"
    language: str | None = None
    country: str | None = None
    exploitation_type: str | None = None
    urgent: bool = False
    contact: str | None = Field(default=None, max_length=300)


@api_router.get("/frameworks")
def frameworks_api() -> list[dict[str, Any]]:
    """Indicator frameworks: id, version, source, rule, completeness."""
    return [{k: v for k, v in f.as_dict().items() if k != "dimensions"}
            for f in builtin_frameworks().values()]


@api_router.get("/frameworks/{framework_id}")
def framework_api(framework_id: str) -> dict[str, Any]:
    return get_framework(framework_id).as_dict()


@api_router.post("/screenings", status_code=201)
def create_screening_api(body: ScreeningIn, request: Request, caller: CallerDep
                         ) -> dict[str, Any]:
    """Record a screening; the answer is its explained recommendation (not a determination)."""
    may_screen(caller)
    tools, actor = tools_of(request), actor_of(request, caller)
    s = body.subject
    with write_scope(engine_of(request), tools, actor.organisation_id) as session:
        view = record_screening(
            session, tools, actor, framework_id=body.framework_id,
            subject=Subject(s.label, s.birth_date, s.gender, s.nationality, s.language,
                            s.age_uncertain),
            answers={c: Answer(a.present, a.note) for c, a in body.answers.items()},
            child_act=body.child_act, locale=pick_locale(body.locale), place=body.place,
            hotline_call_id=body.hotline_call_id)
    return view.as_dict()


@api_router.get("/screenings")
def list_screenings_api(session: SessionDep, caller: CallerDep,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100
                        ) -> list[dict[str, Any]]:
    return [i.__dict__ for i in list_screenings(session, scope=screening_scope(caller),
                                                limit=limit)]


@api_router.get("/screenings/{screening_id}")
def screening_api(screening_id: str, request: Request, caller: CallerDep) -> dict[str, Any]:
    """One screening in the caller's scope (decrypted; the read is audited)."""
    scope = screening_scope(caller)
    tools, actor = tools_of(request), actor_of(request, caller)
    with write_scope(engine_of(request), tools) as session:
        return get_screening(session, tools, actor, screening_id, scope=scope).as_dict()


@api_router.post("/hotline", status_code=201)
def hotline_api(body: HotlineIn, request: Request, caller: CallerDep) -> dict[str, str]:
    """A minimal record of a hotline call."""
    may_screen(caller)
    tools, actor = tools_of(request), actor_of(request, caller)
    with write_scope(engine_of(request), tools, actor.organisation_id) as session:
        cid = record_hotline_call(session, tools, actor, **body.model_dump())
    return {"id": cid}


# --- pages ---------------------------------------------------------------------------------


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200
            ) -> HTMLResponse:
    from maillon.web.pages import render

    return render(request, name, {"nav": "identify", **context}, status)


def _locale(request: Request, lang: str | None) -> Translator:
    return Translator(pick_locale(lang, request.headers.get("accept-language", "")))


def _form_context(request: Request, t: Translator, framework_id: str,
                  values: dict[str, Any] | None = None, errors: list[str] | None = None
                  ) -> dict[str, Any]:
    fw = get_framework(framework_id)
    other = next(loc for loc in catalogues() if loc != t.locale)
    return {
        "title": t("screen_title"), "t": t, "fw": fw, "values": values or {},
        "errors": errors or [], "other_locale": other,
        "frameworks": [f for f in builtin_frameworks().values() if f.complete],
        "dimensions": [
            {"code": d.code, "title": t.dimension(d.code, d.title),
             "indicators": [{"code": i.code, "label": t.indicator(i.code, i.label),
                             "grade": t(f"grade_{i.grade}")} for i in d.indicators]}
            for d in fw.dimensions
        ],
    }


@pages_router.get("")
def identify_home(request: Request, session: SessionDep, caller: CallerDep,
                  lang: str | None = None) -> HTMLResponse:
    """Screenings and hotline calls in the caller's scope."""
    t = _locale(request, lang)
    return _render(request, "identify/index.html", {
        "title": t("screenings"), "t": t,
        "screenings": list_screenings(session, scope=screening_scope(caller)),
        "calls": list_hotline_calls(session, scope=screening_scope(caller, HotlineCall)),
    })


@pages_router.get("/screen")
def screen_form(request: Request, caller: CallerDep, lang: str | None = None,
                framework: str = DEFAULT_FRAMEWORK, call: str | None = None) -> HTMLResponse:
    """The guided interview form (one section per dimension; works on a phone)."""
    may_screen(caller)
    t = _locale(request, lang)
    ctx = _form_context(request, t, framework, {"hotline_call_id": call or ""})
    return _render(request, "identify/screen.html", ctx)


@pages_router.post("/screen", response_model=None)
async def screen_submit(request: Request, caller: CallerDep
                        ) -> HTMLResponse | RedirectResponse:
    may_screen(caller)
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    t = Translator(pick_locale(values.get("lang")))
    framework_id = values.get("framework_id") or DEFAULT_FRAMEWORK
    fw = get_framework(framework_id)
    answers = {}
    for code in fw.indicator_codes:
        present = values.get(f"ind_{code}") == "on"
        note = values.get(f"note_{code}", "").strip()
        if present or note:
            answers[code] = Answer(present, note)
    birth = None
    try:
        if values.get("birth_date"):
            birth = date.fromisoformat(values["birth_date"])
    except ValueError:
        return _render(request, "identify/screen.html", _form_context(
            request, t, framework_id, values, ["birth_date: not a valid date"]), 422)
    tools, actor = tools_of(request), actor_of(request, caller)
    try:
        with write_scope(engine_of(request), tools, actor.organisation_id) as session:
            view = record_screening(
                session, tools, actor, framework_id=framework_id,
                subject=Subject(values.get("subject_label", ""), birth,
                                values.get("gender") or None,
                                values.get("nationality") or None,
                                values.get("language") or None,
                                values.get("age_uncertain") == "on"),
                answers=answers, child_act=values.get("child_act") == "on",
                locale=t.locale, place=values.get("place") or None,
                hotline_call_id=values.get("hotline_call_id") or None)
    except InvalidInput as exc:
        return _render(request, "identify/screen.html", _form_context(
            request, t, framework_id, values, [exc.message, *(str(d) for d in exc.details)]),
            422)
    return RedirectResponse(f"/identify/screenings/{view.id}?lang={t.locale}",
                            status_code=303)


def result_context(request: Request, session: Session, caller: Caller, screening_id: str,
                   t: Translator) -> dict[str, Any]:
    """What the result page shows: the explained recommendation, and the referral form data."""
    from maillon.refer import service as refer
    from maillon.refer.models import ServiceReferral

    tools, actor = tools_of(request), actor_of(request, caller)
    view = get_screening(session, tools, actor, screening_id, scope=screening_scope(caller))
    fw = get_framework(view.framework_id)
    dims = []
    for d in view.result.get("dimensions", []):
        labels = []
        for code in d["present"]:
            found = fw.indicator(code)
            labels.append({"label": t.indicator(code, found[1].label if found else code),
                           "grade": t(f"grade_{found[1].grade}") if found else "",
                           "note": view.answers.get(code, {}).get("note", "")})
        dims.append({**d, "title": t.dimension(d["code"], d["title"]), "indicators": labels})
    may_override = auth.allowed(caller.principal, "referral", "review") is not None
    return {
        "title": t("result_title"), "t": t, "s": view, "dims": dims,
        "recommendation_text": t(view.recommendation),
        "providers": refer.list_providers(session),
        "fields": refer.SHAREABLE_FIELDS, "default_fields": refer.DEFAULT_FIELDS,
        "may_override": may_override,
        "referrals": refer.outgoing_referrals(
            session, tools, scope=screening_scope(caller, ServiceReferral),
            screening_id=view.id),
    }


@pages_router.get("/screenings/{screening_id}")
def screening_page(screening_id: str, request: Request, caller: CallerDep,
                   lang: str | None = None, notice: str | None = None) -> HTMLResponse:
    """The explained recommendation, and the referral form."""
    t = _locale(request, lang)
    tools = tools_of(request)
    with write_scope(engine_of(request), tools) as session:
        ctx = result_context(request, session, caller, screening_id, t)
    ctx["notice"] = {"referred": "Referral sent.", "nrm": "Workflow case opened."}.get(
        notice or "")
    return _render(request, "identify/result.html", ctx)


@pages_router.get("/hotline")
def hotline_form(request: Request, caller: CallerDep, lang: str | None = None
                 ) -> HTMLResponse:
    may_screen(caller)
    t = _locale(request, lang)
    return _render(request, "identify/hotline.html", {
        "title": t("hotline_title"), "t": t, "caller_types": CALLER_TYPES,
        "channels": CHANNELS, "errors": [], "values": {}})


@pages_router.post("/hotline", response_model=None)
async def hotline_submit(request: Request, caller: CallerDep
                         ) -> HTMLResponse | RedirectResponse:
    may_screen(caller)
    values = {k: str(v) for k, v in (await request.form()).items()}
    t = Translator(pick_locale(values.get("lang")))
    tools, actor = tools_of(request), actor_of(request, caller)
    try:
        with write_scope(engine_of(request), tools, actor.organisation_id) as session:
            cid = record_hotline_call(
                session, tools, actor, caller_type=values.get("caller_type", ""),
                summary=values.get("summary", ""), channel=values.get("channel", "phone"),
                language=values.get("language") or None, country=values.get("country") or None,
                urgent=values.get("urgent") == "on", contact=values.get("contact") or None)
    except MaillonError as exc:
        details: list[FieldError] = exc.details
        return _render(request, "identify/hotline.html", {
            "title": t("hotline_title"), "t": t, "caller_types": CALLER_TYPES,
            "channels": CHANNELS, "values": values,
            "errors": [exc.message, *(str(d) for d in details)]}, 422)
    return RedirectResponse(f"/identify/screen?call={cid}&lang={t.locale}", status_code=303)
