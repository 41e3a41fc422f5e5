"""UN Security Council Consolidated List XML (``sc-sanctions.xsd``).

Alias quality as OpenSanctions maps it: ``Good`` and ``a.k.a.`` are aliases, ``Low`` a weak
alias, ``f.k.a.`` a previous name; an empty quality is still kept as an alias. Aliases holding
several names separated by ``;`` are split. ``NAME_ORIGINAL_SCRIPT`` is kept as an original-script
name. Dates of birth keep ``EXACT`` / ``APPROXIMATELY`` / ``BETWEEN`` and year-only precision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maillon.screen.entity import BirthDate, Entity, Identifier, ListData
from maillon.screen.normalise import script_of
from maillon.screen.sources.common import country_code, parse_xml, sha256_files

LIST_ID = "un_sc_sanctions"
TITLE = "UN Security Council Consolidated List"
URLS = ("https://scsanctions.un.org/resources/xml/en/consolidated.xml",)
FILES = ("un-consolidated*.xml", "consolidated.xml")

_QUALITY = {"good": "alias", "a.k.a.": "alias", "low": "weak", "f.k.a.": "previous", "": "alias"}


def _text(node: Any, tag: str) -> str:
    child = node.find(tag)
    return " ".join((child.text or "").split()) if child is not None and child.text else ""


def _values(node: Any, tag: str) -> list[str]:
    found = node.find(tag)
    if found is None:
        return []
    return [" ".join(v.text.split()) for v in found.findall("VALUE") if v.text and v.text.strip()]


def _birth_date(node: Any) -> BirthDate | None:
    kind = _text(node, "TYPE_OF_DATE").upper()
    approximate = kind == "APPROXIMATELY"
    date = _text(node, "DATE")
    if date:
        parsed = BirthDate.parse(date)
        if parsed is not None:
            return BirthDate(parsed.year, parsed.month, parsed.day, approximate=approximate)
    year = _text(node, "YEAR")
    if year.isdigit():
        return BirthDate(int(year), approximate=approximate)
    lo, hi = _text(node, "FROM_YEAR"), _text(node, "TO_YEAR")
    if lo.isdigit() and hi.isdigit():
        return BirthDate(int(lo), year_to=int(hi), approximate=True)
    return None


def _entity(node: Any, person: bool) -> Entity | None:
    ref = _text(node, "REFERENCE_NUMBER")
    if not ref:
        return None
    entity = Entity(id=ref, schema="Person" if person else "Organization")
    parts = [_text(node, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
    entity.add_name(" ".join(p for p in parts if p), "primary")
    original = _text(node, "NAME_ORIGINAL_SCRIPT")
    for piece in original.split(";") if original else []:
        entity.add_name(piece, "original", script_of(piece))
    alias_tag = "INDIVIDUAL_ALIAS" if person else "ENTITY_ALIAS"
    for alias in node.findall(alias_tag):
        kind = _QUALITY.get(_text(alias, "QUALITY").lower(), "alias")
        for piece in _text(alias, "ALIAS_NAME").split(";"):
            entity.add_name(piece, kind, script_of(piece))
    if person:
        for dob in node.findall("INDIVIDUAL_DATE_OF_BIRTH"):
            parsed = _birth_date(dob)
            if parsed is not None and parsed not in entity.birth_dates:
                entity.birth_dates.append(parsed)
        for value in _values(node, "NATIONALITY"):
            code = country_code(value)
            if code and code not in entity.nationalities:
                entity.nationalities.append(code)
        for doc in node.findall("INDIVIDUAL_DOCUMENT"):
            number = _text(doc, "NUMBER")
            if number:
                entity.identifiers.append(Identifier(
                    number, _text(doc, "TYPE_OF_DOCUMENT"),
                    country_code(_text(doc, "COUNTRY_OF_ISSUE") or _text(doc, "ISSUING_COUNTRY"))))
        gender = _text(node, "GENDER").lower()
        entity.gender = gender if gender in ("male", "female") else None
    for address in node.findall("INDIVIDUAL_ADDRESS" if person else "ENTITY_ADDRESS"):
        code = country_code(_text(address, "COUNTRY"))
        if code and code not in entity.countries:
            entity.countries.append(code)
    entity.programs = [p for p in [_text(node, "UN_LIST_TYPE")] if p]
    entity.listed_on = _text(node, "LISTED_ON") or None
    return entity


def load(paths: list[Path]) -> ListData:
    (path,) = paths
    root = parse_xml(path, expect_root={"CONSOLIDATED_LIST"}, what="the UN Consolidated List")
    entities: list[Entity] = []
    for group, tag, person in (("INDIVIDUALS", "INDIVIDUAL", True),
                               ("ENTITIES", "ENTITY", False)):
        container = root.find(group)
        for node in container.findall(tag) if container is not None else []:
            entity = _entity(node, person)
            if entity is not None and entity.names:
                entities.append(entity)
    version = (root.get("dateGenerated") or "")[:10] or "unknown"
    return ListData(LIST_ID, version, entities, [path.name], sha256_files(paths))
