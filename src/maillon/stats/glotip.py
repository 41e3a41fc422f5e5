"""Importing UNODC GLOTIP figures (``data_glotip.xlsx`` format) and reading them as tables.

File format (sheet ``data_glotip_1``, one header row, 13 columns): ``Iso3_code, Country,
Region, Subregion, Indicator, Dimension, Category, Sex, Age, Year, Unit of measurement,
txtVALUE, Source``. ``txtVALUE`` is a count as text with thousands separators (``1,432``) or
``<5`` where UNODC suppressed a small count. A CSV with the same header is accepted too.

The import is all or nothing: every malformed row is reported (row number, column, value,
reason) and nothing is stored. Re-importing a file of the same name replaces its figures.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from maillon.core.errors import FieldError, InvalidFile, InvalidInput
from maillon.core.ids import new_id
from maillon.core.timeutil import utcnow
from maillon.stats.models import GlotipFigure
from maillon.store.base import table_of

HEADER = ("Iso3_code", "Country", "Region", "Subregion", "Indicator", "Dimension", "Category",
          "Sex", "Age", "Year", "Unit of measurement", "txtVALUE", "Source")
FIELDS = ("iso3", "country", "region", "subregion", "indicator", "dimension", "category", "sex",
          "age", "year", "unit", "raw_value", "source")
REQUIRED = ("Indicator", "Dimension", "Sex", "Age", "Year", "Unit of measurement", "txtVALUE")
SEXES = {"Total", "Female", "Male", "Other", "Unknown"}
COUNT = re.compile(r"\d{1,3}(,\d{3})*|\d+")
BELOW = re.compile(r"<\s*(\d+)")
MAX_ERRORS = 1000


@dataclass
class GlotipReport:
    dataset: str
    rows: int
    below_threshold: int
    years: tuple[int, int] | None
    countries: int


def _rows(path: Path, sheet: str | None) -> Iterator[tuple[Any, ...]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise InvalidFile(f"{path.name} is not a readable XLSX file: {exc}") from exc
        try:
            ws = book[sheet] if sheet else book.worksheets[0]
        except KeyError as exc:
            raise InvalidFile(f"no worksheet {sheet!r} in {path.name}") from exc
        try:
            yield from ws.iter_rows(values_only=True)
        finally:
            book.close()
        return
    if suffix == ".csv":
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                yield from (tuple(r) for r in csv.reader(fh))
        except UnicodeDecodeError as exc:
            raise InvalidFile(f"{path.name} is not UTF-8 text") from exc
        return
    raise InvalidFile(f"{path.name}: GLOTIP files are .xlsx or .csv")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse(path: Path, sheet: str | None = None) -> list[dict[str, Any]]:
    """Read and validate every row; :class:`InvalidInput` lists every bad row and field."""
    rows = _rows(path, sheet)
    try:
        header = next(rows)
    except StopIteration:
        raise InvalidFile(f"{path.name} is empty") from None
    names = tuple(_text(h) or "" for h in header)
    missing = [h for h in HEADER if h not in names]
    if missing:
        raise InvalidFile(f"{path.name} is not a GLOTIP file: missing columns",
                          [FieldError(reason="missing column", field=m) for m in missing])
    pos = {h: names.index(h) for h in HEADER}
    out: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    for number, raw in enumerate(rows, start=1):
        if raw is None or all(_text(v) is None for v in raw):
            continue
        cells = {h: (raw[pos[h]] if pos[h] < len(raw) else None) for h in HEADER}
        record: dict[str, Any] = {}
        bad = False
        for h, name in zip(HEADER, FIELDS, strict=True):
            value = _text(cells[h])
            if value is None and h in REQUIRED:
                errors.append(FieldError(row=number, field=h, reason="required value missing"))
                bad = True
            record[name] = value
        if bad:
            continue
        year_text = record["year"]
        try:
            year = int(float(year_text)) if isinstance(cells["Year"], float) else int(year_text)
        except ValueError:
            errors.append(FieldError(row=number, field="Year", value=year_text,
                                     reason="not a year"))
            continue
        if not 1900 <= year <= 2100:
            errors.append(FieldError(row=number, field="Year", value=year_text,
                                     reason="year out of range 1900-2100"))
            continue
        record["year"] = year
        if record["sex"] not in SEXES:
            errors.append(FieldError(row=number, field="Sex", value=record["sex"],
                                     reason=f"sex must be one of {sorted(SEXES)}"))
            continue
        value_text = record["raw_value"]
        below = BELOW.fullmatch(value_text)
        if below:
            record["value"], record["below_threshold"] = None, True
        elif COUNT.fullmatch(value_text):
            record["value"], record["below_threshold"] = int(value_text.replace(",", "")), False
        else:
            errors.append(FieldError(row=number, field="txtVALUE", value=value_text,
                                     reason="not a count (digits, thousands separated by ',', "
                                            "or '<5')"))
            continue
        record["category"] = record["category"] or ""
        record["row_number"] = number
        out.append(record)
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise InvalidInput(f"{path.name}: {len(errors)} malformed rows, nothing imported",
                           errors)
    if not out:
        raise InvalidFile(f"{path.name} holds no figures")
    return out


def import_glotip(engine: Engine, path: Path, *, sheet: str | None = None,
                  dataset: str | None = None) -> GlotipReport:
    """Validate ``path`` and replace the figures of dataset ``dataset`` (default: file name)."""
    records = parse(path, sheet)
    name = dataset or path.name
    now = utcnow()
    table = table_of(GlotipFigure)
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.dataset == name))
        chunk = 5000
        for start in range(0, len(records), chunk):
            batch = [{**r, "id": new_id(), "dataset": name, "imported_at": now}
                     for r in records[start:start + chunk]]
            conn.execute(insert(table), batch)
    years = [r["year"] for r in records]
    return GlotipReport(
        dataset=name, rows=len(records),
        below_threshold=sum(1 for r in records if r["below_threshold"]),
        years=(min(years), max(years)) if years else None,
        countries=len({r["iso3"] for r in records if r["iso3"]}),
    )


def figures(engine: Engine, *, indicators: list[str], dimension: str,
            country: str | None = None, year: int | None = None) -> list[dict[str, Any]]:
    """Figures of ``indicators`` in ``dimension`` (country: ISO alpha-3 or alpha-2)."""
    t = GlotipFigure
    stmt = select(t.indicator, t.iso3, t.country, t.year, t.category, t.sex, t.age, t.value,
                  t.below_threshold, t.raw_value).where(t.indicator.in_(indicators),
                                                        t.dimension == dimension)
    if country:
        code = country.upper()
        if len(code) == 2:
            from maillon.vocab.api import country_alpha3

            code = country_alpha3(code) or code
        stmt = stmt.where(t.iso3 == code)
    if year:
        stmt = stmt.where(t.year == year)
    stmt = stmt.order_by(t.iso3, t.year, t.indicator, t.category, t.sex, t.age)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def has_figures(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(GlotipFigure.id).limit(1)).first() is not None
