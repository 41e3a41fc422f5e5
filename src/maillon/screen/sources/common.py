"""Helpers shared by the list loaders: safe XML parsing, strict text decoding, countries."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from maillon.core.errors import FieldError, InvalidFile
from maillon.vocab.api import country as _country

_EXTRA_COUNTRIES = {
    "korea, north": "KP", "north korea": "KP", "korea, south": "KR", "palestinian": "PS",
    "palestine": "PS", "gaza": "PS", "west bank": "PS", "kosovo": "XK", "region: crimea": "UA",
    "russia": "RU", "iran": "IR", "syria": "SY", "venezuela": "VE", "bolivia": "BO",
    "burma": "MM", "laos": "LA", "vietnam": "VN", "tanzania": "TZ", "moldova": "MD",
}


def country_code(text: str | None) -> str | None:
    """ISO alpha-2 (lower case) of a country name or code as publishers write it."""
    if not text:
        return None
    text = " ".join(text.split()).strip(" .")
    if not text:
        return None
    code = _country(text) or _EXTRA_COUNTRIES.get(text.lower())
    return code.lower() if code else None


def sha256_files(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def parse_xml(path: Path, *, expect_root: set[str], what: str) -> Any:
    """Parse ``path`` with defusedxml (no entities, no external resources) and check the root.

    Truncated or malformed XML, forbidden constructs and an unexpected root element all raise
    :class:`InvalidFile` with the reason.
    """
    try:
        tree = SafeET.parse(str(path))
    except DefusedXmlException as exc:
        raise InvalidFile(f"{path.name}: refused unsafe XML ({type(exc).__name__})",
                          [FieldError(reason="unsafe XML construct", field=path.name)]) from exc
    except SafeET.ParseError as exc:
        raise InvalidFile(f"{path.name}: not well-formed XML, truncated or corrupt ({exc})",
                          [FieldError(reason=f"XML parse error: {exc}", field=path.name)]
                          ) from exc
    root = tree.getroot()
    local = local_name(root.tag)
    if local not in expect_root:
        raise InvalidFile(
            f"{path.name}: unexpected schema for {what}: root element <{local}>, "
            f"expected {' or '.join(sorted(expect_root))}",
            [FieldError(reason="unexpected root element", field=path.name, value=local)])
    return root


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def read_text(path: Path, encodings: tuple[str, ...] = ("utf-8",)) -> str:
    """The file's text in the first encoding that decodes it strictly; else InvalidFile."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    for encoding in encodings:
        try:
            return raw.decode(encoding).rstrip("\x1a")  # DOS end-of-file mark (OFAC files)
        except UnicodeDecodeError:
            continue
    raise InvalidFile(f"{path.name}: cannot be decoded as {' or '.join(encodings)}",
                      [FieldError(reason="wrong encoding", field=path.name)])


def csv_rows(text: str, path: Path, *, min_columns: int) -> list[list[str]]:
    """All rows of a CSV text; rows shorter than ``min_columns`` mean a wrong file."""
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(c.strip() for c in row)]
    for number, row in enumerate(rows, start=1):
        if len(row) < min_columns:
            raise InvalidFile(
                f"{path.name}: row {number} has {len(row)} columns, expected at least "
                f"{min_columns}: not the expected format",
                [FieldError(reason="unexpected number of columns", row=number,
                            field=path.name)])
    return rows
