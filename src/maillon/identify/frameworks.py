"""Indicator frameworks as versioned YAML data (``identify/frameworks/*.yaml``).

A framework has an ``id``, a ``version``, a ``source``, a combination ``rule`` (``delphi`` or
``any_indicator``), a ``population`` (adult, child, any), and dimensions holding graded
indicators. A framework whose items were not sourced is shipped with ``complete: false`` and a
``to_complete`` note; it can be listed but not used for a screening. Extra frameworks (national
lists) are read from any folder passed to :func:`load_frameworks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from maillon.core.errors import ConfigurationError, NotFound

Grade = Literal["strong", "medium", "weak", "unrated"]
GRADES: tuple[str, ...] = ("strong", "medium", "weak", "unrated")
RULES = ("delphi", "any_indicator")
GROUPS = ("recruitment", "exploitation", "means", "indicators")
FRAMEWORK_DIR = Path(str(resources.files("maillon.identify") / "frameworks"))


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    grade: str


@dataclass(frozen=True)
class Dimension:
    code: str
    title: str
    group: str
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class Framework:
    id: str
    title: str
    version: str
    source: str
    rule: str
    population: str
    exploitation: str
    complete: bool
    to_complete: str | None
    dimensions: tuple[Dimension, ...]

    def indicator(self, code: str) -> tuple[Dimension, Indicator] | None:
        for dim in self.dimensions:
            for ind in dim.indicators:
                if ind.code == code:
                    return dim, ind
        return None

    @property
    def indicator_codes(self) -> tuple[str, ...]:
        return tuple(i.code for d in self.dimensions for i in d.indicators)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "version": self.version, "source": self.source,
            "rule": self.rule, "population": self.population, "exploitation": self.exploitation,
            "complete": self.complete, "to_complete": self.to_complete,
            "dimensions": [
                {"code": d.code, "title": d.title, "group": d.group,
                 "indicators": [{"code": i.code, "label": i.label, "grade": i.grade}
                                for i in d.indicators]}
                for d in self.dimensions
            ],
        }


def _fail(path: Path, reason: str) -> ConfigurationError:
    return ConfigurationError(f"indicator framework {path.name}: {reason}")


def parse_framework(path: Path) -> Framework:
    """Read and validate one framework file."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise _fail(path, "not a mapping")
    for key in ("id", "title", "version", "source", "rule", "dimensions"):
        if key not in doc:
            raise _fail(path, f"missing {key!r}")
    if doc["rule"] not in RULES:
        raise _fail(path, f"unknown rule {doc['rule']!r}; use one of {RULES}")
    seen: set[str] = set()
    dims: list[Dimension] = []
    for d in doc["dimensions"]:
        if d.get("group") not in GROUPS:
            raise _fail(path, f"dimension {d.get('code')!r}: group must be one of {GROUPS}")
        inds = []
        for i in d.get("indicators") or []:
            if i.get("grade") not in GRADES:
                raise _fail(path, f"indicator {i.get('code')!r}: grade must be one of {GRADES}")
            if i["code"] in seen:
                raise _fail(path, f"indicator code {i['code']!r} appears twice")
            seen.add(i["code"])
            inds.append(Indicator(code=str(i["code"]), label=str(i["label"]),
                                  grade=str(i["grade"])))
        dims.append(Dimension(code=str(d["code"]), title=str(d["title"]),
                              group=str(d["group"]), indicators=tuple(inds)))
    complete = bool(doc.get("complete", True))
    if complete and not seen:
        raise _fail(path, "a complete framework needs indicators")
    return Framework(
        id=str(doc["id"]), title=str(doc["title"]), version=str(doc["version"]),
        source=str(doc["source"]), rule=str(doc["rule"]),
        population=str(doc.get("population", "any")),
        exploitation=str(doc.get("exploitation", "any")), complete=complete,
        to_complete=doc.get("to_complete"), dimensions=tuple(dims),
    )


def load_frameworks(*folders: Path) -> dict[str, Framework]:
    """Every framework of the built-in folder and of ``folders`` (later ones override)."""
    found: dict[str, Framework] = {}
    for folder in (FRAMEWORK_DIR, *folders):
        for path in sorted(Path(folder).glob("*.yaml")):
            fw = parse_framework(path)
            found[fw.id] = fw
    return found


@cache
def builtin_frameworks() -> dict[str, Framework]:
    return load_frameworks()


def get_framework(framework_id: str) -> Framework:
    try:
        return builtin_frameworks()[framework_id]
    except KeyError:
        raise NotFound(f"no indicator framework {framework_id!r}") from None
