"""Property-based tests of the readers, the row validator and the import pipeline.

The contract under test: whatever bytes a user hands over, a reader either returns a
:class:`Table` whose rows are ``(int, list aligned with the header | RowShapeError)``, or raises
:class:`InvalidFile`; the validator turns any row of cells into ``(record, errors)``; and
``import_file`` reports instead of raising, committing nothing when it rejects a file.

The inputs that once broke these promises (year 0, float overflow, damaged workbooks, huge or
deeply nested JSON) are kept as named regression tests at the end of the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from maillon.collect import synth
from maillon.collect.api import ImportOptions, import_file
from maillon.collect.profiles import load_profile
from maillon.collect.readers import RowShapeError, Table, read_csv, read_json, read_jsonl, read_xlsx
from maillon.collect.validate import RowValidator
from maillon.core.errors import FieldError, InvalidFile
from maillon.core.settings import Settings
from maillon.store.api import Store, open_store
from maillon.store.keys import FileKeyProvider
from tests.factories import GOOD_ROWS, HEADER

Reader = Callable[[io.BytesIO], Table]

PROPS = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(max_examples=60, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
E2E = settings(max_examples=40, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture])

ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "utf-16-le", "utf-32"]
DELIMITERS = [None, ",", ";", "\t", "|"]

# -- strategies ------------------------------------------------------------------------------

SPECIALS = [",", ";", "\t", "|", '"', "'", "\n", "\r", "\ufeff", "\x00", "\u2028",
            "\x85", " ", "{", "}", "[", "]", ":", "\\", "\udcff", "\ud800", "é", "€", "😀"]
# Every code point, lone surrogates included (they are encoded with surrogatepass below).
any_char = st.characters(exclude_categories=())
nasty_text = st.text(st.one_of(st.sampled_from(SPECIALS), any_char), max_size=200)
cell_text = st.text(st.one_of(st.sampled_from(SPECIALS), any_char), max_size=12)


@st.composite
def delimited_text(draw: st.DrawFn) -> str:
    """Text shaped like a delimited file: rows of cells joined by a delimiter and newlines."""
    delim = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    rows = draw(st.lists(st.lists(cell_text, min_size=0, max_size=6), min_size=0, max_size=6))
    return newline.join(delim.join(r) for r in rows) + draw(st.sampled_from(["", newline]))


def encode(value: str, encoding: str) -> bytes:
    """``value`` in ``encoding``, keeping what can be kept (surrogates pass, others replaced)."""
    errors = "surrogatepass" if encoding.startswith("utf") else "replace"
    try:
        return value.encode(encoding, errors)
    except UnicodeEncodeError:
        return value.encode(encoding, "replace")


any_bytes = st.binary(max_size=400)
text_bytes = st.builds(encode, st.one_of(nasty_text, delimited_text()),
                       st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))


def consume(table: Table) -> list[tuple[int, list[str | None] | RowShapeError]]:
    """Check the shape of every row of ``table`` and return them."""
    assert isinstance(table, Table)
    assert isinstance(table.header, list) and all(isinstance(h, str) for h in table.header)
    rows = list(table.rows)
    numbers = [n for n, _ in rows]
    assert all(type(n) is int for n in numbers)
    assert numbers == list(range(1, len(rows) + 1)), "rows are numbered 1, 2, 3, ..."
    for _, cells in rows:
        if isinstance(cells, RowShapeError):
            assert isinstance(cells.reason, str) and cells.reason
            assert isinstance(cells.raw, dict)
            continue
        assert isinstance(cells, list)
        assert len(cells) == len(table.header)
        assert all(c is None or (isinstance(c, str) and c != "") for c in cells)
    return rows


def reads_or_refuses(reader: Reader, data: bytes) -> None:
    """The reader's contract: a well-formed table, or InvalidFile; nothing else escapes."""
    try:
        table = reader(io.BytesIO(data))
        consume(table)
    except InvalidFile as exc:
        assert exc.message and exc.code == "invalid_file" and exc.status == 422
        assert all(isinstance(d, FieldError) for d in exc.details)


def csv_reader(encoding: str, delimiter: str | None) -> Reader:
    return lambda stream: read_csv(stream, encoding=encoding, delimiter=delimiter)


# -- CSV -------------------------------------------------------------------------------------


@PROPS
@given(data=st.one_of(any_bytes, text_bytes), encoding=st.sampled_from(ENCODINGS),
       delimiter=st.sampled_from(DELIMITERS))
def test_read_csv_reads_or_refuses_any_bytes(data: bytes, encoding: str,
                                             delimiter: str | None) -> None:
    reads_or_refuses(csv_reader(encoding, delimiter), data)


@PROPS
@given(value=st.one_of(nasty_text, delimited_text()), encoding=st.sampled_from(ENCODINGS),
       delimiter=st.sampled_from(DELIMITERS))
def test_read_csv_reads_or_refuses_any_text(value: str, encoding: str,
                                            delimiter: str | None) -> None:
    reads_or_refuses(csv_reader(encoding, delimiter), encode(value, encoding))


header_name = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCXYZ_0123456789"),
                      min_size=1, max_size=8)
# Cells may hold anything csv.writer can write except NUL, surrogates (not encodable) included.
roundtrip_cell = st.text(
    st.one_of(st.sampled_from([c for c in SPECIALS if c not in ("\x00", "\udcff", "\ud800")]),
              st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
    max_size=15,
)


@st.composite
def csv_tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = draw(st.lists(header_name, min_size=1, max_size=6, unique=True))
    rows = draw(st.lists(st.lists(roundtrip_cell, min_size=len(header), max_size=len(header)),
                         max_size=8))
    return header, rows


@PROPS
@given(table=csv_tables(), delimiter=st.sampled_from([",", ";", "\t", "|"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]), sniff=st.booleans())
def test_csv_round_trip(table: tuple[list[str], list[list[str]]], delimiter: str,
                        encoding: str, sniff: bool) -> None:
    header, rows = table
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)
    # The delimiter can only be sniffed from a header that has at least two columns.
    given_delimiter = None if sniff and len(header) > 1 else delimiter
    read = read_csv(io.BytesIO(data), encoding=encoding, delimiter=given_delimiter)
    assert read.header == header
    got = consume(read)
    # A one-column row whose only cell is empty is written as '""', which reads back as a blank
    # line and is skipped, like every blank line: the only rows that cannot survive the trip.
    expected = [[c if c != "" else None for c in r] for r in rows if r != [""]]
    assert [cells for _, cells in got] == expected


# -- JSON and JSON lines -----------------------------------------------------------------------



def _no_surrogate(value: str) -> bool:
    return not any("\ud800" <= c <= "\udfff" for c in value)


json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                        nasty_text.filter(_no_surrogate))
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)
json_records = st.lists(st.dictionaries(st.sampled_from(HEADER[:6] + ["extra", ""]),
                                        json_value, max_size=5) | json_value, max_size=6)


@st.composite
def json_documents(draw: st.DrawFn) -> bytes:
    """A JSON document, often well-formed, sometimes truncated or with its bytes damaged."""
    records = draw(json_records)
    shape = draw(st.sampled_from(["list", "records", "data", "value"]))
    doc: object = {"list": records, "records": {"records": records},
                   "data": {"data": records}, "value": draw(json_value)}[shape]
    raw = json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8")
    cut = draw(st.integers(0, len(raw)))
    return draw(st.sampled_from([raw, raw[:cut], b"\xef\xbb\xbf" + raw, raw + b"\x00"]))


@st.composite
def jsonl_documents(draw: st.DrawFn) -> bytes:
    lines = [json.dumps(r, ensure_ascii=draw(st.booleans())) for r in draw(json_records)]
    lines += draw(st.lists(st.sampled_from(["", "   ", "{", "[1,2]", '"x"', "{\"a\": 1"]),
                           max_size=3))
    order = draw(st.permutations(lines))
    raw = draw(st.sampled_from(["\n", "\r\n"])).join(order).encode("utf-8")
    cut = draw(st.integers(0, len(raw)))
    return draw(st.sampled_from([raw, raw[:cut], b"\xef\xbb\xbf" + raw]))


@PROPS
@given(data=st.one_of(any_bytes, text_bytes, json_documents()))
def test_read_json_reads_or_refuses(data: bytes) -> None:
    reads_or_refuses(read_json, data)


@PROPS
@given(data=st.one_of(any_bytes, text_bytes, jsonl_documents()))
def test_read_jsonl_reads_or_refuses(data: bytes) -> None:
    reads_or_refuses(read_jsonl, data)


@FEW
@given(records=st.lists(st.dictionaries(st.sampled_from(HEADER), st.text(max_size=10),
                                        min_size=1, max_size=5), min_size=1, max_size=5))
def test_jsonl_keeps_records_of_the_header(records: list[dict[str, str]]) -> None:
    """Every record whose keys were seen in the first records reads back cell for cell."""
    raw = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode("utf-8")
    table = read_jsonl(io.BytesIO(raw))
    rows = consume(table)
    assert len(rows) == len(records)
    for (_, cells), record in zip(rows, records, strict=True):
        assert not isinstance(cells, RowShapeError)
        assert dict(zip(table.header, cells, strict=True)) == {
            h: (record.get(h) or None) for h in table.header
        }


def test_jsonl_value_with_unicode_line_separator_stays_one_record() -> None:
    """U+2028, U+0085 are legal inside JSON strings: they must not split a JSON line."""
    records = [{"record_id": "A\u2028B", "prs_FirstName": "x\x85y"}, {"record_id": "C"}]
    raw = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode("utf-8")
    rows = consume(read_jsonl(io.BytesIO(raw)))
    assert [cells for _, cells in rows] == [["A\u2028B", "x\x85y"], ["C", None]]


# -- XLSX ------------------------------------------------------------------------------------


def _workbook_bytes() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for r in GOOD_ROWS:
        sheet.append(r)
    sheet.append([1, 2.5, True, None, "=A1"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


WORKBOOK = _workbook_bytes()
with zipfile.ZipFile(io.BytesIO(WORKBOOK)) as _zip:
    WORKBOOK_ENTRIES = {name: _zip.read(name) for name in _zip.namelist()}


def test_the_sample_workbook_reads() -> None:
    rows = consume(read_xlsx(io.BytesIO(WORKBOOK)))
    assert len(rows) == len(GOOD_ROWS) + 1


@st.composite
def damaged_workbooks(draw: st.DrawFn) -> bytes:
    """The sample workbook truncated, with bytes flipped, or with bytes cut out."""
    data = bytearray(WORKBOOK)
    kind = draw(st.sampled_from(["truncate", "flip", "cut"]))
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] = draw(st.integers(0, 255))
        return bytes(data)
    start = draw(st.integers(0, len(data) - 1))
    return bytes(data[:start] + data[start + draw(st.integers(1, 64)):])


@st.composite
def rezipped_workbooks(draw: st.DrawFn) -> bytes:
    """A valid ZIP whose parts are damaged: XML truncated, bytes changed, a part left out."""
    entries = dict(WORKBOOK_ENTRIES)
    name = draw(st.sampled_from(sorted(entries)))
    content = entries[name]
    kind = draw(st.sampled_from(["truncate", "flip", "drop", "replace", "text"]))
    if kind == "truncate":
        entries[name] = content[: draw(st.integers(0, len(content)))]
    elif kind == "flip":
        changed = bytearray(content)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, max(len(changed) - 1, 0)))
            if changed:
                changed[at] = draw(st.sampled_from(b"<>/\"'=&;0123456789 azAZ\x00\xff"))
        entries[name] = bytes(changed)
    elif kind == "drop":
        del entries[name]
    elif kind == "replace":
        entries[name] = draw(st.binary(max_size=200))
    else:
        # Change a value inside the XML (a cell reference, a number, a count, an index).
        pattern = re.compile(rb'"[^"]{0,12}"|>[^<]{0,12}<')
        matches = list(pattern.finditer(content))
        if matches:
            match = draw(st.sampled_from(matches))
            inner = draw(st.sampled_from([b"", b"-1", b"99999999", b"A0", b"ZZZZZ1", b"x",
                                          b"1E400", b"&bad;", b"\xff", b"1048577"]))
            wrapped = match.group()[:1] + inner + match.group()[-1:]
            entries[name] = content[: match.start()] + wrapped + content[match.end():]
    return rezip(entries)


def rezip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for part, body in entries.items():
            out.writestr(part, body)
    return buffer.getvalue()


def xlsx_reads_or_refuses(data: bytes) -> None:
    reads_or_refuses(read_xlsx, data)


@PROPS
@given(data=st.one_of(any_bytes, damaged_workbooks()))
def test_read_xlsx_reads_or_refuses_damaged_bytes(data: bytes) -> None:
    xlsx_reads_or_refuses(data)


@PROPS
@given(data=rezipped_workbooks())
def test_read_xlsx_reads_or_refuses_damaged_parts(data: bytes) -> None:
    xlsx_reads_or_refuses(data)


# -- validation ------------------------------------------------------------------------------

COLUMNS = list(synth.COLUMNS)
VALIDATOR = RowValidator(load_profile("htcds"), COLUMNS, file_label="props.csv")

interesting_cells = st.sampled_from([
    "", " ", "R-1", "2021-05-01", "2021-5-1", "1998", "1998-07", "1998-13", "2999-01-01",
    "1899-12-31", "31/12/2020", "31.12.2020", "2020-02-30", "2021-05-01T10:00:00", "0001",
    "9999", "12", "-1", "12.0", "1e3", "inf", "nan", "1" * 30, "true", "no", "x", "RO", "ROU",
    "Romania", "RO;MD", ";;", "RO;Atlantis", "Feminine", "Victim", "Perpetrator", "Active",
    "DebtBondage;WithholdsDocuments", "SexualExploitation", "x" * 600, "\x00", "\ud800",
])
cell = st.one_of(st.none(), interesting_cells, cell_text)


@PROPS
@given(cells=st.lists(cell, min_size=len(COLUMNS), max_size=len(COLUMNS)),
       number=st.integers(1, 10**7))
def test_row_validator_check_never_raises(cells: list[str | None], number: int) -> None:
    record, errors = VALIDATOR.check(number, cells)
    assert isinstance(record, dict) and isinstance(errors, list)
    for error in errors:
        assert isinstance(error, FieldError) and error.reason
        assert error.row == number
        assert error.field is None or error.field in COLUMNS
    if not errors:
        assert record.get("record_id")


# -- the import pipeline -----------------------------------------------------------------------

COUNTED = ["organisation", "case_file", "person", "person_code", "trafficking_event",
           "referral", "consent"]


@pytest.fixture(scope="module")
def e2e_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("props-store")
    opened = open_store(Settings(data_dir=folder))
    # One key file for the module's store (the per-test default would change under it).
    opened.keys = FileKeyProvider.open_or_create(folder / "keys" / "keys.json")  # type: ignore[attr-defined]
    yield opened
    opened.close()


def _counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED}


def _import_bytes(store: Store, data: bytes, suffix: str, **options: object) -> str:
    before = _counts(store)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        report = import_file(store.engine, path, ImportOptions(
            keys=store.keys, **options))  # type: ignore[arg-type, attr-defined]
    assert report.status in ("committed", "partial", "rejected")
    assert report.rows_read >= report.rejected
    if report.status == "rejected":
        assert report.inserted == report.updated == 0
        assert report.message and report.errors
        assert _counts(store) == before, "a rejected import must commit nothing"
    return report.status


@E2E
@given(data=st.one_of(any_bytes, text_bytes, damaged_workbooks()),
       suffix=st.sampled_from([".csv", ".json", ".jsonl", ".xlsx", ".tsv", ".bin"]))
def test_import_file_reports_instead_of_raising(e2e_store: Store, data: bytes,
                                                suffix: str) -> None:
    _import_bytes(e2e_store, data, suffix)


@E2E
@given(rows=st.lists(st.lists(cell, min_size=len(COLUMNS), max_size=len(COLUMNS)),
                     min_size=1, max_size=4),
       skip=st.booleans())
def test_import_of_random_htcds_rows_is_all_or_nothing(
    e2e_store: Store, rows: list[list[str | None]], skip: bool
) -> None:
    cells = [[c.replace("\x00", "").encode("utf-8", "replace").decode() if c else ""
              for c in r] for r in rows]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(cells)
    status = _import_bytes(e2e_store, buffer.getvalue().encode("utf-8"), ".csv",
                           skip_bad_rows=skip, organisation="Props Org")
    if not skip:
        assert status in ("committed", "rejected")


# -- regression tests for inputs that once escaped as other exceptions ------------------------


def _raises_only_invalid_file(reader: Reader, data: bytes) -> None:
    reads_or_refuses(reader, data)


def test_json_huge_integer_is_invalid_file() -> None:
    _raises_only_invalid_file(read_json, b"[" + b"1" * 5000 + b"]")


def test_json_deep_nesting_is_invalid_file() -> None:
    _raises_only_invalid_file(read_json, b"[" * 100_000)


def test_jsonl_huge_integer_is_a_bad_row() -> None:
    _raises_only_invalid_file(read_jsonl, b'{"a": 1}\n' + b"1" * 5000 + b"\n")


def test_jsonl_deep_nesting_is_a_bad_row() -> None:
    _raises_only_invalid_file(read_jsonl, b'{"a": 1}\n' + b"[" * 100_000 + b"\n")


def test_csv_idna_data_row_is_invalid_file() -> None:
    _raises_only_invalid_file(csv_reader("idna", None), b"a,b\nxn--zz-!!,1\n")


@pytest.mark.parametrize("data", [b"\x00\x00", b"a\x00,\x00b\x00\n\x00", b"\x00"])
def test_utf16_without_bom_is_invalid_file(data: bytes) -> None:
    """UTF-16 without a BOM raised a bare UnicodeError from the header read (fixed)."""
    with pytest.raises(InvalidFile, match="header is not valid utf-16"):
        consume(read_csv(io.BytesIO(data), encoding="utf-16"))


@pytest.mark.parametrize("value", ["0000", "0000-05"])
def test_year_zero_is_a_cell_error(value: str) -> None:
    cells: list[str | None] = [None] * len(COLUMNS)
    cells[0] = "R-1"
    cells[COLUMNS.index("prs_Birthdate")] = value
    _, errors = VALIDATOR.check(1, cells)
    assert [e.field for e in errors] == ["prs_Birthdate"]


def test_overflowing_number_is_a_cell_error() -> None:
    cells: list[str | None] = [None] * len(COLUMNS)
    cells[0] = "R-1"
    cells[COLUMNS.index("vic_AgeWhenTrafficked")] = "1.5e999"
    _, errors = VALIDATOR.check(1, cells)
    assert [e.field for e in errors] == ["vic_AgeWhenTrafficked"]


def test_import_with_year_zero_is_reported(e2e_store: Store) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerow(["R-1", *GOOD_ROWS[0][1:6], "0000", *GOOD_ROWS[0][7:]])
    assert _import_bytes(e2e_store, buffer.getvalue().encode(), ".csv") == "rejected"


def _workbook_with(part: str, body: bytes) -> bytes:
    return rezip({**WORKBOOK_ENTRIES, part: body})


def _garbled_deflate_workbook() -> bytes:
    with zipfile.ZipFile(io.BytesIO(WORKBOOK)) as book:
        info = book.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(WORKBOOK)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start:start + info.compress_size] = b"\xff" * info.compress_size
    return bytes(data)


def _sheet_cut_after_row(n: int) -> bytes:
    sheet = WORKBOOK_ENTRIES["xl/worksheets/sheet1.xml"]
    ends = [m.end() for m in re.finditer(rb"</row>", sheet)]
    return _workbook_with("xl/worksheets/sheet1.xml", sheet[: ends[n - 1] + 3])


XLSX_BUGS = {
    # readers.read_xlsx only catches (BadZipFile, KeyError, OSError, ValueError) around
    # load_workbook, and nothing around the lazy iteration of the rows.
    "deflate stream damaged -> zlib.error": (_garbled_deflate_workbook, zlib.error),
    "workbook.xml not XML -> ParseError": (
        lambda: _workbook_with("xl/workbook.xml", b"<not xml"), ET.ParseError),
    "no worksheet -> IndexError (worksheets[0])": (
        lambda: _workbook_with("xl/workbook.xml", re.sub(
            rb"<sheet [^>]*/>", b"", WORKBOOK_ENTRIES["xl/workbook.xml"])), IndexError),
    "non-numeric sheetId -> TypeError": (
        lambda: _workbook_with("xl/workbook.xml", WORKBOOK_ENTRIES["xl/workbook.xml"].replace(
            b'sheetId="1"', b'sheetId="x"')), TypeError),
    "sheet XML truncated after row 2 -> ParseError while iterating": (
        lambda: _sheet_cut_after_row(2), ET.ParseError),
    "cell reference ZZZZZ3 -> ValueError while iterating": (
        lambda: _workbook_with("xl/worksheets/sheet1.xml", WORKBOOK_ENTRIES[
            "xl/worksheets/sheet1.xml"].replace(b'r="A3"', b'r="ZZZZZ3"')), ValueError),
}


@pytest.mark.parametrize("case", sorted(XLSX_BUGS))
def test_xlsx_damage_is_invalid_file(case: str) -> None:
    make, _escaped_before = XLSX_BUGS[case]
    reads_or_refuses(read_xlsx, make())


def test_import_of_damaged_xlsx_is_reported(e2e_store: Store) -> None:
    data = _workbook_with("xl/workbook.xml", b"<not xml")
    assert _import_bytes(e2e_store, data, ".xlsx") == "rejected"
