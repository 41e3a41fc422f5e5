"""Computing a standard table: counts in DuckDB, then the chosen disclosure control.

:func:`compute_table` returns a :class:`StatTable`: cells (interior and margins) with their
published value and flag, and the metadata every export carries (unit, counting-unit note,
protection method with its parameters, source, time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from maillon.core.errors import InvalidInput
from maillon.stats import sdc
from maillon.stats.definitions import (
    TOTAL,
    UNKNOWN,
    TableDef,
    code_label,
    dimension_label,
    dimensions,
    get_table,
    m49,
)
from maillon.stats.grid import Dim, Grid
from maillon.stats.source import CaseData

METHODS = ("suppression", "rounding", "dp")
CONFIDENTIAL = "c"
"""Flag (and shown value) of a suppressed cell, as Eurostat flags confidential data."""


@dataclass(frozen=True)
class Filters:
    """Dashboard and CLI filters: reporting country (alpha-2), registration year, form code."""

    country: str | None = None
    year: int | None = None
    form: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("country", self.country), ("year", self.year),
                                  ("form", self.form)) if v is not None}


@dataclass
class StatTable:
    definition: TableDef
    columns: list[str]
    rows: list[dict[str, Any]]
    metadata: dict[str, Any]
    interior_count: int = 0
    audit: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.definition.name


def _column(name: str) -> str:
    """``name`` as a column of ``units``: only declared dimensions, so SQL gets no free text."""
    if name not in dimensions() or not name.replace("_", "").isalnum():
        raise InvalidInput(f"unknown dimension {name!r}")
    return name


def _dims(defn: TableDef, con: Any, method: str, sel: str, params: list[Any]) -> list[Dim]:
    """The table's dimensions with their codes (observed codes for dynamic dimensions)."""
    spec = dimensions()
    out: list[Dim] = []
    names = list(defn.dimensions)
    if defn.nested:
        parent, child = (_column(n) for n in names)
        pairs = con.execute(
            f"SELECT DISTINCT {parent}, {child} {sel} ORDER BY 1, 2",  # noqa: S608
            params).fetchall()
        groups: dict[str, list[str]] = {}
        if method == "dp":
            for area in m49().values():
                groups.setdefault(area.region, [])
                if area.subregion not in groups[area.region]:
                    groups[area.region].append(area.subregion)
            groups[UNKNOWN] = [f"{UNKNOWN}"]
        for p, c in pairs:
            groups.setdefault(p, [])
            if c not in groups[p]:
                groups[p].append(c)
        # a subregion code must be unique across regions: unknown gets the region's name
        leaves: list[str] = []
        grp: dict[str, tuple[str, ...]] = {}
        for p in sorted(groups):
            kids = tuple(f"{p}|{c}" for c in sorted(groups[p]))
            leaves.extend(kids)
            grp[p] = kids
        return [Dim(child, tuple(leaves), grp)]
    for name in names:
        codes = spec[name].get("codes")
        if codes and not spec[name].get("dynamic"):
            out.append(Dim(name, tuple(codes)))
            continue
        observed = [r[0] for r in con.execute(
            f"SELECT DISTINCT {_column(name)} {sel} ORDER BY 1", params).fetchall()]  # noqa: S608
        if method == "dp" and name in ("citizenship", "country"):
            from maillon.vocab.api import countries

            observed = sorted({c for c, _ in countries()} | {UNKNOWN} | set(observed))
        out.append(Dim(name, tuple(observed)))
    return out


def compute_table(data: CaseData, name: str, *, filters: Filters | None = None,
                  method: str = "suppression", threshold: int = sdc.DEFAULT_THRESHOLD,
                  base: int = 5, epsilon: float = 1.0) -> StatTable:
    """One standard table over the case data, protected by ``method``."""
    defn = get_table(name)
    if defn.source != "cases":
        raise InvalidInput(f"table {name} is computed from imported GLOTIP figures")
    if method not in METHODS:
        raise InvalidInput(f"unknown protection method {method!r}; use one of {METHODS}")
    flt = filters or Filters()
    role = "Victim" if defn.population == "victims" else "Perpetrator"
    where = ["role = ?"]
    params: list[Any] = [role]
    if flt.country:
        where.append("country = ?")
        params.append(flt.country.upper())
    if flt.year:
        where.append("year = ?")
        params.append(str(flt.year))
    if flt.form:
        where.append("form = ?")
        params.append(flt.form)
    con = data.con
    sel = f"FROM units WHERE {' AND '.join(where)}"
    dims = _dims(defn, con, method, sel, params)
    if defn.nested:
        parent, child = (_column(n) for n in defn.dimensions)
        counts = con.execute(f"SELECT {parent} || '|' || {child}, count(*) {sel} "  # noqa: S608
                             "GROUP BY ALL", params).fetchall()
        interior: dict[tuple[str, ...], int] = {(str(k),): int(v) for k, v in counts}
    else:
        cols = ", ".join(_column(d) for d in defn.dimensions)
        counts = con.execute(f"SELECT {cols}, count(*) {sel} GROUP BY ALL",  # noqa: S608
                             params).fetchall()
        interior = {tuple(r[:-1]): int(r[-1]) for r in counts}
    grid = Grid(dims, interior)
    values = grid.values.copy()
    hidden: set[int] = set()
    params_out: dict[str, Any] = {}
    audit_info: dict[str, Any] = {}
    if method == "suppression":
        supp = sdc.suppress(grid, threshold)
        hidden = supp.suppressed
        params_out = {"threshold": threshold}
        audit_info = {"primary": len(supp.primary), "secondary": len(supp.secondary),
                      "min_interval_width": supp.min_width()}
    elif method == "rounding":
        rounding = sdc.controlled_round(grid, base)
        values = rounding.values
        params_out = {"base": base, "controlled": rounding.controlled}
    else:
        noisy = sdc.dp_counts(grid, epsilon)
        values = noisy.values
        params_out = {"epsilon": epsilon, "scale": noisy.scale, "mechanism": noisy.mechanism}
    columns = _columns(defn)
    rows: list[dict[str, Any]] = []
    for i, key in enumerate(grid.keys):
        row = _row(defn, key)
        if i in hidden:
            row.update(value=None, flag=CONFIDENTIAL)
        else:
            row.update(value=int(values[i]), flag="")
        row["total"] = not bool(grid.interior[i])
        rows.append(row)
    metadata = {
        "table": defn.name,
        "title": defn.title,
        "unit": defn.unit,
        "counting_unit": "linked persons" if data.linked else "records",
        "unit_note": data.unit_note,
        "population": defn.population,
        "dimensions": {d: dimension_label(d) for d in defn.dimensions},
        "filters": flt.as_dict(),
        "protection": {"method": method, "parameters": params_out,
                       "description": sdc.describe(method, params_out), **audit_info},
        "notes": defn.notes,
        "comparable": defn.comparable,
        "source": "Maillon case records",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return StatTable(defn, columns, rows, metadata, int(grid.interior.sum()), audit_info)


def _columns(defn: TableDef) -> list[str]:
    return [*defn.dimensions, "value", "flag"]


def _row(defn: TableDef, key: tuple[str, ...]) -> dict[str, Any]:
    if defn.nested:
        parent, child = defn.dimensions
        code = key[0]
        if code == TOTAL:
            return {parent: TOTAL, child: TOTAL}
        if "|" in code:
            p, c = code.split("|", 1)
            return {parent: p, child: c}
        return {parent: code, child: TOTAL}
    return dict(zip(defn.dimensions, key, strict=True))


def labelled(table: StatTable) -> list[dict[str, Any]]:
    """Rows with labels next to codes (for people: HTML, XLSX)."""
    out = []
    for row in table.rows:
        item: dict[str, Any] = {}
        for d in table.definition.dimensions:
            item[d] = row[d]
            item[f"{d}_label"] = code_label(d, str(row[d]))
        item["value"] = row["value"]
        item["flag"] = row["flag"]
        item["total"] = row.get("total", False)
        out.append(item)
    return out


def interior_values(table: StatTable) -> np.ndarray:
    return np.array([r["value"] or 0 for r in table.rows if not r.get("total")])


GLOTIP_COLUMNS = {"country": "iso3", "year": "year", "sex": "sex", "age": "age",
                  "category": "category", "indicator": "indicator"}
BELOW_THRESHOLD = "<5"


def compute_glotip_table(engine: Any, name: str, *, filters: Filters | None = None
                         ) -> StatTable:
    """A GLOTIP table: the imported figures, as UNODC published them (``<5`` kept)."""
    from maillon.stats.glotip import figures

    defn = get_table(name)
    if defn.source != "glotip":
        raise InvalidInput(f"table {name} is computed from case records")
    flt = filters or Filters()
    found = figures(engine, indicators=list(defn.glotip["indicators"]),
                    dimension=str(defn.glotip["dimension"]), country=flt.country, year=flt.year)
    rows: list[dict[str, Any]] = []
    for f in found:
        row = {d: f[GLOTIP_COLUMNS[d]] for d in defn.dimensions}
        if f["below_threshold"]:
            row.update(value=None, flag=BELOW_THRESHOLD)
        else:
            row.update(value=f["value"], flag="")
        row["total"] = False
        rows.append(row)
    metadata = {
        "table": defn.name, "title": defn.title, "unit": defn.unit,
        "counting_unit": defn.unit, "unit_note": "Counting unit as defined by UNODC.",
        "population": defn.unit,
        "dimensions": {d: dimension_label(d) for d in defn.dimensions},
        "filters": flt.as_dict(),
        "protection": {"method": "source", "parameters": {"source_threshold": 5},
                       "description": sdc.describe("source", {})},
        "notes": defn.notes, "comparable": "",
        "source": "UNODC Global Report on Trafficking in Persons (GLOTIP) data, imported",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return StatTable(defn, _columns(defn), rows, metadata, len(rows))
