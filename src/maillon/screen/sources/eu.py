"""EU consolidated financial sanctions list, XML ``xmlFullSanctionsList_1_1``.

Built from the publisher's schema documentation (``schema_1_1.xsd``); NOT checked against a
real file (none under the size limit was available offline). Root ``export``; each
``sanctionEntity`` (attribute ``logicalId``, ``euReferenceNumber``) has ``subjectType@code``
(``person`` / ``enterprise``), ``nameAlias`` elements (``wholeName``, ``firstName``,
``middleName``, ``lastName``, ``strong`` = "false" for weak aliases), ``birthdate``
(``birthdate`` or ``year``/``monthOfYear``/``dayOfMonth``, ``circa``),
``citizenship@countryIso2Code``,
``identification`` (``number``, ``identificationTypeCode``, ``countryIso2Code``) and
``address@countryIso2Code``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maillon.screen.entity import BirthDate, Entity, Identifier, ListData
from maillon.screen.normalise import script_of
from maillon.screen.sources.common import local_name, parse_xml, sha256_files

LIST_ID = "eu_fsf"
TITLE = "EU consolidated financial sanctions list"
URLS: tuple[str, ...] = ()
FILES = ("*sanctionsList*.xml", "eu*.xml")


def _kids(node: Any, name: str) -> list[Any]:
    return [c for c in node if local_name(c.tag) == name]


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def load(paths: list[Path]) -> ListData:
    (path,) = paths
    root = parse_xml(path, expect_root={"export"}, what="the EU consolidated list")
    entities: list[Entity] = []
    for node in _kids(root, "sanctionEntity"):
        subject = next(iter(_kids(node, "subjectType")), None)
        code = (subject.get("code") if subject is not None else "") or ""
        schema = "Person" if code == "person" else "Organization"
        entity = Entity(id=node.get("euReferenceNumber") or node.get("logicalId") or "",
                        schema=schema)
        for alias in _kids(node, "nameAlias"):
            whole = alias.get("wholeName") or " ".join(
                p for p in (alias.get("firstName"), alias.get("middleName"),
                            alias.get("lastName")) if p)
            kind = "primary" if not entity.names else "alias"
            if alias.get("strong") == "false":
                kind = "weak"
            script = script_of(whole)
            entity.add_name(whole, "original" if script and kind == "alias" else kind, script)
            gender = (alias.get("gender") or "").upper()
            if gender in ("M", "F"):
                entity.gender = "male" if gender == "M" else "female"
        for birth in _kids(node, "birthdate"):
            parsed = BirthDate.parse(birth.get("birthdate") or "")
            if parsed is None and _int(birth.get("year")):
                parsed = BirthDate(_int(birth.get("year")) or 0, _int(birth.get("monthOfYear")),
                                   _int(birth.get("dayOfMonth")),
                                   approximate=birth.get("circa") == "true")
            if parsed is not None and parsed not in entity.birth_dates:
                entity.birth_dates.append(parsed)
        for citizen in _kids(node, "citizenship"):
            iso = (citizen.get("countryIso2Code") or "").lower()
            if len(iso) == 2 and iso != "00" and iso not in entity.nationalities:
                entity.nationalities.append(iso)
        for ident in _kids(node, "identification"):
            if ident.get("number"):
                iso = (ident.get("countryIso2Code") or "").lower()
                entity.identifiers.append(Identifier(
                    ident.get("number"),
                    ident.get("identificationTypeCode") or "",
                    iso if len(iso) == 2 and iso != "00" else None))
        for address in _kids(node, "address"):
            iso = (address.get("countryIso2Code") or "").lower()
            if len(iso) == 2 and iso != "00" and iso not in entity.countries:
                entity.countries.append(iso)
        if entity.id and entity.names:
            entities.append(entity)
    version = (root.get("generationDate") or "")[:10] or "unknown"
    return ListData(LIST_ID, version, entities, [path.name], sha256_files(paths))
