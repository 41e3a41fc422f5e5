"""The JSON API (``/api/v1``): cases, imports, vocabularies. OpenAPI at ``/api/v1/openapi.json``."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from maillon.auth import api as auth
from maillon.collect import api as collect
from maillon.core.errors import FieldError, InvalidInput, NotFound
from maillon.core.settings import Settings
from maillon.store.api import Store
from maillon.vocab import api as vocab
from maillon.web.deps import db_session, get_settings, get_store, read_session, save_upload
from maillon.web.security import (
    Caller,
    CallerDep,
    get_security,
    import_options,
    read_case,
    scoped_filter,
)

router = APIRouter(prefix="/api/v1")
"""Routes that need a signed-in caller (the app adds the dependency to all of them)."""
public_router = APIRouter(prefix="/api/v1")
"""Routes open to anyone: health only."""
SessionDep = Annotated[Session, Depends(db_session)]
ReadSessionDep = Annotated[Session, Depends(read_session)]


def case_filter(
    organisation: str | None = None,
    status: str | None = None,
    exploitation: str | None = None,
    country: str | None = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    q: str | None = None,
) -> collect.CaseFilter:
    """Filters of the case list, shared by the API and the pages."""
    return collect.CaseFilter(organisation=organisation or None, status=status or None,
                              exploitation=exploitation or None, country=country or None,
                              year=year, q=q or None)


def url_case_filter(
    request: Request,
    organisation: str | None = None,
    status: str | None = None,
    exploitation: str | None = None,
    country: str | None = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
) -> collect.CaseFilter:
    """The case list's filters from the URL: never a name (URLs end up in access logs)."""
    if "q" in request.query_params:
        raise InvalidInput(
            "search text never travels in the URL: POST it to /api/v1/cases/search",
            [FieldError("not accepted in the query string", "q")],
        )
    return case_filter(organisation, status, exploitation, country, year)


class CaseSearch(BaseModel):
    """A case search; ``q`` is a case id or a person's whole given or family name."""

    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=200)
    organisation: str | None = None
    status: str | None = None
    exploitation: str | None = None
    country: str | None = None
    year: int | None = Field(default=None, ge=1900, le=2100)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


def _json_value(value: object) -> Any:
    """What :func:`json.dumps` cannot write itself: dataclasses become dicts (their fields in
    order, nested values left to the encoder, which calls back here for nested dataclasses),
    dates and times ISO 8601 strings, as FastAPI's encoder writes them."""
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES.get(type(value))
        if names is None:
            names = _FIELD_NAMES[type(value)] = tuple(f.name for f in dataclasses.fields(value))
        return {name: getattr(value, name) for name in names}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
"""Field names per dataclass, in order (:func:`dataclasses.fields` walks them on every call)."""


def json_body(value: Any) -> Response:
    """A JSON response written straight from dataclasses, dicts and lists: the case routes
    answer most of the load, and FastAPI's generic encoder costs more than the rest of the
    rendering. Dates and times are ISO 8601 strings, as with the generic encoder. Lists,
    dicts and plain values are walked by the encoder's C code; only dataclasses and dates come
    back to Python."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_value)
    return Response(text.encode("utf-8"), media_type="application/json")


@public_router.get("/health", tags=["meta"])
def health(store: Annotated[Store, Depends(get_store)]) -> dict[str, str]:
    return {"status": "ok", "store": store.dialect}


@router.get("/cases", tags=["cases"], response_model=dict[str, Any])
def cases(
    request: Request,
    session: ReadSessionDep,
    caller: CallerDep,
    flt: Annotated[collect.CaseFilter, Depends(url_case_filter)],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Cases matching the filters within the caller's scope, newest first:
    ``{"total": N, "items": [...]}``. Searching by name: ``POST /api/v1/cases/search``."""
    return _case_page(request, session, caller, flt, limit, offset)


@router.post("/cases/search", tags=["cases"], response_model=dict[str, Any])
def search_cases(request: Request, session: ReadSessionDep, caller: CallerDep, search: CaseSearch
                 ) -> Response:
    """Like ``GET /cases``, with the search text in the body so it never reaches a URL."""
    flt = case_filter(search.organisation, search.status, search.exploitation, search.country,
                      search.year, search.q)
    return _case_page(request, session, caller, flt, search.limit, search.offset)


def _case_page(request: Request, session: Session, caller: Caller, flt: collect.CaseFilter,
               limit: int, offset: int) -> Response:
    flt = scoped_filter(request, caller, flt)
    items = collect.list_cases(session, flt, limit=limit, offset=offset)
    return json_body({"total": collect.count_cases(session, flt), "limit": limit,
                      "offset": offset, "items": items})


@router.get("/cases/{case_id}", tags=["cases"], response_model=dict[str, Any])
def case(case_id: str, session: ReadSessionDep, caller: CallerDep, request: Request
         ) -> Response:
    """One case, names as the caller's role allows; the read is audited."""
    return json_body(read_case(request, session, caller, case_id))


@router.get("/imports", tags=["imports"])
def imports(session: SessionDep, caller: CallerDep,
            limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    auth.require(caller.principal, "import", "read")
    return [asdict(b) for b in collect.list_batches(
        session, limit=limit, organisation_id=caller.principal.organisation_id)]


@router.get("/imports/{batch_id}", tags=["imports"])
def import_batch(batch_id: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    auth.require(caller.principal, "import", "read")
    return asdict(collect.get_batch(session, batch_id,
                                    organisation_id=caller.principal.organisation_id))


@router.post("/imports", tags=["imports"], status_code=201)
def upload(
    store: Annotated[Store, Depends(get_store)],
    settings: Annotated[Settings, Depends(get_settings)],
    caller: CallerDep,
    request: Request,
    file: Annotated[UploadFile, File(description="CSV, XLSX, JSON or JSON-lines file")],
    profile: Annotated[str, Form()] = "htcds",
    file_format: Annotated[str | None, Form()] = None,
    encoding: Annotated[str, Form()] = "utf-8",
    skip_bad_rows: Annotated[bool, Form()] = False,
) -> JSONResponse:
    """Import one file as the caller's organisation. 201 with the report when committed
    (fully or partly), 422 when rejected; the report lists every bad row with its column and
    reason either way. Rows naming another organisation are rejected."""
    auth.require(caller.principal, "import", "create")
    if profile not in collect.builtin_profiles():
        raise InvalidInput(
            f"unknown mapping profile {profile!r}; built-in profiles: "
            + ", ".join(collect.builtin_profiles()),
            [FieldError(field="profile", value=profile, reason="unknown profile")],
        )
    options = import_options(request, caller, profile=profile, skip_bad_rows=skip_bad_rows,
                             file_format=file_format or None, encoding=encoding)
    path, original = save_upload(file, settings)
    try:
        report = collect.import_file(store.engine, path, options, display_name=original)
    finally:
        path.unlink(missing_ok=True)  # names in clear: the upload never outlives its import
    status = 201 if report.status in ("committed", "partial") else 422
    return JSONResponse(report.as_dict(), status_code=status)


@router.get("/imports/{batch_id}/quarantine.csv", tags=["imports"])
def quarantine_csv(batch_id: str, store: Annotated[Store, Depends(get_store)],
                   session: SessionDep, caller: CallerDep, request: Request
                   ) -> StreamingResponse:
    """The batch's rejected rows with ``_row`` and ``_errors`` columns, to fix and re-submit."""
    auth.require(caller.principal, "import", "read")
    collect.get_batch(session, batch_id, organisation_id=caller.principal.organisation_id)
    columns, rows = collect.quarantine_rows(store.engine, batch_id,
                                            keys=get_security(request).keys)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return StreamingResponse(
        iter([buffer.getvalue()]), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="quarantine-{batch_id}.csv"'},
    )


@router.get("/vocabularies", tags=["vocabularies"])
def vocabularies() -> list[dict[str, Any]]:
    return [
        {"name": v.name, "title": v.title, "source": v.source, "version": v.version,
         "codes": len(v.codes)}
        for v in (vocab.get(n) for n in vocab.names())
    ]


@router.get("/vocabularies/{name}", tags=["vocabularies"])
def vocabulary(name: str) -> dict[str, Any]:
    if name not in vocab.names():
        raise NotFound(f"no vocabulary {name!r}")
    v = vocab.get(name)
    return {"name": v.name, "title": v.title, "source": v.source, "version": v.version,
            "multi": v.multi,
            "codes": [{"code": c.code, "label": c.label, "parent": c.parent} for c in v.codes]}
