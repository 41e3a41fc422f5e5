"""UK consolidated list (OFSI ``ConList.csv``; also the FCDO ``UK-Sanctions-List.csv`` headers).

Built from the publishers' column documentation; NOT checked against a real file (none under
the size limit was available offline). One row per name; rows are grouped by ``Group ID`` (or
``Unique ID``). ``Name 6`` is the family or entity name, ``Name 1``..``Name 5`` the other parts;
``Alias Type`` (``Primary name`` or an alias), ``Alias Quality`` (``Low`` -> weak);
``Name Non-Latin Script`` -> original-script name; ``DOB`` as ``dd/mm/yyyy`` with ``00`` for
unknown parts; ``Nationality``; ``Passport Number``; ``National Identification Number``;
``Group Type`` (Individual / Entity / Ship). A first line ``Last Updated,<date>`` is skipped.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from maillon.core.errors import FieldError, InvalidFile
from maillon.screen.entity import BirthDate, Entity, Identifier, ListData
from maillon.screen.normalise import script_of
from maillon.screen.sources.common import country_code, read_text, sha256_files

LIST_ID = "gb_hmt_sanctions"
TITLE = "UK consolidated list of financial sanctions targets"
URLS: tuple[str, ...] = ()
FILES = ("ConList.csv", "UK-Sanctions-List.csv")


def _dob(text: str) -> BirthDate | None:
    bits = text.strip().split("/")
    if len(bits) != 3 or not all(b.isdigit() for b in bits):
        return None
    day, month, year = (int(b) for b in bits)
    if not 1000 <= year <= 2999:
        return None
    return BirthDate(year, month or None, (day or None) if month else None)


def load(paths: list[Path]) -> ListData:
    (path,) = paths
    lines = read_text(path, ("utf-8", "cp1252")).splitlines()
    if lines and lines[0].lower().startswith("last updated"):
        version = lines[0].split(",", 1)[-1].strip()
        lines = lines[1:]
    else:
        version = "unknown"
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = set(reader.fieldnames or [])
    id_col = "Group ID" if "Group ID" in header else "Unique ID"
    if id_col not in header or "Name 6" not in header:
        raise InvalidFile(f"{path.name}: not a UK consolidated list (no Group ID / Name 6)",
                          [FieldError(reason="unexpected header", field=path.name)])
    entities: dict[str, Entity] = {}
    for row in reader:
        key = (row.get(id_col) or "").strip()
        if not key:
            continue
        group = (row.get("Group Type") or "").strip().lower()
        schema = {"individual": "Person", "ship": "Vessel"}.get(group, "Organization")
        entity = entities.setdefault(key, Entity(id=key, schema=schema))
        parts = [(row.get(f"Name {i}") or "").strip() for i in (1, 2, 3, 4, 5, 6)]
        whole = " ".join(p for p in parts if p)
        alias_type = (row.get("Alias Type") or "").lower()
        kind = "primary" if alias_type.startswith("primary name") and not any(
            n.kind == "primary" for n in entity.names) else "alias"
        if (row.get("Alias Quality") or "").strip().lower() == "low":
            kind = "weak"
        entity.add_name(whole, kind)
        non_latin = (row.get("Name Non-Latin Script") or "").strip()
        if non_latin:
            entity.add_name(non_latin, "original", script_of(non_latin))
        parsed = _dob(row.get("DOB") or "")
        if parsed is not None and parsed not in entity.birth_dates:
            entity.birth_dates.append(parsed)
        code = country_code(row.get("Nationality"))
        if code and code not in entity.nationalities:
            entity.nationalities.append(code)
        code = country_code(row.get("Country"))
        if code and code not in entity.countries:
            entity.countries.append(code)
        for col, kind_id in (("Passport Number", "Passport"),
                             ("National Identification Number", "National ID")):
            value = (row.get(col) or "").strip()
            if value and Identifier(value, kind_id) not in entity.identifiers:
                entity.identifiers.append(Identifier(value, kind_id))
    found = [e for e in entities.values() if e.names]
    return ListData(LIST_ID, version, found, [path.name], sha256_files(paths))
