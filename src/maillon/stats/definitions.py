"""Table definitions and reference data (M49 regions, EU membership, dimensions), read from YAML.

Everything a statistician may want to change is data: ``tables/*.yaml`` (one standard table per
file), ``reference/dimensions.yaml`` (code lists and mappings), ``reference/m49.yaml`` and
``reference/eu_membership.yaml``. This module only loads and validates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

from maillon.core.errors import ConfigurationError, NotFound

TOTAL = "_T"
"""Code of a margin (total over a dimension), as SDMX uses it."""
UNKNOWN = "_U"
"""Code of an unknown value."""


@dataclass(frozen=True)
class TableDef:
    """One standard table.

    ``source`` is ``cases`` (computed from the store's case records) or ``glotip`` (imported
    GLOTIP figures, published as they are). ``population`` is ``victims`` or ``perpetrators``.
    ``nested`` means the second dimension is nested in the first (subregion in region).
    """

    name: str
    title: str
    unit: str
    dimensions: tuple[str, ...]
    source: str = "cases"
    population: str = "victims"
    nested: bool = False
    notes: str = ""
    comparable: str = ""
    chart: dict[str, str] = field(default_factory=dict)
    glotip: dict[str, Any] = field(default_factory=dict)


def _read(path: str) -> Any:
    return yaml.safe_load((resources.files("maillon.stats") / path).read_text(encoding="utf-8"))


@cache
def tables() -> dict[str, TableDef]:
    """All standard tables by name, in file-name order."""
    folder = resources.files("maillon.stats") / "tables"
    found: dict[str, TableDef] = {}
    dims = dimensions()
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml"):
            continue
        raw = yaml.safe_load(entry.read_text(encoding="utf-8"))
        try:
            table = TableDef(
                name=raw["name"], title=raw["title"], unit=raw["unit"],
                dimensions=tuple(raw["dimensions"]), source=raw.get("source", "cases"),
                population=raw.get("population", "victims"), nested=bool(raw.get("nested")),
                notes=raw.get("notes", ""), comparable=raw.get("comparable", ""),
                chart=dict(raw.get("chart") or {}), glotip=dict(raw.get("glotip") or {}),
            )
        except (KeyError, TypeError) as exc:
            raise ConfigurationError(f"table definition {entry.name}: missing {exc}") from exc
        if table.source == "cases":
            unknown = [d for d in table.dimensions if d not in dims]
            if unknown:
                raise ConfigurationError(f"table {table.name}: unknown dimensions {unknown}")
        if table.name in found:
            raise ConfigurationError(f"table {table.name} defined twice")
        found[table.name] = table
    return found


def get_table(name: str) -> TableDef:
    try:
        return tables()[name]
    except KeyError:
        raise NotFound(f"no statistical table {name!r}; known: {', '.join(tables())}") from None


@cache
def dimensions() -> dict[str, dict[str, Any]]:
    raw: dict[str, dict[str, Any]] = _read("reference/dimensions.yaml")["dimensions"]
    return raw


def dimension_label(dim: str) -> str:
    return str(dimensions().get(dim, {}).get("label", dim.replace("_", " ").capitalize()))


def code_label(dim: str, code: str) -> str:
    """Readable label of ``code`` in dimension ``dim`` (countries by name)."""
    if code == TOTAL:
        return "Total"
    if code == UNKNOWN:
        return "Unknown"
    codes = dimensions().get(dim, {}).get("codes") or {}
    if code in codes:
        return str(codes[code])
    if dim in ("citizenship", "country") and len(code) == 2:
        from maillon.vocab.api import country_name

        return country_name(code) or code
    return code


@dataclass(frozen=True)
class Area:
    alpha3: str
    region: str
    subregion: str


@cache
def m49() -> dict[str, Area]:
    """Alpha-3 code -> M49 region and subregion."""
    out: dict[str, Area] = {}
    for region in _read("reference/m49.yaml")["regions"]:
        for sub in region["subregions"]:
            members = sub.get("countries") or [
                c for group in (sub.get("intermediate") or {}).values() for c in group
            ]
            for code in members:
                out[code] = Area(code, region["name"], sub["name"])
    return out


@cache
def eu_members() -> dict[str, tuple[date, date | None]]:
    """Alpha-2 code -> (joined, left or None)."""
    raw = _read("reference/eu_membership.yaml")["members"]
    return {code: (v["joined"], v.get("left")) for code, v in raw.items()}


def in_eu(alpha2: str, year: int) -> bool:
    """Whether ``alpha2`` is an EU member on 31 December of ``year``."""
    span = eu_members().get(alpha2)
    if span is None:
        return False
    end = date(year, 12, 31)
    joined, left = span
    return joined <= end and (left is None or left >= end)
