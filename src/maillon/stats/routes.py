"""The statistics dashboard (``/stats``) and JSON API (``/api/v1/stats/...``).

Only aggregated, protected tables leave these routes: suppression (default), rounding or
differential privacy, over the records in the caller's ``stats`` scope. Reading needs the
``stats: read`` permission, downloads ``stats: export``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup

from maillon.core.errors import InvalidInput
from maillon.stats.definitions import TOTAL, UNKNOWN, code_label, dimensions
from maillon.store.api import Store
from maillon.web.deps import get_store
from maillon.web.security import CallerDep

# The statistics engine (pandas, DuckDB, SciPy, matplotlib) is imported by the handlers that
# use it, not here: the web app, and each server worker, starts without it.
if TYPE_CHECKING:
    from maillon.stats.compute import Filters, StatTable

api_router = APIRouter(prefix="/api/v1/stats", tags=["stats"])
pages_router = APIRouter(include_in_schema=False)
StoreDep = Annotated[Store, Depends(get_store)]


def stat_filters(
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$|^$")] = None,
    year: Annotated[str | None, Query(pattern="^[0-9]{4}$|^$")] = None,
    form: Annotated[str | None, Query(max_length=10)] = None,
) -> Filters:
    from maillon.stats import api

    if form and form not in (dimensions()["form"]["codes"]):
        raise InvalidInput(f"unknown form of exploitation {form!r}")
    return api.Filters(country=country.upper() if country else None,
                       year=int(year) if year else None, form=form or None)


def protection(
    method: Annotated[str, Query(pattern="^(suppression|rounding|dp)$")] = "suppression",
    threshold: Annotated[int | None, Query(
        ge=2, le=100, description="Smallest count shown (suppression); default: the "
        "statistics engine's threshold.")] = None,
    base: Annotated[int, Query(ge=2, le=100)] = 5,
    epsilon: Annotated[float, Query(gt=0, le=10)] = 1.0,
) -> dict[str, Any]:
    from maillon.stats import api

    return {"method": method,
            "threshold": api.DEFAULT_THRESHOLD if threshold is None else threshold,
            "base": base, "epsilon": epsilon}


FiltersDep = Annotated["Filters", Depends(stat_filters)]
ProtectionDep = Annotated[dict[str, Any], Depends(protection)]


def _compute(store: Store, caller: Any, name: str, flt: Filters,
             prot: dict[str, Any], action: str = "read") -> StatTable:
    from maillon.stats import api

    orgs = api.organisations_in_scope(caller.principal, action)
    return api.compute(store.engine, name, filters=flt, organisation_ids=orgs, **prot)


@api_router.get("/tables")
def list_tables(caller: CallerDep) -> list[dict[str, Any]]:
    """The standard tables (name, title, dimensions, counting unit, source)."""
    from maillon.stats import api

    api.organisations_in_scope(caller.principal)
    return [{"name": t.name, "title": t.title, "dimensions": list(t.dimensions),
             "unit": t.unit, "source": t.source} for t in api.standard_tables()]


@api_router.get("/tables/{name}")
def get_table(name: str, caller: CallerDep, store: StoreDep, flt: FiltersDep,
              prot: ProtectionDep) -> JSONResponse:
    """One protected table: ``{"metadata", "columns", "rows"}`` (suppressed value: null)."""
    table = _compute(store, caller, name, flt, prot)
    return JSONResponse({"metadata": table.metadata, "columns": table.columns,
                         "rows": [{c: r[c] for c in table.columns} for r in table.rows]})


@api_router.get("/tables/{name}/export")
def export_table(name: str, caller: CallerDep, store: StoreDep, flt: FiltersDep,
                 prot: ProtectionDep,
                 fmt: Annotated[str, Query(alias="format",
                                           pattern="^(csv|xlsx|sdmx-csv|json)$")] = "csv",
                 ) -> Response:
    """The protected table as a file (CSV, XLSX, SDMX-CSV or JSON), release registered."""
    from maillon.stats import api
    from maillon.stats.exports import EXTENSIONS, FORMATS

    table = _compute(store, caller, name, flt, prot, action="export")
    payload = api.export(store.engine, table, fmt, user=caller.principal.username)
    filename = f"{name}.{EXTENSIONS[fmt]}"
    return Response(payload, media_type=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _comparison(store: Store, table: StatTable, country: str | None) -> list[dict[str, Any]]:
    """Maillon's victims per year beside GLOTIP's detected victims for the same country."""
    if not country or table.name != "victims_sex_age_year":
        return []
    from maillon.stats.exports import shown
    from maillon.stats.glotip import figures

    glotip = {f["year"]: f for f in figures(store.engine,
                                             indicators=["Detected trafficking victims"],
                                             dimension="Total", country=country)
              if f["sex"] == "Total" and f["age"] == "Total"}
    ours = {r["year"]: r for r in table.rows
            if r["year"] != TOTAL and r["sex"] == TOTAL and r["age_group"] == TOTAL}
    years = sorted({str(y) for y in glotip} | set(ours))
    return [{"year": y, "maillon": shown(ours[y]) if y in ours else "",
             "glotip": (shown({"value": glotip[int(y)]["value"],
                               "flag": glotip[int(y)]["raw_value"]})
                        if y.isdigit() and int(y) in glotip else "")}
            for y in years]


@pages_router.get("/stats")
def dashboard(request: Request, caller: CallerDep, store: StoreDep, flt: FiltersDep,
              prot: ProtectionDep,
              table: Annotated[str, Query(max_length=60)] = "victims_sex_age_year",
              ) -> HTMLResponse:
    from maillon.stats import api, charts
    from maillon.stats.compute import labelled
    from maillon.stats.exports import FORMATS, shown
    from maillon.web.pages import render

    orgs = api.organisations_in_scope(caller.principal)
    if table not in {t.name for t in api.standard_tables("cases")}:
        raise InvalidInput(f"unknown table {table!r}")
    names = [t.name for t in api.standard_tables("cases")]
    shown_tables = api.compute_cached(store.engine, names, filters=flt, organisation_ids=orgs,
                                      **prot)
    selected = next(t for t in shown_tables if t.name == table)
    countries = sorted({str(r["country"]) for r in api.compute_cached(
        store.engine, ["victims_country"], filters=api.Filters(), organisation_ids=orgs,
        **prot)[0].rows if r["country"] not in (TOTAL, UNKNOWN)})
    years = sorted({str(r["year"]) for r in shown_tables[names.index("victims_country")].rows
                    if r["year"] not in (TOTAL, UNKNOWN)} | ({str(flt.year)} if flt.year
                                                             else set()))
    query = {"country": flt.country or "", "year": flt.year or "", "form": flt.form or "",
             "method": prot["method"], "table": table}
    from urllib.parse import urlencode

    base_q = {k: v for k, v in query.items() if v and k != "table"}
    return render(request, "stats/dashboard.html", {
        "title": "Statistics", "nav": "stats",
        "charts": [{"name": t.name, "title": t.metadata["title"],
                    "svg": Markup(charts.svg(t)),  # noqa: S704 - matplotlib escapes text
                    "protection": t.metadata["protection"]["description"]}
                   for t in shown_tables],
        "selected": selected, "rows": labelled(selected), "shown": shown,
        "dims": list(selected.definition.dimensions),
        "tables": [(t.name, t.metadata["title"]) for t in shown_tables],
        "values": query, "countries": [(c, code_label("country", c)) for c in countries],
        "years": years, "forms": list(dimensions()["form"]["codes"].items()),
        "formats": list(FORMATS), "export_query": urlencode(base_q),
        "unit_note": selected.metadata["unit_note"],
        "can_export": _may_export(caller),
        "comparison": _comparison(store, selected, flt.country),
    })


STYLE = """
.stat-chart svg { max-width: 100%; height: auto; }
#stat-table tr.margin td { font-weight: 600; }
"""


@pages_router.get("/stats/stats.css")
def stylesheet() -> Response:
    return Response(STYLE, media_type="text/css")


def _may_export(caller: Any) -> bool:
    from maillon.auth.permissions import allowed

    return allowed(caller.principal, "stats", "export") is not None
