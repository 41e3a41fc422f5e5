"""The JSON API (``/api/v1``): cases, imports, vocabularies. OpenAPI at ``/api/v1/openapi.json``."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session

from maillon.auth import api as auth
from maillon.auth.context import Security
from maillon.collect import api as collect
from maillon.core.errors import FieldError, InvalidInput, NotFound
from maillon.core.settings import Settings
from maillon.store.api import Store
from maillon.vocab import api as vocab
from maillon.web.deps import db_session, get_settings, get_store, save_upload
from maillon.web.security import (
    READ_FIELDS,
    CallerDep,
    audit_read,
    case_condition,
    case_scope,
    cipher_of,
    client_ip,
    get_security,
    organisation_of,
    redact,
)

router = APIRouter(prefix="/api/v1")
"""Routes that need a signed-in caller (the app adds the dependency to all of them)."""
public_router = APIRouter(prefix="/api/v1")
"""Routes open to anyone: health only."""
SessionDep = Annotated[Session, Depends(db_session)]


def case_filter(
    organisation: str | None = None,
    status: str | None = None,
    exploitation: str | None = None,
    country: str | None = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    q: str | None = None,
) -> collect.CaseFilter:
    """Query parameters of the case list, shared by the API and the pages."""
    return collect.CaseFilter(organisation=organisation or None, status=status or None,
                              exploitation=exploitation or None, country=country or None,
                              year=year, q=q or None)


@public_router.get("/health", tags=["meta"])
def health(store: Annotated[Store, Depends(get_store)]) -> dict[str, str]:
    return {"status": "ok", "store": store.dialect}


@router.get("/cases", tags=["cases"])
def cases(
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    flt: Annotated[collect.CaseFilter, Depends(case_filter)],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Cases matching the filters within the caller's scope, newest first:
    ``{"total": N, "items": [...]}``."""
    case_scope(caller)
    flt = replace(flt, scope=case_condition(caller),
                  names=auth.field_visibility(caller.principal, "person") == "full",
                  name_keys=collect.search_keys(cipher_of(request), flt.q) if flt.q else None)
    items = collect.list_cases(session, flt, limit=limit, offset=offset)
    return {"total": collect.count_cases(session, flt), "limit": limit, "offset": offset,
            "items": [asdict(i) for i in items]}


@router.get("/cases/{case_id}", tags=["cases"])
def case(case_id: str, session: SessionDep, caller: CallerDep, request: Request,
         store: Annotated[Store, Depends(get_store)],
         security: Annotated[Security, Depends(get_security)]) -> dict[str, Any]:
    """One case, names as the caller's role allows; the read is audited."""
    case_scope(caller)
    detail = collect.get_case(session, case_id, scope=case_condition(caller),
                              cipher=cipher_of(request))
    visibility = auth.field_visibility(caller.principal, "person")
    audit_read(security, store, caller, resource="case", resource_id=case_id,
               fields=READ_FIELDS[visibility], source=client_ip(request))
    return asdict(redact(detail, visibility, security.keys.secret("pseudonym")))


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
    security: Annotated[Security, Depends(get_security)],
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
    path, original = save_upload(file, settings)
    with store.sessions() as session:
        org = organisation_of(session, caller)
    options = collect.ImportOptions(
        profile=profile, organisation=org.name, file_format=file_format or None,
        encoding=encoding, skip_bad_rows=skip_bad_rows, user=caller.principal.username,
        audit=security.audit, source=client_ip(request), owner_organisation_id=org.id,
        only_organisation=(org.name, org.code),
    )
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
