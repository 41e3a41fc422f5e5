"""World Bank debarred firms and individuals (JSON of the Bank's procurement API).

Built from the field list OpenSanctions' crawler documents (``response.ZPROCSUPP[]`` with
``SUPP_NAME``, ``SUPP_ID``, ``COUNTRY_NAME``, ``SUPP_ADDR``, ``SUPP_CITY``, ``DEBAR_REASON``,
``DEBAR_FROM_DATE``, ``DEBAR_TO_DATE``); NOT checked against a real file (the API needs a key
and no copy was available offline). Names embed aliases (``a.k.a.``, ``aka``, ``f/k/a``,
``also known as``, ``formerly``, ``d/b/a``, ``name change from``) which are split off, and
trailing ``*`` footnote marks are removed. Every party is a ``LegalEntity``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from maillon.core.errors import FieldError, InvalidFile
from maillon.screen.entity import Entity, ListData
from maillon.screen.sources.common import country_code, read_text, sha256_files

LIST_ID = "worldbank_debarred"
TITLE = "World Bank listing of ineligible firms and individuals"
URLS: tuple[str, ...] = ()
FILES = ("worldbank*.json",)

_SPLIT = re.compile(r"\s*(?:\(|,|;)?\s*\b(?:a\.k\.a\.?|aka|f/k/a|fka|also known as|formerly"
                    r"(?: known as)?|d/b/a|dba|name change from)\b[:\s]*", re.I)


def split_names(raw: str) -> list[str]:
    """``ACME LTD. (a.k.a. ACME TRADING)*`` -> ``["ACME LTD.", "ACME TRADING"]``."""
    pieces = [p.strip(" )(*;,.") for p in _SPLIT.split(raw.strip().rstrip("*"))]
    return [p for p in pieces if p]


def load(paths: list[Path]) -> ListData:
    (path,) = paths
    try:
        data: Any = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InvalidFile(f"{path.name}: not JSON ({exc.msg})",
                          [FieldError(reason="not JSON", field=path.name)]) from exc
    rows = data.get("response", {}).get("ZPROCSUPP") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise InvalidFile(f"{path.name}: no response.ZPROCSUPP array: unexpected schema",
                          [FieldError(reason="unexpected schema", field=path.name)])
    entities: list[Entity] = []
    for row in rows:
        if not isinstance(row, dict) or not row.get("SUPP_NAME"):
            continue
        names = split_names(str(row["SUPP_NAME"]))
        entity = Entity(id=str(row.get("SUPP_ID") or names[0]), schema="LegalEntity",
                        notes=str(row.get("DEBAR_REASON") or "") or None,
                        listed_on=str(row.get("DEBAR_FROM_DATE") or "")[:10] or None)
        for i, name in enumerate(names):
            entity.add_name(name, "primary" if i == 0 else "alias")
        code = country_code(str(row.get("COUNTRY_NAME") or ""))
        if code:
            entity.countries.append(code)
        if entity.names:
            entities.append(entity)
    return ListData(LIST_ID, "sha256:" + sha256_files(paths)[:12], entities, [path.name],
                    sha256_files(paths))
