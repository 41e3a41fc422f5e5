"""OFAC "advanced" XML (``sdn_advanced.xml`` / ``cons_advanced.xml``, schema sdn_advanced.xsd).

Reference value sets (alias types, party sub-types, feature types, countries, document types)
are read from the file itself, so the loader does not hard-code OFAC's numeric ids. Each
``DistinctParty`` becomes one entity keyed by its ``FixedRef`` (the OFAC entity number): its
aliases (``LowQuality="true"`` -> weak alias, ``F.K.A.`` -> previous name), birth dates from
``Birthdate`` features (precision from the date period), nationality / citizenship features and
``IDRegDocuments`` identifiers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maillon.core.errors import FieldError, InvalidFile
from maillon.screen.entity import BirthDate, Entity, Identifier, ListData
from maillon.screen.normalise import script_of
from maillon.screen.sources.common import local_name, parse_xml, sha256_files

LIST_ID = "us_ofac_cons"
TITLE = "US OFAC Consolidated (non-SDN) list, advanced XML"
URLS = ("https://www.treasury.gov/ofac/downloads/sdn_advanced.xml",)
FILES = ("ofac-consolidated-advanced*.xml", "sdn_advanced.xml", "cons_advanced.xml")


def _children(node: Any, name: str) -> list[Any]:
    return [c for c in node if local_name(c.tag) == name]


def _child(node: Any, name: str) -> Any:
    for c in node:
        if local_name(c.tag) == name:
            return c
    return None


def _descendants(node: Any, name: str) -> list[Any]:
    return [c for c in node.iter() if local_name(c.tag) == name]


def _int(node: Any, name: str) -> int | None:
    found = _child(node, name) if node is not None else None
    text = (found.text or "").strip() if found is not None else ""
    return int(text) if text.isdigit() else None


def _ref_values(root: Any) -> dict[str, dict[str, Any]]:
    sets: dict[str, dict[str, Any]] = {}
    ref = _child(root, "ReferenceValueSets")
    if ref is None:
        return sets
    for group in ref:
        table: dict[str, Any] = {}
        for item in group:
            table[item.get("ID", "")] = item
        sets[local_name(group.tag)] = table
    return sets


def _date(period: Any) -> BirthDate | None:
    start = _child(period, "Start")
    end = _child(period, "End")
    if start is None:
        return None
    lo = _child(start, "From")
    hi = _child(end, "To") if end is not None else _child(start, "To")
    y1, y2 = _int(lo, "Year"), _int(hi, "Year") if hi is not None else None
    if y1 is None:
        return None
    m1, d1 = _int(lo, "Month"), _int(lo, "Day")
    m2, d2 = (_int(hi, "Month"), _int(hi, "Day")) if hi is not None else (m1, d1)
    approx = start.get("Approximate") == "true"
    if y2 is not None and y2 != y1:
        return BirthDate(y1, year_to=y2, approximate=True)
    if m1 == m2 and d1 == d2:
        return BirthDate(y1, m1, d1, approximate=approx)
    if m1 == m2:
        return BirthDate(y1, m1, approximate=approx)
    return BirthDate(y1, approximate=approx)


def load(paths: list[Path]) -> ListData:
    (path,) = paths
    root = parse_xml(path, expect_root={"Sanctions"}, what="the OFAC advanced XML")
    refs = _ref_values(root)
    alias_types = {k: (v.text or "").strip().upper() for k, v in
                   refs.get("AliasTypeValues", {}).items()}
    feature_types = {k: (v.text or "").strip().lower() for k, v in
                     refs.get("FeatureTypeValues", {}).items()}
    sub_types = refs.get("PartySubTypeValues", {})
    party_types = {k: (v.text or "").strip() for k, v in refs.get("PartyTypeValues", {}).items()}
    doc_types = {k: (v.text or "").strip() for k, v in refs.get("IDRegDocTypeValues", {}).items()}
    areas = {k: (v.text or "").strip().lower() for k, v in refs.get("AreaCodeValues", {}).items()}
    # locations -> country code, for citizenship / nationality features
    location_country: dict[str, str] = {}
    locations = _child(root, "Locations")
    for loc in _children(locations, "Location") if locations is not None else []:
        area = _child(loc, "LocationAreaCode")
        code = areas.get(area.get("AreaCodeID", "")) if area is not None else None
        if code:
            location_country[loc.get("ID", "")] = code
    parties = _child(root, "DistinctParties")
    if parties is None:
        raise InvalidFile(f"{path.name}: no DistinctParties element: unexpected schema",
                          [FieldError(reason="missing DistinctParties", field=path.name)])
    entities: dict[str, Entity] = {}
    identity_entity: dict[str, Entity] = {}
    for party in _children(parties, "DistinctParty"):
        profile = _child(party, "Profile")
        if profile is None:
            continue
        sub = sub_types.get(profile.get("PartySubTypeID", ""))
        party_type = ""
        if sub is not None:
            party_type = str(party_types.get(str(sub.get("PartyTypeID", "")), ""))
        sub_name = (sub.text or "").strip() if sub is not None else ""
        schema = {"Individual": "Person", "Entity": "LegalEntity"}.get(party_type, "LegalEntity")
        if party_type == "Transport":
            schema = "Vessel" if sub_name == "Vessel" else "Airplane"
        entity = Entity(id=party.get("FixedRef", ""), schema=schema)
        for identity in _children(profile, "Identity"):
            identity_entity[identity.get("ID", "")] = entity
            for alias in _children(identity, "Alias"):
                kind_text = alias_types.get(alias.get("AliasTypeID", ""), "")
                kind = "primary" if alias.get("Primary") == "true" else (
                    "previous" if kind_text.startswith("F.K.A") else "alias")
                if alias.get("LowQuality") == "true":
                    kind = "weak"
                for doc_name in _children(alias, "DocumentedName"):
                    parts = [(v.text or "").strip() for v in _descendants(doc_name,
                                                                           "NamePartValue")]
                    value = " ".join(p for p in parts if p)
                    entity.add_name(value, kind, script_of(value))
        for feature in _children(profile, "Feature"):
            ftype = feature_types.get(feature.get("FeatureTypeID", ""), "")
            for version in _children(feature, "FeatureVersion"):
                if ftype == "birthdate":
                    for period in _children(version, "DatePeriod"):
                        parsed = _date(period)
                        if parsed is not None and parsed not in entity.birth_dates:
                            entity.birth_dates.append(parsed)
                elif ftype in ("citizenship country", "nationality country", "location",
                               "nationality of registration"):
                    for loc in _children(version, "VersionLocation"):
                        code = location_country.get(loc.get("LocationID", ""))
                        target = entity.countries if ftype == "location" else entity.nationalities
                        if code and len(code) == 2 and code not in target:
                            target.append(code)
                elif ftype == "gender":
                    detail = _child(version, "VersionDetail")
                    text = (detail.text or "").strip().lower() if detail is not None else ""
                    entity.gender = text if text in ("male", "female") else None
        if entity.id and entity.names:
            entities[entity.id] = entity
    documents = _child(root, "IDRegDocuments")
    for doc in _children(documents, "IDRegDocument") if documents is not None else []:
        owner = identity_entity.get(doc.get("IdentityID", ""))
        number = _child(doc, "IDRegistrationNo")
        if owner is not None and number is not None and (number.text or "").strip():
            owner.identifiers.append(Identifier(
                number.text.strip(), doc_types.get(doc.get("IDRegDocTypeID", ""), ""),
                areas.get(doc.get("IssuedBy-CountryID", "")) or None))
    issued = _child(root, "DateOfIssue")
    version = "unknown"
    if issued is not None:
        y, m, d = _int(issued, "Year"), _int(issued, "Month"), _int(issued, "Day")
        if y:
            version = f"{y:04d}-{m or 1:02d}-{d or 1:02d}"
    return ListData(LIST_ID, version, list(entities.values()), [path.name], sha256_files(paths))
