"""Readers: turn a CSV, XLSX, JSON or JSON-lines file into a header and rows of text cells.

Every reader yields ``(row_number, cells)`` where ``row_number`` is 1-based over data rows (the
header is not counted) and ``cells`` is a list of ``str | None`` aligned with the header. A row
whose shape is wrong (too many or too few cells, a JSON value that is not an object) is yielded
with :class:`RowShapeError` in place of its cells, so the pipeline can quarantine it and go on.
A file that cannot be read at all (broken encoding, unterminated quote, invalid JSON, not an XLSX
workbook) raises :class:`~maillon.core.errors.InvalidFile` naming the line or row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from maillon.core.errors import FieldError, InvalidFile

FORMATS = ("csv", "xlsx", "json", "jsonl")
Cells = list[str | None]


@dataclass(frozen=True)
class RowShapeError:
    """Why a row could not be aligned with the header."""

    reason: str
    raw: dict[str, Any]


@dataclass
class Table:
    """A readable table: its header and a one-pass iterator over its rows."""

    header: list[str]
    rows: Iterator[tuple[int, Cells | RowShapeError]]


def detect_format(path: Path, declared: str | None = None) -> str:
    """The format named by ``declared`` or by the file suffix (``.ndjson`` counts as jsonl)."""
    if declared:
        fmt = declared.lower()
    else:
        suffix = path.suffix.lower().lstrip(".")
        fmt = {"ndjson": "jsonl", "xlsm": "xlsx", "tsv": "csv", "txt": "csv"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise InvalidFile(
            f"cannot tell the format of {path.name!r}: use one of {', '.join(FORMATS)}",
            [FieldError(field="format", value=fmt, reason="unsupported format")],
        )
    return fmt


def _file_error(message: str, *, row: int | None = None) -> InvalidFile:
    return InvalidFile(message, [FieldError(row=row, reason=message)])


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ";".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _clean_header(raw: list[Any]) -> list[str]:
    header = [("" if h is None else str(h)).strip().lstrip("\ufeff") for h in raw]
    if not any(header):
        raise _file_error("the header row is empty")
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise _file_error(f"column {name!r} appears twice in the header")
        seen.add(name)
    return header


# -- CSV -------------------------------------------------------------------------------------


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


class _UndecodableLine(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _decoded_lines(stream: IO[bytes], encoding: str) -> Iterator[str]:
    """Decode line by line, so an undecodable byte is reported with its line number."""
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding
    first = True
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode(codec if first else codec.replace("-sig", ""))
        except UnicodeError as exc:
            raise _UndecodableLine(number, getattr(exc, "reason", str(exc))) from None
        first = False
        yield line


def read_csv(stream: IO[bytes], *, encoding: str = "utf-8", delimiter: str | None = None) -> Table:
    """CSV with a header row; the delimiter is sniffed from the header unless given.

    Decoding is strict: a byte sequence that is not valid in ``encoding`` stops the read with the
    row number, instead of silently turning names into replacement characters.
    """
    try:
        "".encode(encoding)
    except LookupError as exc:
        raise _file_error(f"unknown encoding {encoding!r}") from exc
    if "16" in encoding or "32" in encoding:
        lines: Iterator[str] = io.TextIOWrapper(stream, encoding=encoding, newline="")
    else:
        lines = _decoded_lines(stream, encoding)
    try:
        first = next(lines, "")
    except (_UndecodableLine, UnicodeError) as exc:
        raise _file_error(f"the header is not valid {encoding}; save the file as UTF-8 or "
                          "give its encoding", row=None) from exc
    if not first.strip():
        raise _file_error("the file is empty: no header row")
    delim = delimiter or _sniff_delimiter(first)
    try:
        header_row = next(csv.reader([first], delimiter=delim, strict=True))
    except csv.Error as exc:
        raise _file_error(f"the header row is malformed: {exc}") from exc
    header = _clean_header(header_row)
    width = len(header)

    def rows() -> Iterator[tuple[int, Cells | RowShapeError]]:
        reader = csv.reader(lines, delimiter=delim, strict=True)
        number = 0
        try:
            for record in reader:
                if not record or (len(record) == 1 and record[0] == ""):
                    continue
                number += 1
                if len(record) != width:
                    raw = dict(zip(header, record, strict=False))
                    reason = (
                        f"{len(record)} cells but the header has {width} columns"
                        + (" (truncated row?)" if len(record) < width else "")
                    )
                    yield number, RowShapeError(reason, raw)
                    continue
                yield number, [c if c != "" else None for c in record]
        except (_UndecodableLine, UnicodeError) as exc:
            line = f" (line {exc.line})" if isinstance(exc, _UndecodableLine) else ""
            raise _file_error(
                f"data row {number + 1}{line} is not valid {encoding}; "
                "save the file as UTF-8 or give its encoding",
                row=number + 1,
            ) from exc
        except csv.Error as exc:
            raise _file_error(
                f"malformed CSV at data row {number + 1} (line {reader.line_num + 1}): {exc}; "
                "the file may be truncated or have an unclosed quote",
                row=number + 1,
            ) from exc

    return Table(header=header, rows=rows())


# -- XLSX ------------------------------------------------------------------------------------


def read_xlsx(stream: IO[bytes], *, sheet: str | None = None) -> Table:
    """The first (or named) worksheet; its first row is the header."""
    from openpyxl import load_workbook

    # A damaged workbook can fail inside openpyxl, zipfile, zlib or the XML parser with many
    # exception types; every one of them means "this is not a readable workbook".
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:
        raise _file_error(f"not a readable XLSX workbook: {exc}") from exc
    if sheet and sheet not in book.sheetnames:
        raise _file_error(f"no worksheet named {sheet!r}")
    try:
        ws = book[sheet] if sheet else book.worksheets[0]
        it = ws.iter_rows(values_only=True)
        first = next(it, None)
    except Exception as exc:
        raise _file_error(f"not a readable XLSX workbook: {exc}") from exc
    if first is None:
        raise _file_error("the worksheet is empty: no header row")
    header = _clean_header(list(first))
    while header and header[-1] == "":
        header.pop()
    width = len(header)

    def rows() -> Iterator[tuple[int, Cells | RowShapeError]]:
        number = 0
        while True:
            try:
                values = next(it, None)
            except Exception as exc:
                raise _file_error(
                    f"the workbook is damaged after data row {number}: {exc}", row=number + 1
                ) from exc
            if values is None:
                break
            cells = [_cell(v) for v in values]
            extra = [c for c in cells[width:] if c not in (None, "")]
            cells = cells[:width]
            if all(c in (None, "") for c in cells) and not extra:
                continue
            number += 1
            if extra:
                yield number, RowShapeError(
                    f"{width + len(extra)} filled cells but the header has {width} columns",
                    dict(zip(header, cells, strict=False)),
                )
                continue
            cells += [None] * (width - len(cells))
            yield number, [c if c != "" else None for c in cells]
        book.close()

    return Table(header=header, rows=rows())


# -- JSON ------------------------------------------------------------------------------------


def _objects_table(objects: Iterator[tuple[int, Any]], first: list[Any]) -> Table:
    keys: list[str] = []
    for obj in first:
        if isinstance(obj, dict):
            for k in obj:
                if str(k) not in keys:
                    keys.append(str(k))
    if not keys:
        raise _file_error("no JSON object with fields found: expected records as objects")
    header = keys

    def rows() -> Iterator[tuple[int, Cells | RowShapeError]]:
        for number, obj in objects:
            if not isinstance(obj, dict):
                yield number, RowShapeError(
                    f"expected a JSON object, got {type(obj).__name__}", {"value": obj}
                )
                continue
            unknown = [str(k) for k in obj if str(k) not in header]
            if unknown:
                yield number, RowShapeError(
                    f"fields not seen in the first records: {', '.join(unknown[:5])}",
                    {str(k): v for k, v in obj.items()},
                )
                continue
            yield number, [_cell(obj.get(h)) or None for h in header]

    return Table(header=header, rows=rows())


def read_json(stream: IO[bytes]) -> Table:
    """A JSON array of objects, or an object whose ``records`` (or ``data``) is such an array."""
    try:
        data = json.loads(stream.read().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise _file_error(f"not valid UTF-8 JSON: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise _file_error(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg} "
            "(truncated file?)"
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise _file_error(f"JSON that cannot be read: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("records", data.get("data"))
    if not isinstance(data, list):
        raise _file_error("expected a JSON array of records (or {\"records\": [...]})")
    return _objects_table(iter(enumerate(data, start=1)), data[:1000])


def read_jsonl(stream: IO[bytes]) -> Table:
    """JSON lines: one object per line; blank lines are skipped.

    The header is the union of the keys of the first 1,000 records; a later record with a field
    outside it is reported as a bad row rather than silently losing that field.
    """
    try:
        lines = stream.read().decode("utf-8-sig").split("\n")
    except UnicodeDecodeError as exc:
        raise _file_error(f"not valid UTF-8: {exc.reason} at byte {exc.start}") from exc
    parsed: list[tuple[int, Any]] = []
    number = 0
    for line in lines:
        if not line.strip():
            continue
        number += 1
        try:
            parsed.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            parsed.append((number, _JsonLineError(f"invalid JSON: {exc.msg}", line)))
        except (ValueError, RecursionError) as exc:
            parsed.append((number, _JsonLineError(f"JSON that cannot be read: {exc}", line)))
    first = [obj for _, obj in parsed[:1000] if isinstance(obj, dict)]
    table = _objects_table(iter(parsed), first)
    inner = table.rows

    def rows() -> Iterator[tuple[int, Cells | RowShapeError]]:
        for number, item in inner:
            value = item.raw.get("value") if isinstance(item, RowShapeError) else None
            if isinstance(value, _JsonLineError):
                yield number, RowShapeError(value.reason, {"line": value.line[:500]})
            else:
                yield number, item

    return Table(header=table.header, rows=rows())


@dataclass(frozen=True)
class _JsonLineError:
    reason: str
    line: str


def open_table(
    path: Path, *, file_format: str | None = None, encoding: str = "utf-8",
    sheet: str | None = None,
) -> tuple[Table, IO[bytes]]:
    """Open ``path`` and return its table and the open stream (close it when done)."""
    fmt = detect_format(path, file_format)
    stream = path.open("rb")
    try:
        if fmt == "csv":
            return read_csv(stream, encoding=encoding), stream
        if fmt == "xlsx":
            return read_xlsx(stream, sheet=sheet), stream
        if fmt == "json":
            return read_json(stream), stream
        return read_jsonl(stream), stream
    except BaseException:
        stream.close()
        raise
