"""Public names of the statistics capability (see docs/stats.md)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from sqlalchemy import Engine, insert, inspect, text

from maillon.auth.permissions import Principal, require
from maillon.core.errors import InvalidInput
from maillon.core.ids import new_id
from maillon.core.settings import Settings
from maillon.core.timeutil import utcnow
from maillon.stats import kanon
from maillon.stats.compute import (
    METHODS,
    Filters,
    StatTable,
    compute_glotip_table,
    compute_table,
)
from maillon.stats.definitions import TableDef, get_table, tables
from maillon.stats.exports import EXTENSIONS, FORMATS, render
from maillon.stats.glotip import GlotipReport, has_figures, import_glotip
from maillon.stats.models import Release
from maillon.stats.report import Report, publish
from maillon.stats.sdc import DEFAULT_THRESHOLD
from maillon.stats.source import CaseData, load_case_data
from maillon.store.api import Store
from maillon.store.base import table_of

__all__ = [
    "EXTENSIONS", "FORMATS", "METHODS", "CaseData", "DEFAULT_THRESHOLD", "Filters",
    "GlotipReport", "Report", "StatTable", "TableDef", "compute", "extract_records",
    "export", "get_table", "import_glotip", "load_case_data", "organisations_in_scope",
    "publish_report", "standard_tables", "demo_statistics", "compute_cached", "EXTRACT_QIS",
]

EXTRACT_QIS = ("year", "sex", "age_group", "form", "citizenship_group", "region")
"""Quasi-identifiers of a record-level extract (the extract holds nothing else)."""


def standard_tables(source: str | None = None) -> list[TableDef]:
    return [t for t in tables().values() if source is None or t.source == source]


def organisations_in_scope(principal: Principal, action: str = "read") -> list[str] | None:
    """Organisations whose records ``principal`` may count (``None``: all); or PermissionDenied."""
    scope = require(principal, "stats", action)
    return None if scope == "all" else [principal.organisation_id]


def compute(engine: Engine, name: str, *, filters: Filters | None = None,
            method: str = "suppression", threshold: int = DEFAULT_THRESHOLD, base: int = 5,
            epsilon: float = 1.0, organisation_ids: Sequence[str] | None = None,
            data: CaseData | None = None) -> StatTable:
    """Table ``name``, protected: from case records (in scope) or from imported GLOTIP figures."""
    defn = get_table(name)
    if defn.source == "glotip":
        return compute_glotip_table(engine, name, filters=filters)
    if data is None:
        data = load_case_data(engine, organisation_ids)
    return compute_table(data, name, filters=filters, method=method, threshold=threshold,
                         base=base, epsilon=epsilon)


_CACHE: dict[tuple[Any, ...], StatTable] = {}
_CACHE_SIZE = 64


def fingerprint(engine: Engine) -> tuple[Any, ...]:
    """Changes whenever the case data, the links or the GLOTIP figures change."""
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT (SELECT count(*) FROM person), (SELECT max(updated_at) FROM person), "
            "(SELECT count(*) FROM person_code), (SELECT count(*) FROM trafficking_event), "
            "(SELECT count(*) FROM stats_glotip_figure), "
            "(SELECT max(imported_at) FROM stats_glotip_figure)")).one()
        links: Any = None
        if inspect(engine).has_table("person_cluster"):
            links = conn.execute(text("SELECT count(*), max(cluster_id) FROM person_cluster")
                                 ).one()
    return (*tuple(row), None if links is None else tuple(links))


def compute_cached(engine: Engine, names: Sequence[str], *, filters: Filters,
                   organisation_ids: Sequence[str] | None, **protection: Any
                   ) -> list[StatTable]:
    """Like :func:`compute` for several tables, reusing results while the data is unchanged.

    Differentially private tables are never cached: each computation spends privacy budget and
    a cached answer would hide that; they are recomputed (fresh noise) on every call.
    """
    key_base = (str(engine.url), fingerprint(engine), filters,
                None if organisation_ids is None else tuple(sorted(organisation_ids)),
                tuple(sorted(protection.items())))
    missing = [n for n in names if (*key_base, n) not in _CACHE
               or protection.get("method") == "dp"]
    data = load_case_data(engine, organisation_ids) if missing else None
    out = []
    for n in names:
        key = (*key_base, n)
        if n in missing:
            table = compute(engine, n, filters=filters, data=data, **protection)
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = table
        out.append(_CACHE[key])
    return out


def export(engine: Engine, table: StatTable, fmt: str, *, user: str) -> bytes:
    """The table in ``fmt``, with the release (table, method, parameters, hash) registered."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    payload = render(table, fmt)
    register(engine, table, fmt, payload, user=user)
    return payload


def register(engine: Engine, table: StatTable, fmt: str, payload: bytes, *, user: str) -> None:
    protection = table.metadata["protection"]
    with engine.begin() as conn:
        conn.execute(insert(table_of(Release)).values(
            id=new_id(), table_name=table.name, method=protection["method"],
            parameters=json.dumps(protection["parameters"], default=str),
            filters=json.dumps(table.metadata["filters"]), output_format=fmt,
            cells=len(table.rows), sha256=hashlib.sha256(payload).hexdigest(),
            created_at=utcnow(), created_by=user))


def publish_report(engine: Engine, out_dir: Path, *, user: str, method: str = "suppression",
                   threshold: int = DEFAULT_THRESHOLD, base: int = 5, epsilon: float = 1.0,
                   filters: Filters | None = None,
                   organisation_ids: Sequence[str] | None = None,
                   include_glotip: bool = True) -> Report:
    """Compute every standard table, protected, and write ``report.html`` and ``report.pdf``."""
    data = load_case_data(engine, organisation_ids)
    produced = [compute_table(data, t.name, filters=filters, method=method,
                              threshold=threshold, base=base, epsilon=epsilon)
                for t in standard_tables("cases")]
    if include_glotip and has_figures(engine) and filters and filters.country:
        produced += [compute_glotip_table(engine, t.name, filters=filters)
                     for t in standard_tables("glotip")]
    report = publish(produced, out_dir)
    for t in produced:
        register(engine, t, "report", report.html.read_bytes(), user=user)
    return report


def extract_records(engine: Engine, *, k: int = kanon.DEFAULT_K,
                    qis: Sequence[str] = EXTRACT_QIS,
                    organisation_ids: Sequence[str] | None = None,
                    population: str = "Victim") -> tuple[pd.DataFrame, dict[str, Any]]:
    """A k-anonymous record-level extract: one row per unit, quasi-identifiers only."""
    unknown = [q for q in qis if q not in EXTRACT_QIS]
    if unknown:
        raise InvalidInput(f"extract columns must be among {EXTRACT_QIS}; got {unknown}")
    data = load_case_data(engine, organisation_ids)
    columns = ", ".join(qis)  # checked against EXTRACT_QIS above
    frame = data.con.execute(
        f"SELECT {columns} FROM units WHERE role = ? ORDER BY ALL",  # noqa: S608
        [population]).df()
    before = kanon.check(frame, qis, k)
    protected, values, removed = kanon.local_suppression(frame, qis, k)
    after = kanon.check(protected, qis, k)
    info = {"k": k, "quasi_identifiers": list(qis), "rows_in": len(frame),
            "rows_out": len(protected), "values_suppressed": values, "rows_removed": removed,
            "groups_below_k_before": before.groups_below_k, "k_anonymous": after.ok,
            "counting_unit": "linked persons" if data.linked else "records",
            "protection": f"k-anonymity (k={k}) by local suppression"}
    return protected, info


def demo_statistics(settings: Settings, store: Store, *, console: Console,
                    glotip_file: Path | None = None) -> Report:
    """The ``make run`` step: every standard table over the demo data, protected, published.

    Imports ``glotip_file`` first when given and present (GLOTIP figures for comparison), then
    writes ``<data_dir>/stats-report/report.html`` and ``report.pdf`` and prints where the
    dashboard is.
    """
    if glotip_file is not None and glotip_file.is_file():
        imported = import_glotip(store.engine, glotip_file)
        console.print(f"Imported {imported.rows:,} GLOTIP figures from {glotip_file.name}")
    report = publish_report(store.engine, settings.data_dir / "stats-report", user="demo")
    data = load_case_data(store.engine)
    units = data.con.execute("SELECT COUNT(*) FROM units").fetchall()[0][0]
    counted = (f"{units:,} linked persons ({data.records:,} records)" if data.linked
               else f"{data.records:,} records")
    console.print(f"Statistics: {len(report.tables)} protected tables over {counted}; report "
                  f"in {report.html} and {report.pdf}; dashboard at /stats")
    return report
