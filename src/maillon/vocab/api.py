"""Public entry points of the code lists: load by name, list names, resolve countries.

Lists are YAML data files shipped inside this package (``maillon/vocab/<name>.yaml``); each is
parsed and validated once, on first use, and then cached for the life of the process.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from maillon.vocab.countries import countries, country, country_alpha3, country_name
from maillon.vocab.model import Code, Vocabulary, normalise

__all__ = [
    "Code",
    "Vocabulary",
    "codes",
    "countries",
    "country",
    "country_alpha3",
    "country_name",
    "get",
    "names",
    "normalise",
]

_PACKAGE = "maillon.vocab"
_SUFFIX = ".yaml"

# The C loader is several times faster; PyYAML builds without libyaml lack it.
_Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)


def names() -> list[str]:
    """Return the names of all shipped code lists, sorted."""
    return list(_names())


@cache
def _names() -> tuple[str, ...]:
    return tuple(
        sorted(
            entry.name[: -len(_SUFFIX)]
            for entry in resources.files(_PACKAGE).iterdir()
            if entry.name.endswith(_SUFFIX) and entry.is_file()
        )
    )


@cache
def _load(name: str) -> Vocabulary:
    if name not in _names():
        known = ", ".join(names())
        raise KeyError(f"unknown code list {name!r}; known lists: {known}")
    text = resources.files(_PACKAGE).joinpath(name + _SUFFIX).read_text(encoding="utf-8")
    raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader / CSafeLoader only
    if not isinstance(raw, dict):
        raise ValueError(f"code list {name!r}: top level must be a mapping")
    vocab = Vocabulary.from_dict(raw)
    if vocab.name != name:
        raise ValueError(f"code list file {name}{_SUFFIX} declares name {vocab.name!r}")
    return vocab


def get(name: str) -> Vocabulary:
    """Return the code list called ``name`` (cached); ``KeyError`` if there is no such list."""
    return _load(name)


def codes(name: str) -> tuple[str, ...]:
    """Return the codes of list ``name`` in their defined order."""
    return tuple(c.code for c in _load(name).codes)
