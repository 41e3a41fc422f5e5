"""OFAC SDN legacy CSV files: ``sdn.csv`` (+ ``alt.csv``, ``add.csv``, ``sdn_comments.csv``).

No header; ``-0-`` means empty; Latin-1 (Windows-1252) text. ``sdn.csv`` columns: ent_num,
SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner,
Remarks. ``alt.csv``: ent_num, alt_num, alt_type (aka/fka/nka), alt_name, alt_remarks.
``add.csv``: ent_num, add_num, address, city/state/postal, country, add_remarks.
``sdn_comments.csv``: ent_num, remarks continuation. Dates of birth, nationalities and
identifiers are read from the remarks (``DOB 10 Dec 1948; nationality Iraq; Passport 123 (Egypt)``).
Individual names are written ``LAST, First``; the loader also keeps them in ``First LAST`` order.
"""

from __future__ import annotations

import re
from pathlib import Path

from maillon.core.errors import FieldError, InvalidFile
from maillon.screen.entity import BirthDate, Entity, Identifier, ListData
from maillon.screen.sources.common import country_code, csv_rows, read_text, sha256_files

LIST_ID = "us_ofac_sdn"
TITLE = "US OFAC Specially Designated Nationals"
BASE = "https://www.treasury.gov/ofac/downloads/"
URLS = tuple(BASE + f for f in ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"))
FILES = ("ofac-sdn.csv", "ofac-alt.csv", "ofac-add.csv", "ofac-sdn_comments.csv")

_TYPES = {"individual": "Person", "vessel": "Vessel", "aircraft": "Airplane", "": "LegalEntity"}
_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_DOB = re.compile(r"DOB\s+((?:circa\s+)?[^;]+)", re.I)
_NATIONALITY = re.compile(r"(?:nationality|citizen)\s+([^;.]+)", re.I)
_ID = re.compile(r"(Passport|National ID No\.|Cedula No\.|Tax ID No\.|Registration ID|"
                 r"C\.U\.R\.P\.|SSN|Identification Number|IMO|RFC)\s+([A-Z0-9-]{4,})"
                 r"(?:\s+\(([^)]+)\))?", re.I)


def _clean(value: str) -> str:
    value = value.strip()
    return "" if value == "-0-" else value


def parse_dates(text: str) -> list[BirthDate]:
    """``DOB 10 Dec 1948``, ``DOB Dec 1948``, ``DOB 1948``, ``DOB circa 1948``,
    ``DOB 1950 to 1955`` and ``alt. DOB`` variants."""
    found: list[BirthDate] = []
    for match in _DOB.finditer(text):
        value = match.group(1).strip()
        approx = value.lower().startswith("circa")
        value = re.sub(r"(?i)^circa\s+", "", value)
        bits = value.replace(",", " ").split()
        parsed: BirthDate | None = None
        try:
            if len(bits) >= 3 and bits[1][:3].lower() in _MONTHS and bits[0].isdigit():
                parsed = BirthDate(int(bits[2][:4]), _MONTHS[bits[1][:3].lower()], int(bits[0]),
                                   approximate=approx)
            elif len(bits) >= 3 and bits[1].lower() == "to" and bits[0].isdigit():
                parsed = BirthDate(int(bits[0]), year_to=int(bits[2][:4]), approximate=True)
            elif len(bits) >= 2 and bits[0][:3].lower() in _MONTHS:
                parsed = BirthDate(int(bits[1][:4]), _MONTHS[bits[0][:3].lower()],
                                   approximate=approx)
            elif bits and bits[0][:4].isdigit():
                parsed = BirthDate(int(bits[0][:4]), approximate=approx)
        except ValueError:
            parsed = None
        if parsed is not None and parsed not in found:
            found.append(parsed)
    return found


def _reorder(name: str) -> str:
    """``LAST, First`` -> ``First LAST``."""
    if "," in name:
        last, first = name.split(",", 1)
        return f"{first.strip()} {last.strip()}".strip()
    return name


def _enrich(entity: Entity, remarks: str) -> None:
    entity.birth_dates.extend(d for d in parse_dates(remarks) if d not in entity.birth_dates)
    for match in _NATIONALITY.finditer(remarks):
        code = country_code(match.group(1))
        if code and code not in entity.nationalities:
            entity.nationalities.append(code)
    for match in _ID.finditer(remarks):
        ident = Identifier(match.group(2), match.group(1), country_code(match.group(3)))
        if ident not in entity.identifiers:
            entity.identifiers.append(ident)
    for match in re.finditer(r"a\.k\.a\.\s+'([^']+)'", remarks):
        entity.add_name(match.group(1), "weak")


def _find(paths: list[Path], stem: str) -> Path | None:
    for path in paths:
        name = path.name.lower()
        if name.endswith(stem) and not (stem == "sdn.csv" and "comments" in name):
            return path
    return None


def load(paths: list[Path]) -> ListData:
    sdn = _find(paths, "sdn.csv")
    if sdn is None:
        raise InvalidFile("the OFAC SDN list needs sdn.csv",
                          [FieldError(reason="missing sdn.csv", field="files")])
    encodings = ("cp1252", "latin-1")
    entities: dict[str, Entity] = {}
    remarks: dict[str, str] = {}
    for number, row in enumerate(csv_rows(read_text(sdn, encodings), sdn, min_columns=12), 1):
        ent_num = row[0].strip()
        if not ent_num.isdigit():
            raise InvalidFile(f"{sdn.name}: row {number} does not start with an entity number: "
                              "not an OFAC sdn.csv file",
                              [FieldError(reason="not an entity number", row=number,
                                          field="ent_num", value=ent_num[:40])])
        kind = _clean(row[2]).lower()
        schema = _TYPES.get(kind, "LegalEntity")
        entity = Entity(id=ent_num, schema=schema)
        name = _clean(row[1])
        entity.add_name(_reorder(name) if schema == "Person" else name, "primary")
        entity.programs = [p.strip() for p in _clean(row[3]).split("]") if p.strip(" [")]
        entity.programs = [p.strip(" [") for p in entity.programs]
        flag = country_code(_clean(row[9]))
        if flag:
            entity.countries.append(flag)
        remarks[ent_num] = _clean(row[11])
        entities[ent_num] = entity
    comments = _find(paths, "comments.csv")
    if comments is not None:
        for row in csv_rows(read_text(comments, encodings), comments, min_columns=2):
            if row[0].strip() in remarks:
                remarks[row[0].strip()] += _clean(row[1])
    alt = _find(paths, "alt.csv")
    if alt is not None:
        for row in csv_rows(read_text(alt, encodings), alt, min_columns=4):
            found = entities.get(row[0].strip())
            if found is None:
                continue
            kind = {"aka": "alias", "fka": "previous", "nka": "alias"}.get(
                _clean(row[2]).lower(), "alias")
            if "weak" in _clean(row[4] if len(row) > 4 else "").lower():
                kind = "weak"
            value = _clean(row[3])
            found.add_name(_reorder(value) if found.schema == "Person" else value, kind)
    add = _find(paths, "add.csv")
    if add is not None:
        for row in csv_rows(read_text(add, encodings), add, min_columns=5):
            found = entities.get(row[0].strip())
            code = country_code(_clean(row[4]))
            if found is not None and code and code not in found.countries:
                found.countries.append(code)
    for ent_num, entity in entities.items():
        _enrich(entity, remarks.get(ent_num, ""))
    used = [p for p in (sdn, alt, add, comments) if p is not None]
    digest = sha256_files(used)
    return ListData(LIST_ID, f"sha256:{digest[:12]}", list(entities.values()),
                    [p.name for p in used], digest)
