"""The HTML pages: case list and detail, file imports and their reports, error pages.

Server-rendered Jinja2 templates (autoescaped: data is never rendered as raw HTML) that work
without JavaScript. When ``static/vendor/htmx.min.js`` is installed, the pages load it and the
case filter form refreshes only the table: a request carrying ``HX-Request`` gets the table
fragment instead of the whole page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from maillon import __version__
from maillon.auth import api as auth
from maillon.collect import api as collect
from maillon.core.errors import FieldError, InvalidInput, NotFound
from maillon.core.settings import Settings
from maillon.store import models as m
from maillon.store.api import Store
from maillon.vocab import api as vocab
from maillon.web.api_routes import case_filter
from maillon.web.deps import db_session, get_settings, get_store, save_upload
from maillon.web.security import (
    Caller,
    CallerDep,
    case_condition,
    get_security,
    import_options,
    organisation_of,
    read_case,
    scoped_filter,
)

PAGE_SIZE = 50
"""Cases per page of the case list."""

MAX_ERROR_LINES = 500
"""Error lines shown on an import report; the quarantine CSV has them all."""

_WEB = Path(str(resources.files("maillon.web")))
HTMX_AVAILABLE = (_WEB / "static" / "vendor" / "htmx.min.js").is_file()
"""Whether the pinned htmx build was installed beside our static files (checked once)."""

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(db_session)]


def _when(value: date | datetime | str | None) -> str:
    """A date as ``YYYY-MM-DD``, a timestamp as ``YYYY-MM-DD HH:MM`` (UTC)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def country_label(code: str | None) -> str:
    """``France (FR)`` for a known alpha-2 code, the code itself otherwise."""
    if not code:
        return ""
    name = vocab.country_name(code)
    return f"{name} ({code})" if name else code


def label(vocabulary: str, code: str | None) -> str:
    """The label of ``code`` in ``vocabulary``; the code itself when either is unknown."""
    if code is None or code == "":
        return ""
    if vocabulary in ("citizenship", "country"):
        return country_label(code)
    try:
        return vocab.get(vocabulary).label(code)
    except KeyError:
        return code


def vocabulary_title(name: str) -> str:
    if name == "citizenship":
        return "Citizenship"
    try:
        return vocab.get(name).title
    except KeyError:
        return name.replace("_", " ").capitalize()


def _template_dirs() -> list[str]:
    """The web app's own templates, then each capability's ``<package>/templates`` folder.

    A capability keeps its pages under a folder named after it (``link/review.html``) so names
    never collide.
    """
    dirs = [str(_WEB / "templates")]
    dirs += sorted(str(p) for p in _WEB.parent.glob("*/templates") if p.parent != _WEB)
    return dirs


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_template_dirs()),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(version=__version__, htmx=HTMX_AVAILABLE, label=label,
                       country=country_label)
    env.filters["when"] = _when
    return env


templates = Jinja2Templates(env=_environment())


def render(request: Request, name: str, context: dict[str, Any], status: int = 200
           ) -> HTMLResponse:
    caller = getattr(request.state, "caller", None)
    context = {"caller": caller, **context}
    return templates.TemplateResponse(request, name, context, status_code=status)


def error_page(request: Request, status: int, message: str, details: list[FieldError]
               ) -> HTMLResponse:
    """The HTML error page (404, 422, 500...) with the message and each detail on a line."""
    titles = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict",
              422: "Something is not valid", 500: "Something went wrong"}
    return render(request, "error.html", {
        "title": titles.get(status, f"Error {status}"), "status": status, "message": message,
        "details": [str(d) for d in details],
    }, status)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/cases", status_code=303)


# --- cases -------------------------------------------------------------------------------


@dataclass
class CaseQuery:
    """The case list's query as typed by the user, and the filter built from it."""

    values: dict[str, str]
    flt: collect.CaseFilter
    errors: list[FieldError]


def page_case_filter(
    q: str = "", organisation: str = "", status: str = "", exploitation: str = "",
    country: str = "", year: str = "",
) -> CaseQuery:
    """The list's filters from a plain HTML form, which sends empty fields as ``year=``.

    The API's :func:`case_filter` builds the filter; a bad year or country becomes a message
    beside the form instead of a 422 page.
    """
    values = {"q": q.strip(), "organisation": organisation, "status": status,
              "exploitation": exploitation, "country": country.strip().upper(),
              "year": year.strip()}
    errors: list[FieldError] = []
    parsed_year: int | None = None
    if values["year"]:
        if values["year"].isdigit() and 1900 <= int(values["year"]) <= 2100:
            parsed_year = int(values["year"])
        else:
            errors.append(FieldError("enter a year between 1900 and 2100", "year",
                                     value=values["year"]))
    if values["country"] and vocab.country_name(values["country"]) is None:
        errors.append(FieldError("enter a two-letter ISO country code, e.g. FR", "country",
                                 value=values["country"]))
    flt = case_filter(
        organisation=values["organisation"], status=values["status"],
        exploitation=values["exploitation"],
        country=None if any(e.field == "country" for e in errors) else values["country"],
        year=parsed_year, q=values["q"],
    )
    return CaseQuery(values=values, flt=flt, errors=errors)


def _query_string(values: dict[str, str], page: int) -> str:
    params = {k: v for k, v in values.items() if v and k != "q"}
    if page > 1:
        params["page"] = str(page)
    return "?" + urlencode(params) if params else ""


def _case_row(c: collect.CaseSummary) -> dict[str, Any]:
    return {
        "id": c.id, "shown_id": c.source_record_id or c.id, "organisation": c.organisation,
        "status": label("case_status", c.status), "registered": _when(c.registration_date),
        "victims": c.victims, "perpetrators": c.perpetrators,
        "exploitation": ", ".join(label("exploitation_type", e) for e in c.exploitation),
        "countries": ", ".join(vocab.country_name(x) or x for x in c.countries),
    }


@router.get("/cases")
def cases_page(
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    organisation: str = "", status: str = "", exploitation: str = "", country: str = "",
    year: str = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """The filterable case list, limited to the caller's scope; only the table for htmx.

    Filters travel in the URL (shareable); the search box does not: it is POSTed (names must
    never reach a URL, browser history or an access log), see :func:`cases_search_page`.
    """
    query = page_case_filter("", organisation, status, exploitation, country, year)
    return _cases_response(request, session, caller, query, page)


@router.post("/cases")
def cases_search_page(
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    q: Annotated[str, Form(max_length=200)] = "",
    organisation: Annotated[str, Form()] = "", status: Annotated[str, Form()] = "",
    exploitation: Annotated[str, Form()] = "", country: Annotated[str, Form()] = "",
    year: Annotated[str, Form()] = "",
    page: Annotated[int, Form(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """The case list searched by case id or name; the pager re-posts the search."""
    query = page_case_filter(q, organisation, status, exploitation, country, year)
    return _cases_response(request, session, caller, query, page)


def _cases_response(request: Request, session: Session, caller: Caller, query: CaseQuery,
                    page: int) -> HTMLResponse:
    query.flt = scoped_filter(request, caller, query.flt)
    total = collect.count_cases(session, query.flt)
    items = collect.list_cases(session, query.flt, limit=PAGE_SIZE,
                               offset=(page - 1) * PAGE_SIZE)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    searched = bool(query.values["q"])
    context: dict[str, Any] = {
        "title": "Cases", "nav": "cases", "values": query.values, "errors": query.errors,
        "total": total, "page": page, "pages": pages, "page_size": PAGE_SIZE,
        "first": (page - 1) * PAGE_SIZE + 1 if items else 0,
        "last": (page - 1) * PAGE_SIZE + len(items),
        "rows": [_case_row(c) for c in items],
        "searched": searched,
        "prev_url": "/cases" + _query_string(query.values, page - 1) if page > 1 else None,
        "next_url": "/cases" + _query_string(query.values, page + 1) if page < pages else None,
    }
    fragment = (request.headers.get("hx-request") == "true"
                and request.headers.get("hx-history-restore-request") != "true")
    if fragment:
        response = render(request, "_case_table.html", context)
    else:
        context.update(
            organisations=session.execute(
                select(m.Organisation.code, m.Organisation.name)
                .where(m.Organisation.id.in_(select(m.Case.organisation_id).where(
                    case_condition(caller)).distinct()))
                .order_by(m.Organisation.name)
            ).all(),
            statuses=[(c.code, c.label) for c in vocab.get("case_status").codes],
            exploitations=[(c.code, c.label) for c in vocab.get("exploitation_type").codes
                           if not c.deprecated],
        )
        response = render(request, "cases.html", context)
    response.headers["Vary"] = "HX-Request"
    response.headers["Cache-Control"] = "no-store"
    return response


_VICTIM_FIELDS = (
    ("trafficking_status", "Trafficking status", "trafficking_status"),
    ("status_decided_by", "Status decided by", "trafficking_status_decision_org"),
    ("relationship_to_trafficker", "Relationship to trafficker", "relationship_to_trafficker"),
    ("age_when_trafficked", "Age when trafficked", None),
)
_PERPETRATOR_FIELDS = (
    ("entity_type", "Individual or business", "perpetrator_entity_type"),
    ("age_at_offence", "Age at offence", None),
    ("role_details", "Role details", None),
)


def _facts(values: dict[str, Any] | None,
           spec: tuple[tuple[str, str, str | None], ...]) -> list[tuple[str, str]]:
    if not values:
        return []
    out = []
    for key, title, vocabulary in spec:
        value = values.get(key)
        if value is None or value == "":
            continue
        out.append((title, label(vocabulary, str(value)) if vocabulary else str(value)))
    return out


def _person(p: collect.PersonView) -> dict[str, Any]:
    name = " ".join(n for n in (p.given_name, p.middle_name, p.family_name) if n)
    return {
        "id": p.id, "name": name or "(no name recorded)", "role": label("person_role", p.role),
        "source_record_id": p.source_record_id, "birth_date": p.birth_date or "",
        "age_band": label("ctdc_age_band", p.age_band), "gender": label("gender", p.gender),
        "citizenship": ", ".join(country_label(c) for c in p.codes.get("citizenship", [])),
        "codes": [
            (vocabulary_title(v), [label(v, c) for c in codes])
            for v, codes in sorted(p.codes.items()) if v != "citizenship" and codes
        ],
        "victim": _facts(p.victim, _VICTIM_FIELDS),
        "perpetrator": _facts(p.perpetrator, _PERPETRATOR_FIELDS),
    }


def _add_linked(session: Session, caller: Caller, persons: list[dict[str, Any]]) -> None:
    """Each person's other records in its linkage cluster (``maillon link run``).

    Another organisation's record shows only that organisation's name: its record id and case
    link appear only when the caller may read that case (need to know).
    """
    from maillon.link.api import linked_persons

    linked = linked_persons(session.connection(), [p["id"] for p in persons])
    case_ids = {lp.case_id for found in linked.values() for lp in found if lp.case_id}
    visible = set(session.scalars(select(m.Case.id).where(
        m.Case.id.in_(case_ids), case_condition(caller)))) if case_ids else set()
    for p in persons:
        p["linked"] = [
            {"organisation": lp.organisation,
             "record": lp.source_record_id if lp.case_id in visible else None,
             "case_id": lp.case_id if lp.case_id in visible else None,
             "probability": (f"{lp.match_probability:.2f}"
                             if lp.match_probability is not None else "")}
            for lp in linked.get(p["id"], [])
        ]


def _event(e: dict[str, Any]) -> dict[str, Any]:
    start, end = e.get("date_from"), e.get("date_to")
    when = _when(start) if start == end or end is None else f"{_when(start)} to {_when(end)}"
    if start is None and end is not None:
        when = f"until {_when(end)}"
    where = ", ".join(str(x) for x in (e.get("place"), e.get("city"), e.get("admin_area")) if x)
    return {"type": label("event_type", e["event_type"]), "country": country_label(e["country"]),
            "where": where, "when": when}


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str, session: SessionDep, caller: CallerDep
              ) -> HTMLResponse:
    """One case with its persons, events, referrals, support plans, consents and provenance.

    Names are shown as the caller's role allows (full, pseudonymised or hidden), and the read
    is written to the audit log.
    """
    try:
        detail = read_case(request, session, caller, case_id)
    except NotFound as exc:
        return error_page(request, 404, exc.message, exc.details)
    persons = [_person(p) for p in detail.persons]
    _add_linked(session, caller, persons)
    names = {p["id"]: p["name"] for p in persons}
    s = detail.summary
    return render(request, "case_detail.html", {
        "title": f"Case {s.source_record_id or s.id}", "nav": "cases",
        "case": s, "shown_id": s.source_record_id or s.id,
        "summary": [
            ("Organisation", s.organisation),
            ("Status", label("case_status", s.status)),
            ("Registered", _when(s.registration_date)),
            ("Case owner", detail.case_owner or ""),
            ("Reason for closure", detail.closure_reason or ""),
            ("Victims", str(s.victims)),
            ("Perpetrators", str(s.perpetrators)),
            ("Exploitation", ", ".join(label("exploitation_type", e) for e in s.exploitation)),
            ("Exploitation countries", ", ".join(country_label(c) for c in s.countries)),
        ],
        "persons": persons,
        "events": [_event(e) for e in detail.events],
        "referrals": [
            {"direction": str(r["direction"]).capitalize(),
             "organisation": r["other_organisation"] or "", "date": _when(r["referral_date"]),
             "reason": label("referral_reason", r["reason"]), "details": r["details"] or ""}
            for r in detail.referrals
        ],
        "plans": [
            {"person": names.get(sp["person_id"], ""),
             "type": label("support_plan_type", sp["plan_type"]),
             "planned_end": _when(sp["planned_end_date"]),
             "actual_end": _when(sp["actual_end_date"])}
            for sp in detail.support_plans
        ],
        "consents": [
            {"person": names.get(c["person_id"], ""), "scope": label("consent_scope", c["scope"]),
             "given": "Given" if c["given"] else "Refused or withdrawn",
             "date": _when(c["decided_on"])}
            for c in detail.consents
        ],
        "provenance": detail.provenance,
    })


# --- imports -----------------------------------------------------------------------------


def _imports_page(request: Request, session: Session, caller: Caller, *, status: int = 200,
                  error: str | None = None, details: list[FieldError] | None = None,
                  form: dict[str, Any] | None = None) -> HTMLResponse:
    return render(request, "imports.html", {
        "title": "Imports", "nav": "imports",
        "profiles": collect.builtin_profiles(),
        "formats": ".csv,.xlsx,.json,.jsonl",
        "organisation_name": organisation_of(session, caller).name,
        "batches": collect.list_batches(session, limit=100,
                                        organisation_id=caller.principal.organisation_id),
        "error": error, "details": [str(d) for d in details or []],
        "form": form or {"profile": "htcds", "skip_bad_rows": False},
    }, status)


@router.get("/imports")
def imports_page(request: Request, session: SessionDep, caller: CallerDep) -> HTMLResponse:
    """The upload form and the list of the organisation's past imports."""
    auth.require(caller.principal, "import", "read")
    return _imports_page(request, session, caller)


@router.post("/imports", response_model=None)
def upload_page(
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    settings: Annotated[Settings, Depends(get_settings)],
    caller: CallerDep,
    file: Annotated[UploadFile, File()],
    profile: Annotated[str, Form()] = "htcds",
    skip_bad_rows: Annotated[bool, Form()] = False,
) -> HTMLResponse | RedirectResponse:
    """Import the uploaded file as the caller's organisation, then show its report (303).

    Rows naming another organisation are rejected: an account imports its own organisation's
    records only.
    """
    auth.require(caller.principal, "import", "create")
    form = {"profile": profile, "skip_bad_rows": skip_bad_rows}
    try:
        if profile not in collect.builtin_profiles():
            # load_profile also reads YAML paths: never let a web form name a server file.
            raise InvalidInput(f"unknown profile {profile!r}",
                               [FieldError(field="profile", reason="unknown profile",
                                           value=profile)])
        if not file.filename:
            raise InvalidInput("choose a file to import",
                               [FieldError(field="file", reason="no file chosen")])
        path, original = save_upload(file, settings)
    except InvalidInput as exc:
        with store.sessions() as session:
            return _imports_page(request, session, caller, status=422, error=exc.message,
                                 details=exc.details, form=form)
    options = import_options(request, caller, profile=profile, skip_bad_rows=skip_bad_rows)
    try:
        report = collect.import_file(store.engine, path, options, display_name=original)
    finally:
        path.unlink(missing_ok=True)  # names in clear: the upload never outlives its import
    return RedirectResponse(f"/imports/{report.batch_id}", status_code=303)


_EXPLANATIONS = {
    "committed": "Every row was imported.",
    "partial": "The good rows were imported. The rows listed below have errors and were set "
               "aside; they were not imported.",
    "rejected": "Nothing was imported. Fix the errors listed below and upload the file again, "
                "or upload it again with \u201cskip bad rows and import the rest\u201d ticked.",
    "running": "This import has not finished yet. Reload the page in a moment.",
}


def _error_lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per error of each quarantined row: row, column, value and reason."""
    lines = []
    for row in rows:
        for part in str(row.get("_errors", "")).split("; "):
            if not part:
                continue
            column, sep, reason = part.partition(": ")
            if not sep:
                column, reason = "", part
            shown_column = "" if column == "row" else column
            value = row.get(shown_column, "") if shown_column else ""
            lines.append({"row": row.get("_row"), "column": shown_column,
                          "value": "" if value is None else str(value), "reason": reason})
    return lines


@router.get("/imports/{batch_id}")
def import_report_page(request: Request, batch_id: str, session: SessionDep,
                       store: Annotated[Store, Depends(get_store)],
                       caller: CallerDep) -> HTMLResponse:
    """What one import did, with every error on its own line (the first 500)."""
    auth.require(caller.principal, "import", "read")
    try:
        batch = collect.get_batch(session, batch_id,
                                  organisation_id=caller.principal.organisation_id)
        _, rows = collect.quarantine_rows(store.engine, batch_id,
                                          keys=get_security(request).keys)
    except NotFound as exc:
        return error_page(request, 404, exc.message, exc.details)
    lines = _error_lines(rows)
    return render(request, "import_report.html", {
        "title": f"Import of {batch.filename}", "nav": "imports", "batch": batch,
        "explanation": _EXPLANATIONS.get(batch.status, ""),
        "lines": lines[:MAX_ERROR_LINES], "total_lines": len(lines),
        "max_lines": MAX_ERROR_LINES,
        "quarantine_url": f"/api/v1/imports/{batch.id}/quarantine.csv",
    })
