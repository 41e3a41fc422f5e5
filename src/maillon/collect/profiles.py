"""Mapping profiles: which source column feeds which canonical field, and how values translate.

A profile is a YAML file::

    name: my-ngo
    title: Our NGO's spreadsheet export
    record_id: {template: "{file}#{row}"}     # or a column name: record_id: "Case No."
    defaults: {role: Victim}
    columns:
      "Case No.": case_id
      Sex: {field: person.gender, values: {F: Feminine, M: Masculine, "?": ""}}
      Nationalities: {field: person.citizenship, split: "/"}
    flags:                                     # a column holding 1/true/yes adds a code
      meansThreats: {field: victim.ctdc_means, code: meansThreats}

``values`` translates source text before the vocabulary check (an empty target means unknown).
``flags`` add a code to a multi-valued field, or to ``code_vocabulary`` lists kept at the
source's own granularity (see :data:`FLAG_VOCABULARIES`). Built-in profiles live beside this
module in ``profiles/``; a path to a YAML file works wherever a profile name does.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from maillon.collect.fields import FIELDS
from maillon.core.errors import FieldError, InvalidInput

FLAG_VOCABULARIES = {
    "victim.ctdc_means": "ctdc_means",
    "victim.ctdc_exploitation": "ctdc_exploitation",
    "victim.ctdc_labour_sector": "ctdc_labour_sector",
    "victim.ctdc_sex_type": "ctdc_sex_type",
    "victim.ctdc_recruiter_relation": "ctdc_recruiter_relation",
}
"""Flag targets that keep a source's merged categories as they are, in their own vocabulary.

CTDC's ``meansThreats`` merges three HTCDS methods of control; spreading it onto all three would
invent facts, so it is stored as ``ctdc_means:meansThreats`` and statistics map HTCDS codes up to
CTDC's merged categories, never down.
"""


@dataclass(frozen=True)
class ColumnMap:
    """One source column mapped onto a canonical field."""

    column: str
    field: str
    values: dict[str, str] = dataclass_field(default_factory=dict)
    split: str = ";"
    date_format: str | None = None


@dataclass(frozen=True)
class FlagMap:
    """A 0/1 source column that, when true, adds ``code`` to the multi-valued ``field``."""

    column: str
    field: str
    code: str


@dataclass(frozen=True)
class Profile:
    """A loaded mapping profile. ``record_id_template`` uses ``{file}`` and ``{row}``."""

    name: str
    title: str
    columns: tuple[ColumnMap, ...]
    flags: tuple[FlagMap, ...] = ()
    record_id_template: str | None = None
    defaults: dict[str, str] = dataclass_field(default_factory=dict)
    description: str = ""
    true_values: frozenset[str] = frozenset({"1", "true", "yes", "y", "x"})

    def source_columns(self) -> set[str]:
        return {c.column for c in self.columns} | {f.column for f in self.flags}


def _bad(name: str, reason: str) -> InvalidInput:
    return InvalidInput(
        f"mapping profile {name!r} is invalid: {reason}", [FieldError(reason=reason)]
    )


def _parse_column(name: str, column: str, spec: Any) -> ColumnMap:
    if isinstance(spec, str):
        spec = {"field": spec}
    if not isinstance(spec, dict) or "field" not in spec:
        raise _bad(name, f"column {column!r} must map to a field name or {{field: ...}}")
    target = spec["field"]
    if target not in FIELDS:
        raise _bad(name, f"column {column!r} maps to unknown field {target!r}")
    values = {str(k).strip().casefold(): str(v) for k, v in (spec.get("values") or {}).items()}
    return ColumnMap(
        column=column,
        field=target,
        values=values,
        split=str(spec.get("split", ";")),
        date_format=spec.get("date_format"),
    )


def parse_profile(data: Any, *, name: str) -> Profile:
    """A :class:`Profile` from parsed YAML, with every mistake named."""
    if not isinstance(data, dict):
        raise _bad(name, "the file must hold a mapping")
    columns_raw = data.get("columns") or {}
    if not isinstance(columns_raw, dict):
        raise _bad(name, "'columns' must be a mapping of source column -> field")
    columns = tuple(_parse_column(name, str(c), s) for c, s in columns_raw.items())
    flags: list[FlagMap] = []
    for column, spec in (data.get("flags") or {}).items():
        if not isinstance(spec, dict) or "field" not in spec or "code" not in spec:
            raise _bad(name, f"flag {column!r} needs 'field' and 'code'")
        target = spec["field"]
        known = target in FLAG_VOCABULARIES or FIELDS.get(target, None) is not None
        if not known or (target in FIELDS and FIELDS[target].kind != "codes"):
            raise _bad(name, f"flag {column!r} must target a multi-valued field, not {target!r}")
        flags.append(FlagMap(column=str(column), field=target, code=str(spec["code"])))
    record_id = data.get("record_id", "record_id")
    template = None
    if isinstance(record_id, dict):
        template = str(record_id.get("template", "{file}#{row}"))
    elif not any(c.field == "record_id" for c in columns):
        columns += (ColumnMap(column=str(record_id), field="record_id"),)
    defaults = {str(k): str(v) for k, v in (data.get("defaults") or {}).items()}
    for key in defaults:
        if key not in FIELDS:
            raise _bad(name, f"default for unknown field {key!r}")
    return Profile(
        name=str(data.get("name", name)),
        title=str(data.get("title", name)),
        description=str(data.get("description", "")),
        columns=columns,
        flags=tuple(flags),
        record_id_template=template,
        defaults=defaults,
    )


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped with Maillon (e.g. ``htcds``, ``ctdc``)."""
    folder = resources.files("maillon.collect") / "profiles"
    names = (p.name for p in folder.iterdir())
    return sorted(n.removesuffix(".yaml") for n in names if n.endswith(".yaml"))


def load_profile(name_or_path: str) -> Profile:
    """A built-in profile by name, or a profile YAML file by path."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} and path.exists():
        text = path.read_text(encoding="utf-8")
        label = path.name
    else:
        resource = resources.files("maillon.collect") / "profiles" / f"{name_or_path}.yaml"
        if not resource.is_file():
            known = ", ".join(builtin_profiles())
            raise InvalidInput(
                f"unknown mapping profile {name_or_path!r}; built-in profiles: {known}",
                [FieldError(field="profile", value=name_or_path, reason="unknown profile")],
            )
        text = resource.read_text(encoding="utf-8")
        label = name_or_path
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _bad(label, f"not valid YAML: {exc}") from exc
    return parse_profile(data, name=label)
