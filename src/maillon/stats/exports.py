"""Writing a computed table: CSV, XLSX, SDMX-CSV and JSON, each with its metadata.

* CSV: metadata as ``#`` comment lines first (``pandas.read_csv(..., comment="#")`` skips
  them), then one row per cell: dimension codes, ``value`` (empty when suppressed), ``flag``
  (``c`` confidential, ``<5`` as published by GLOTIP).
* XLSX: sheet ``data`` (codes, labels, value, flag) and sheet ``metadata``.
* SDMX-CSV (version 1.0 layout): ``DATAFLOW`` (``MAILLON:<TABLE>(1.0)``), one column per
  dimension (SDMX concept names: ``TIME_PERIOD``, ``SEX``, ``AGE``, ``REF_AREA``...),
  ``OBS_VALUE``, then attributes ``OBS_STATUS``, ``CONF_STATUS`` (``F`` free, ``C``
  confidential), ``UNIT_MEASURE`` and ``SDC_METHOD``.
* JSON: ``{"metadata": {...}, "columns": [...], "rows": [...]}``.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from maillon.core.errors import InvalidInput
from maillon.stats.compute import CONFIDENTIAL, StatTable, labelled
from maillon.stats.definitions import TOTAL, code_label

FORMATS = {"csv": "text/csv", "xlsx": (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "sdmx-csv": "text/csv", "json": "application/json"}
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "sdmx-csv": "sdmx.csv", "json": "json"}
SDMX_CONCEPTS = {"year": "TIME_PERIOD", "sex": "SEX", "age_group": "AGE", "age": "AGE",
                 "form": "EXPLOITATION", "citizenship_group": "CITIZEN", "citizenship": "CITIZEN",
                 "region": "REGION", "subregion": "SUBREGION", "country": "REF_AREA",
                 "category": "CATEGORY", "indicator": "INDICATOR"}


def _meta_lines(table: StatTable) -> list[tuple[str, str]]:
    m = table.metadata
    p = m["protection"]
    return [
        ("table", m["table"]), ("title", m["title"]), ("unit", m["unit"]),
        ("counting_unit", m["counting_unit"]), ("unit_note", m["unit_note"]),
        ("filters", json.dumps(m["filters"])), ("protection", p["method"]),
        ("protection_parameters", json.dumps(p["parameters"])),
        ("protection_note", p["description"]), ("notes", m["notes"]), ("source", m["source"]),
        ("generated_at", m["generated_at"]),
    ]


def to_csv(table: StatTable) -> bytes:
    buf = io.StringIO()
    for key, value in _meta_lines(table):
        buf.write(f"# {key}: {' '.join(str(value).split())}\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if row[c] is None else row[c] for c in table.columns])
    return buf.getvalue().encode("utf-8")


def to_json(table: StatTable) -> bytes:
    body = {"metadata": table.metadata, "columns": table.columns,
            "rows": [{c: row[c] for c in table.columns} for row in table.rows]}
    return json.dumps(body, ensure_ascii=False, indent=1, default=str).encode("utf-8")


def to_sdmx_csv(table: StatTable) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    dims = list(table.definition.dimensions)
    concepts = [SDMX_CONCEPTS.get(d, d.upper()) for d in dims]
    writer.writerow(["DATAFLOW", *concepts, "OBS_VALUE", "OBS_STATUS", "CONF_STATUS",
                     "UNIT_MEASURE", "SDC_METHOD"])
    flow = f"MAILLON:{table.name.upper()}(1.0)"
    method = table.metadata["protection"]["method"]
    for row in table.rows:
        hidden = row["value"] is None
        writer.writerow([
            flow, *[row[d] for d in dims], "" if hidden else row["value"],
            "A", "C" if hidden else "F", table.metadata["unit"], method])
    return buf.getvalue().encode("utf-8")


def to_xlsx(table: StatTable) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    data = book.create_sheet("data", 0)
    book.remove(book.worksheets[1])
    dims = list(table.definition.dimensions)
    header = [c for d in dims for c in (d, f"{d} (label)")] + ["value", "flag"]
    data.append(header)
    for cell in data[1]:
        cell.font = Font(bold=True)
    for row in labelled(table):
        values: list[Any] = []
        for d in dims:
            values += [row[d], row[f"{d}_label"]]
        values += [CONFIDENTIAL if row["value"] is None and row["flag"] == CONFIDENTIAL
                   else row["value"], row["flag"]]
        data.append(values)
    meta = book.create_sheet("metadata")
    for key, value in _meta_lines(table):
        meta.append([key, str(value)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(table: StatTable, fmt: str) -> bytes:
    """``table`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "csv":
        return to_csv(table)
    if fmt == "json":
        return to_json(table)
    if fmt == "sdmx-csv":
        return to_sdmx_csv(table)
    if fmt == "xlsx":
        return to_xlsx(table)
    raise InvalidInput(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def shown(row: dict[str, Any]) -> str:
    """The value as a reader sees it: a number, ``c`` (confidential) or ``<5`` (GLOTIP)."""
    if row["value"] is None:
        return str(row["flag"] or CONFIDENTIAL)
    return f"{row['value']:,}"


def code_text(dim: str, code: Any) -> str:
    return "Total" if code == TOTAL else code_label(dim, str(code))
