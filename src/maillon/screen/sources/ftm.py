"""FollowTheMoney JSON lines (OpenSanctions exports, ``entities.ftm.json``): one entity a line.

Only party schemata are kept (Person, Organization, Company, LegalEntity, PublicBody, Vessel,
Airplane); ``Sanction``, ``Address``, ``Identification``... lines are skipped. Property mapping:
``name`` primary, ``alias`` alias, ``weakAlias``/``abbreviation`` weak, ``previousName``
previous; ``birthDate``; ``nationality``/``citizenship``; ``country``/``jurisdiction``;
``idNumber``, ``passportNumber``, ``registrationNumber``, ``taxNumber``, ``innCode``,
``ogrnCode``, ``leiCode``, ``imoNumber``... identifiers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from maillon.core.errors import FieldError, InvalidFile
from maillon.screen.entity import BirthDate, Entity, Identifier, ListData
from maillon.screen.normalise import script_of
from maillon.screen.sources.common import country_code, read_text, sha256_files

LIST_ID = "ftm"
TITLE = "FollowTheMoney JSON lines"
URLS: tuple[str, ...] = ()
FILES = ("*.ftm.json", "*.jsonl")

_SCHEMAS = {"Person": "Person", "Organization": "Organization", "Company": "Company",
            "LegalEntity": "LegalEntity", "PublicBody": "Organization", "Vessel": "Vessel",
            "Airplane": "Airplane"}
_NAMES = (("name", "primary"), ("alias", "alias"), ("previousName", "previous"),
          ("weakAlias", "weak"), ("abbreviation", "weak"))
_IDS = ("idNumber", "passportNumber", "registrationNumber", "taxNumber", "innCode", "ogrnCode",
        "leiCode", "imoNumber", "mmsi", "swiftBic", "vatCode", "uniqueEntityId")


def _values(props: dict[str, Any], key: str) -> list[str]:
    value = props.get(key, [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in value if isinstance(v, str | int) and str(v).strip()]


def entity_from_ftm(data: dict[str, Any]) -> Entity | None:
    schema = _SCHEMAS.get(str(data.get("schema", "")))
    props = data.get("properties")
    if schema is None or not isinstance(props, dict) or not data.get("id"):
        return None
    entity = Entity(id=str(data["id"]), schema=schema)
    for prop, kind in _NAMES:
        for value in _values(props, prop):
            script = script_of(value)
            entity.add_name(value, kind if script is None or kind != "alias" else "original",
                            script)
    if entity.names and entity.names[0].kind != "primary":
        first = entity.names[0]
        entity.names[0] = type(first)(first.value, "primary", first.script)
    for value in _values(props, "birthDate"):
        parsed = BirthDate.parse(value)
        if parsed is not None and parsed not in entity.birth_dates:
            entity.birth_dates.append(parsed)
    for prop, target in (("nationality", entity.nationalities),
                         ("citizenship", entity.nationalities), ("country", entity.countries),
                         ("jurisdiction", entity.countries)):
        for value in _values(props, prop):
            code = country_code(value) if len(value) != 2 else value.lower()
            if code and code not in target:
                target.append(code)
    for prop in _IDS:
        for value in _values(props, prop):
            entity.identifiers.append(Identifier(value, prop))
    genders = _values(props, "gender")
    entity.gender = genders[0] if genders else None
    return entity if entity.names else None


def load(paths: list[Path], list_id: str | None = None) -> ListData:
    entities: list[Entity] = []
    for path in paths:
        text = read_text(path)
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidFile(f"{path.name}: line {number} is not JSON ({exc.msg})",
                                  [FieldError(reason="not JSON", row=number, field=path.name)]
                                  ) from exc
            if not isinstance(data, dict) or "schema" not in data:
                raise InvalidFile(f"{path.name}: line {number} is not a FollowTheMoney entity",
                                  [FieldError(reason="no schema", row=number, field=path.name)])
            entity = entity_from_ftm(data)
            if entity is not None:
                entities.append(entity)
    digest = sha256_files(paths)
    name = list_id or (paths[0].name if paths else LIST_ID)
    return ListData(name, f"sha256:{digest[:12]}", entities, [p.name for p in paths], digest)
