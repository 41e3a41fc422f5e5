"""A local list as CSV (e.g. suppliers found involved in trafficking, a national debarment list).

Header (UTF-8): ``id,name`` required; optional ``schema`` (Person/Organization/...; empty:
LegalEntity), ``aliases`` (``;``-separated), ``birth_date`` (YYYY, YYYY-MM or YYYY-MM-DD),
``country`` (name or ISO code), ``identifiers`` (``;``-separated), ``notes``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from maillon.core.errors import FieldError, InvalidFile
from maillon.screen.entity import SCHEMAS, BirthDate, Entity, Identifier, ListData
from maillon.screen.normalise import script_of
from maillon.screen.sources.common import country_code, read_text, sha256_files

LIST_ID = "local"
TITLE = "Local list (CSV)"
URLS: tuple[str, ...] = ()
FILES = ("*.csv",)


def load(paths: list[Path], list_id: str | None = None) -> ListData:
    entities: list[Entity] = []
    errors: list[FieldError] = []
    for path in paths:
        reader = csv.DictReader(io.StringIO(read_text(path)))
        header = [h.strip().lower() for h in reader.fieldnames or []]
        if "id" not in header or "name" not in header:
            raise InvalidFile(f"{path.name}: a local list needs the columns id and name",
                              [FieldError(reason="missing column id or name", field=path.name)])
        for number, raw in enumerate(reader, start=1):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            schema = row.get("schema") or "LegalEntity"
            if schema not in SCHEMAS:
                errors.append(FieldError(reason="unknown schema", row=number, field="schema",
                                         value=schema))
                continue
            if not row.get("id") or not row.get("name"):
                errors.append(FieldError(reason="id and name are required", row=number))
                continue
            entity = Entity(id=row["id"], schema=schema, notes=row.get("notes") or None)
            entity.add_name(row["name"], "primary", script_of(row["name"]))
            for alias in (row.get("aliases") or "").split(";"):
                entity.add_name(alias, "alias", script_of(alias))
            if row.get("birth_date"):
                parsed = BirthDate.parse(row["birth_date"])
                if parsed is None:
                    errors.append(FieldError(reason="not a date", row=number,
                                             field="birth_date", value=row["birth_date"]))
                else:
                    entity.birth_dates.append(parsed)
            code = country_code(row.get("country"))
            if code:
                entity.countries.append(code)
                if schema == "Person":
                    entity.nationalities.append(code)
            for ident in (row.get("identifiers") or "").split(";"):
                if ident.strip():
                    entity.identifiers.append(Identifier(ident.strip()))
            entities.append(entity)
    if errors:
        raise InvalidFile(f"{len(errors)} bad rows in the local list", errors)
    digest = sha256_files(paths)
    return ListData(list_id or LIST_ID, f"sha256:{digest[:12]}", entities,
                    [p.name for p in paths], digest)
