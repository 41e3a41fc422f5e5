"""Reading and normalising the person records the linkage model compares.

Input columns (:data:`INPUT_COLUMNS`): ``record_id, source, given_name, family_name,
birth_date, sex, citizenship``. Values may be empty; extra columns are ignored unless named in
``extra``. :func:`prepare` turns them into the model's columns (:data:`MODEL_COLUMNS`):

* ``given``/``family``: folded names (:func:`maillon.link.names.fold`); ``given_canon`` the
  nickname-canonical given name; ``given_key``/``family_key`` skeletons
  (``given_key`` of the canonical form, so "Tom" and "Thomas" share a key);
  ``full_name`` (``given family``, for term frequencies);
* ``birth_date`` ISO ``YYYY-MM-DD`` when the day is known, ``birth_ym`` ``YYYY-MM`` when the
  month is, ``birth_year`` an integer: ``"1994"``, ``"03/1994"``, ``"12.03.1994"``,
  ``"1994-03-12"``, ``"12 March 1994"``, ``"March 12, 1994"`` are all understood (day first for
  ``dd/mm/yyyy``, as European sources write it);
* ``sex`` ``M``/``F`` from free text (``m``, ``male``, ``masculine``, ``homme``, ``f``,
  ``woman``...), anything else empty;
* ``citizenship`` a sorted list of ISO alpha-2 codes from alpha-2, alpha-3 or English names
  separated by ``;``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from maillon.core.errors import FieldError, InvalidFile, InvalidInput
from maillon.link.names import canonical, fold, skeleton
from maillon.vocab.api import country

INPUT_COLUMNS: tuple[str, ...] = (
    "record_id", "source", "given_name", "family_name", "birth_date", "sex", "citizenship",
)
MODEL_COLUMNS: tuple[str, ...] = (
    "unique_id", "source", "given", "family", "given_canon", "given_key", "family_key",
    "full_name", "birth_date", "birth_ym", "birth_year", "sex", "citizenship",
)

_MONTHS = {
    m: i + 1
    for i, names in enumerate((
        ("jan", "january", "janvier"), ("feb", "february", "fevrier", "février"),
        ("mar", "march", "mars"), ("apr", "april", "avril"), ("may", "mai"),
        ("jun", "june", "juin"), ("jul", "july", "juillet"), ("aug", "august", "aout", "août"),
        ("sep", "sept", "september", "septembre"), ("oct", "october", "octobre"),
        ("nov", "november", "novembre"), ("dec", "december", "decembre", "décembre"),
    ))
    for m in names
}
_ISO = re.compile(r"(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?(?:[T ].*)?")
_DMY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_MY = re.compile(r"(\d{1,2})[-/.](\d{4})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_WORDS = re.compile(r"[a-zéû]+|\d+")

SEX_WORDS: dict[str, str] = {
    "m": "M", "male": "M", "man": "M", "masculine": "M", "boy": "M", "homme": "M",
    "masculin": "M", "h": "M", "1": "M",
    "f": "F", "female": "F", "woman": "F", "feminine": "F", "girl": "F", "femme": "F",
    "féminin": "F", "feminin": "F", "w": "F", "2": "F",
}
"""Free-text sex values understood, lower-cased (``1``/``2`` as in ISO/IEC 5218)."""


class BirthDate:
    """A parsed birth date: ``(year, month or None, day or None)``."""

    __slots__ = ("year", "month", "day")

    def __init__(self, year: int, month: int | None, day: int | None) -> None:
        self.year, self.month, self.day = year, month, day


def _valid(y: int, m: int | None, d: int | None) -> BirthDate | None:
    if not 1000 <= y <= 2100:
        return None
    if m is not None and not 1 <= m <= 12:
        return None
    if d is not None:
        try:
            date(y, m or 1, d)
        except ValueError:
            return None
    return BirthDate(y, m, d)


@lru_cache(maxsize=200_000)
def parse_birth_date(text: str) -> BirthDate | None:
    """Parse common date texts (module docstring); ``None`` when not a date."""
    s = text.strip().lower()
    if (hit := _ISO.fullmatch(s)) is not None:
        y, mo, d = hit.groups()
        return _valid(int(y), int(mo) if mo else None, int(d) if d else None)
    if (hit := _DMY.fullmatch(s)) is not None:
        d, mo, y = hit.groups()
        return _valid(int(y), int(mo), int(d))
    if (hit := _MY.fullmatch(s)) is not None:
        mo, y = hit.groups()
        return _valid(int(y), int(mo), None)
    if (hit := _COMPACT.fullmatch(s)) is not None:
        y, mo, d = hit.groups()
        return _valid(int(y), int(mo), int(d))
    words = _WORDS.findall(s)
    months = [_MONTHS[w] for w in words if w in _MONTHS]
    nums = [int(w) for w in words if w.isdigit()]
    years = [n for n in nums if n >= 1000]
    days = [n for n in nums if n < 100]
    if len(months) == 1 and len(years) == 1 and len(days) <= 1:
        return _valid(years[0], months[0], days[0] if days else None)
    return None


@lru_cache(maxsize=10_000)
def parse_sex(text: str) -> str | None:
    """``M``, ``F`` or ``None`` for unknown/other (see :data:`SEX_WORDS`)."""
    return SEX_WORDS.get(text.strip().lower())


@lru_cache(maxsize=100_000)
def parse_citizenship(text: str) -> tuple[str, ...] | None:
    """Sorted ISO alpha-2 codes of ``;``-separated codes or names; ``None`` if none known."""
    codes = {c for part in text.split(";") if (c := country(part.strip())) is not None}
    return tuple(sorted(codes)) or None


def read_table(path: Path) -> pa.Table:
    """Read a ``.csv`` (UTF-8, all columns as text) or ``.parquet`` file as an Arrow table."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InvalidFile(f"{path}: no such file")
    try:
        if suffix == ".parquet":
            return pq.read_table(path)
        if suffix == ".csv":
            if path.stat().st_size == 0:
                raise InvalidFile(f"{path}: the file is empty (no header)")
            opts = pacsv.ConvertOptions(strings_can_be_null=False, column_types=None)
            header = pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="utf8"),
                                    convert_options=opts).schema.names
            opts = pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                        strings_can_be_null=False)
            return pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="utf8"),
                                  convert_options=opts)
    except InvalidFile:
        raise
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise InvalidFile(f"{path}: cannot be read as {suffix[1:]}: {exc}") from exc
    raise InvalidFile(f"{path}: unsupported file type {suffix!r} (use .csv or .parquet)")


def check_columns(names: Iterable[str], required: Iterable[str] = INPUT_COLUMNS) -> None:
    """Raise :class:`InvalidInput` naming every required column the header lacks."""
    have = set(names)
    missing = [c for c in required if c not in have]
    if missing:
        raise InvalidInput(
            f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            [FieldError(reason="missing column", field=c) for c in missing],
        )


def _text_column(table: pa.Table, name: str) -> np.ndarray:
    """Column ``name`` as an object array of ``str`` or ``None`` (dates as ISO text)."""
    col = table.column(name)
    t = col.type
    if name == "birth_date" and (pa.types.is_date(t) or pa.types.is_timestamp(t)):
        return np.asarray([None if v is None else v.isoformat()[:10] for v in col.to_pylist()],
                          dtype=object)
    if name == "record_id" and pa.types.is_integer(t):
        col = pc.cast(col, pa.string())
    elif not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)):
        raise InvalidInput(
            f"column {name} has type {t}, expected text",
            [FieldError(reason=f"wrong type {t}, expected text", field=name)],
        )
    if pa.types.is_null(t):
        return np.full(len(col), None, dtype=object)
    out: np.ndarray = np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
    return out


def _per_distinct(values: Sequence[Any] | np.ndarray, fn: Callable[[Any], Any]) -> np.ndarray:
    """``[fn(v) if v else None for v in values]`` as an object array, calling ``fn`` once per
    distinct value (names, dates and countries repeat a lot: a million records hold a few
    hundred thousand distinct names)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    out = np.empty(len(uniques) + 1, dtype=object)  # the last cell (code -1) stays None
    for i, v in enumerate(uniques.tolist()):
        out[i] = fn(v) if v else None
    taken: np.ndarray = out[codes]
    return taken


def _birth_columns(text: Sequence[str | None] | np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """``birth_date``, ``birth_ym``, ``birth_year`` columns from birth date texts."""
    def parts(v: str) -> tuple[str | None, str | None, int] | None:
        b = parse_birth_date(v)
        if b is None:
            return None
        return (f"{b.year:04d}-{b.month:02d}-{b.day:02d}" if b.day else None,
                f"{b.year:04d}-{b.month:02d}" if b.month else None, b.year)

    births = _per_distinct(text, parts)
    known = births.astype(bool)
    day = np.full(len(births), None, dtype=object)
    month = np.full(len(births), None, dtype=object)
    year = np.zeros(len(births), dtype=np.int64)
    if known.any():
        got = births[known].tolist()
        day[known] = [b[0] for b in got]
        month[known] = [b[1] for b in got]
        year[known] = [b[2] for b in got]
    return day, month, pd.Series(pd.arrays.IntegerArray(year, ~known))


def prepare(table: pa.Table, *, extra: Iterable[str] = ()) -> pd.DataFrame:
    """Validate ``table`` and return the model's input frame (:data:`MODEL_COLUMNS` + extras).

    Raises :class:`InvalidInput` for a missing column, a column of the wrong type, an empty
    table, or an empty or duplicated ``record_id`` (with the offending rows).
    """
    extra = tuple(extra)
    check_columns(table.schema.names, INPUT_COLUMNS + extra)
    if table.num_rows == 0:
        raise InvalidInput("the input has a header but no records")
    cols = {c: _text_column(table, c) for c in INPUT_COLUMNS}
    ids = cols["record_id"]
    errors = [FieldError(reason="empty record_id", field="record_id", row=i + 1)
              for i, v in enumerate(ids) if not v or not v.strip()]
    if not errors:
        dup = pd.Series(ids, dtype=object).duplicated(keep="first").to_numpy()
        errors = [FieldError(reason="duplicate record_id", field="record_id", row=int(i) + 1,
                             value=str(ids[i])) for i in np.flatnonzero(dup)]
    if errors:
        raise InvalidInput("record_id must be present and unique", errors[:50])
    given = _per_distinct(cols["given_name"], fold)
    family = _per_distinct(cols["family_name"], fold)
    canon = _per_distinct(given, canonical)
    birth_date, birth_ym, birth_year = _birth_columns(cols["birth_date"])
    df = pd.DataFrame({
        "unique_id": [str(v).strip() for v in ids],
        "source": cols["source"],
        "given": given,
        "family": family,
        "given_canon": canon,
        "given_key": _per_distinct(canon, skeleton),
        "family_key": _per_distinct(family, skeleton),
        "full_name": [f"{g} {f}" if g and f else None for g, f in zip(given, family, strict=True)],
        "birth_date": birth_date,
        "birth_ym": birth_ym,
        "birth_year": birth_year,
        "sex": _per_distinct(cols["sex"], parse_sex),
        "citizenship": _per_distinct(
            cols["citizenship"], lambda v: list(c) if (c := parse_citizenship(v)) else None),
    })
    for name in extra:
        df[name] = _per_distinct(_text_column(table, name), fold)
    return df


def read_records(path: Path, *, extra: Iterable[str] = ()) -> pd.DataFrame:
    """:func:`read_table` then :func:`prepare`."""
    return prepare(read_table(path), extra=extra)
