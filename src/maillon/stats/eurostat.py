"""Importing Eurostat ``crim_thb`` tables (SDMX-CSV) as GLOTIP-format figures.

The mapping is data (``reference/eurostat_crim_thb.yaml``). It has NOT been checked against a
real Eurostat file (none was available offline): see docs/stats.md. Rows whose value is empty
(Eurostat ``:``, "not available") are skipped and counted; ``0`` is kept as a known zero.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, delete, insert

from maillon.core.errors import FieldError, InvalidFile, InvalidInput
from maillon.core.ids import new_id
from maillon.core.timeutil import utcnow
from maillon.stats.glotip import GlotipReport
from maillon.stats.models import GlotipFigure
from maillon.store.base import table_of


@cache
def profile() -> dict[str, Any]:
    text = (resources.files("maillon.stats") / "reference" / "eurostat_crim_thb.yaml"
            ).read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def parse(path: Path) -> tuple[list[dict[str, Any]], int]:
    """(figures, rows skipped as not available); :class:`InvalidInput` lists bad rows."""
    from maillon.vocab.api import country, country_alpha3, country_name

    prof = profile()
    cols = prof["columns"]
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except UnicodeDecodeError as exc:
        raise InvalidFile(f"{path.name} is not UTF-8 text") from exc
    if not rows:
        raise InvalidFile(f"{path.name} holds no rows")
    required = [cols[k] for k in ("geo", "year", "value", "sex", "legal_status")]
    missing = [c for c in required if c not in rows[0]]
    if missing:
        raise InvalidFile(f"{path.name} is not a crim_thb SDMX-CSV file",
                          [FieldError(reason="missing column", field=m) for m in missing])
    out: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    skipped = 0
    for n, row in enumerate(rows, start=1):
        raw_value = (row.get(cols["value"]) or "").strip()
        if raw_value in ("", ":"):
            skipped += 1
            continue
        geo = row[cols["geo"]].strip()
        alpha2 = prof["geo_aliases"].get(geo, geo)
        indicator = prof["legal_status"].get(row[cols["legal_status"]].strip())
        sex = prof["sex"].get(row[cols["sex"]].strip())
        problems = []
        if country(alpha2) is None:
            problems.append(FieldError(row=n, field=cols["geo"], value=geo,
                                       reason="not a country code"))
        if indicator is None:
            problems.append(FieldError(row=n, field=cols["legal_status"],
                                       value=row[cols["legal_status"]], reason="unknown code"))
        if sex is None:
            problems.append(FieldError(row=n, field=cols["sex"], value=row[cols["sex"]],
                                       reason="unknown code"))
        try:
            year = int(row[cols["year"]].strip()[:4])
            value = int(float(raw_value))
        except ValueError:
            problems.append(FieldError(row=n, field=cols["value"], value=raw_value,
                                       reason="not a number (or year not a year)"))
        if problems:
            errors.extend(problems)
            continue
        dimension, category = "Total", "Total"
        for key, dim_name in (("citizenship", "by citizenship"),
                              ("exploitation", "by form of exploitation")):
            column = cols.get(key)
            if column and row.get(column) and row[column].strip() not in ("TOTAL", "T"):
                dimension, category = dim_name, row[column].strip()
        out.append({
            "iso3": country_alpha3(alpha2), "country": country_name(alpha2), "region": None,
            "subregion": None, "indicator": indicator, "dimension": dimension,
            "category": category, "sex": sex, "age": "Total", "year": year, "unit": "Counts",
            "value": value, "below_threshold": False, "raw_value": raw_value,
            "source": "Eurostat", "row_number": n,
        })
    if errors:
        raise InvalidInput(f"{path.name}: {len(errors)} problems, nothing imported", errors)
    return out, skipped


def import_eurostat(engine: Engine, path: Path, *, dataset: str | None = None) -> GlotipReport:
    """Replace dataset ``dataset`` (default: file name) with the file's figures."""
    records, _ = parse(path)
    name = dataset or path.name
    table = table_of(GlotipFigure)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.dataset == name))
        if records:
            conn.execute(insert(table), [{**r, "id": new_id(), "dataset": name,
                                          "imported_at": now} for r in records])
    years = [r["year"] for r in records]
    return GlotipReport(dataset=name, rows=len(records), below_threshold=0,
                        years=(min(years), max(years)) if years else None,
                        countries=len({r["iso3"] for r in records}))
