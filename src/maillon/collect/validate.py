"""Validation: one source row (text cells) -> one canonical record, or the list of its errors.

A profile is compiled once against the file's header into a list of per-column converters, so
checking a row is a loop of dictionary look-ups and C-level parses (``date.fromisoformat``),
which is what lets a million rows validate in seconds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from maillon.collect.fields import FIELDS, FieldSpec
from maillon.collect.profiles import FLAG_VOCABULARIES, ColumnMap, Profile
from maillon.core.errors import FieldError, InvalidInput
from maillon.vocab import api as vocab

Record = dict[str, Any]
"""Canonical record: field key -> converted value (str, int, bool, date, PartialDate, list)."""

EARLIEST = dt.date(1900, 1, 1)
_YEAR = re.compile(r"^\d{4}$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True)
class PartialDate:
    """A date known to the year, month or day: ``PartialDate(date(1994, 1, 1), "year")``."""

    value: dt.date
    precision: str


class CellError(ValueError):
    """A cell's value is not acceptable; the message is the reason shown to the user."""


def _parse_date(text: str, date_format: str | None) -> dt.date:
    try:
        if date_format:
            return dt.datetime.strptime(text, date_format).date()
        if len(text) > 10 and text[10] in "T ":
            text = text[:10]
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    for fmt in ("%d/%m/%Y", "%d.%m.%Y"):
        if date_format is None and len(text) == 10:
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    hint = date_format or "YYYY-MM-DD"
    raise CellError(f"not a valid date (expected {hint})")


_TODAY = [dt.date.today()]


def _check_range(value: dt.date) -> dt.date:
    if value < EARLIEST:
        raise CellError("date before 1900")
    if value > _TODAY[0]:
        raise CellError("date in the future")
    return value


_CACHE_LIMIT = 50_000
"""Distinct values remembered per column by :func:`_memoised` (codes, countries, dates repeat)."""


def _memoised(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """``convert`` with its successful results remembered, up to :data:`_CACHE_LIMIT` values.

    Only for converters of coded, country, date and yes/no cells, whose results are immutable
    and whose distinct values are few; never for free text (names would pile up in memory).
    A value that fails is converted again each time, so every bad row gets its own error.
    """
    cache: dict[str, Any] = {}

    def cached(value: str) -> Any:
        found = cache.get(value, cache)
        if found is not cache:
            return found
        result = convert(value)
        if len(cache) < _CACHE_LIMIT:
            cache[value] = result
        return result

    return cached


def _converter(spec: FieldSpec, cmap: ColumnMap | None) -> Callable[[str], Any]:
    convert = _plain_converter(spec, cmap)
    if spec.kind in ("text", "int"):
        return convert
    return _memoised(convert)


def _plain_converter(spec: FieldSpec, cmap: ColumnMap | None) -> Callable[[str], Any]:
    kind = spec.kind
    date_format = cmap.date_format if cmap else None
    if kind == "text":
        limit = spec.max_length

        def text(value: str) -> str:
            if len(value) > limit:
                raise CellError(f"longer than {limit} characters")
            return value

        return text
    if kind == "int":
        lo, hi = spec.minimum, spec.maximum

        def integer(value: str) -> int:
            try:
                number = int(float(value)) if "." in value else int(value)
            except (ValueError, OverflowError):
                raise CellError("not a whole number") from None
            if (lo is not None and number < lo) or (hi is not None and number > hi):
                raise CellError(f"out of range {lo}..{hi}")
            return number

        return integer
    if kind == "bool":
        truthy = {"1", "true", "yes", "y", "oui", "x"}
        falsy = {"0", "false", "no", "n", "non"}

        def boolean(value: str) -> bool:
            low = value.lower()
            if low in truthy:
                return True
            if low in falsy:
                return False
            raise CellError("not a yes/no value (use true or false)")

        return boolean
    if kind == "date":
        return lambda value: _check_range(_parse_date(value, date_format))
    if kind == "partial_date":

        def partial(value: str) -> PartialDate:
            if _YEAR.match(value):
                if int(value) < EARLIEST.year:
                    raise CellError("date before 1900")
                return PartialDate(_check_range(dt.date(int(value), 1, 1)), "year")
            match = _YEAR_MONTH.match(value)
            if match:
                year, month = int(match[1]), int(match[2])
                if not 1 <= month <= 12:
                    raise CellError("not a valid month")
                if year < EARLIEST.year:
                    raise CellError("date before 1900")
                return PartialDate(_check_range(dt.date(year, month, 1)), "month")
            return PartialDate(_check_range(_parse_date(value, date_format)), "day")

        return partial
    if kind in ("code", "codes"):
        name = spec.vocabulary or ""
        voc = vocab.get(name)

        def code(value: str) -> str:
            found = voc.resolve(value)
            if found is None:
                raise CellError(f"unknown code for list {name}")
            return found

        return code
    if kind in ("country", "countries"):

        def country(value: str) -> str:
            found = vocab.country(value)
            if found is None:
                raise CellError("unknown country (use ISO 3166 alpha-2/alpha-3 or its name)")
            return found

        return country
    raise ValueError(f"unhandled kind {kind}")


@dataclass(frozen=True)
class _Column:
    index: int
    name: str
    field: str
    multi: bool
    split: str
    values: dict[str, str]
    convert: Callable[[str], Any]


@dataclass(frozen=True)
class _Flag:
    index: int
    name: str
    field: str
    code: str


class RowValidator:
    """A profile compiled against one header; :meth:`check` validates one row's cells."""

    def __init__(self, profile: Profile, header: list[str], *, file_label: str) -> None:
        self.profile = profile
        self.file_label = file_label
        _TODAY[0] = dt.date.today()
        positions = {name: i for i, name in enumerate(header)}
        self.columns: list[_Column] = []
        for cmap in profile.columns:
            if cmap.column not in positions:
                continue
            spec = FIELDS[cmap.field]
            self.columns.append(
                _Column(
                    index=positions[cmap.column],
                    name=cmap.column,
                    field=cmap.field,
                    multi=spec.kind in ("codes", "countries"),
                    split=cmap.split,
                    values=cmap.values,
                    convert=_converter(spec, cmap),
                )
            )
        self._plan = tuple(
            (c.index, c.name, c.field, c.multi, c.split, c.values or None, c.convert)
            for c in self.columns
        )
        self.flags = [
            _Flag(positions[f.column], f.column, f.field, f.code)
            for f in profile.flags
            if f.column in positions
        ]
        self._check_flag_codes()
        mapped = {c.field for c in self.columns}
        if profile.record_id_template is None and "record_id" not in mapped:
            column = next(c.column for c in profile.columns if c.field == "record_id")
            raise InvalidInput(
                f"the file has no column {column!r}, which holds the record id in profile "
                f"{profile.name!r}",
                [FieldError(field=column, reason="required column missing")],
            )
        if not self.columns and not self.flags:
            raise InvalidInput(
                f"no column of the file is known to profile {profile.name!r}; "
                f"header starts with {header[:5]}",
                [FieldError(reason="no mapped column")],
            )
        self.unmapped = [h for h in header if h and h not in profile.source_columns()]
        self.defaults = {
            key: _converter(FIELDS[key], None)(value)
            for key, value in profile.defaults.items()
            if value
        }
        self.true_values = profile.true_values

    def _check_flag_codes(self) -> None:
        for flag in self.flags:
            vocabulary = FLAG_VOCABULARIES.get(flag.field) or FIELDS[flag.field].vocabulary or ""
            if vocab.get(vocabulary).resolve(flag.code) is None:
                raise InvalidInput(
                    f"profile {self.profile.name!r}: flag {flag.name!r} adds unknown code "
                    f"{flag.code!r} to list {vocabulary}",
                    [FieldError(field=flag.name, value=flag.code, reason="unknown code")],
                )

    def check(self, number: int, cells: list[str | None]) -> tuple[Record, list[FieldError]]:
        """The canonical record for one row and the errors found (empty if the row is good)."""
        record: Record = dict(self.defaults)
        errors: list[FieldError] = []
        # Tuple unpacking instead of attribute access: this loop runs for every cell.
        for index, name, key, multi, split, values, convert in self._plan:
            raw = cells[index]
            if raw is None:
                continue
            value = raw.strip()
            if not value:
                continue
            if multi:
                out: list[Any] = []
                for part in value.split(split):
                    part = part.strip()
                    if values:
                        part = values.get(part.casefold(), part)
                    if not part:
                        continue
                    try:
                        converted = convert(part)
                    except CellError as exc:
                        errors.append(FieldError(str(exc), name, number, part))
                        continue
                    if converted not in out:
                        out.append(converted)
                if out:
                    record[key] = out
                continue
            if values:
                value = values.get(value.casefold(), value)
                if not value:
                    continue
            try:
                record[key] = convert(value)
            except CellError as exc:
                errors.append(FieldError(str(exc), name, number, value))
        for flag in self.flags:
            raw = cells[flag.index]
            if raw is not None and raw.strip().lower() in self.true_values:
                record.setdefault(flag.field, [])
                if flag.code not in record[flag.field]:
                    record[flag.field].append(flag.code)
        if self.profile.record_id_template is not None:
            record["record_id"] = self.profile.record_id_template.format(
                file=self.file_label, row=number
            )
        elif "record_id" not in record:
            column = next(c.name for c in self.columns if c.field == "record_id")
            errors.append(FieldError("required value missing", column, number))
        self._cross_checks(number, record, errors)
        return record, errors

    def _cross_checks(self, number: int, record: Record, errors: list[FieldError]) -> None:
        for stage in ("recruitment", "transit", "exploitation"):
            start = record.get(f"event.{stage}.date_from")
            end = record.get(f"event.{stage}.date_to")
            if isinstance(start, PartialDate) and isinstance(end, PartialDate):
                if end.value < start.value:
                    errors.append(
                        FieldError(
                            f"{stage} ends before it starts",
                            self.column_for(f"event.{stage}.date_to"),
                            number,
                            end.value.isoformat(),
                        )
                    )
        birth = record.get("person.birth_date")
        registered = record.get("case.registration_date")
        if isinstance(birth, PartialDate) and isinstance(registered, PartialDate):
            if registered.value.year < birth.value.year:
                errors.append(
                    FieldError(
                        "born after the case was registered",
                        self.column_for("person.birth_date"),
                        number,
                        birth.value.isoformat(),
                    )
                )

    def column_for(self, key: str) -> str:
        """The source column mapped onto canonical field ``key`` (``key`` itself if none)."""
        return next((c.name for c in self.columns if c.field == key), key)
