"""Typed model of a code list ("vocabulary") and its fast text resolver.

A :class:`Vocabulary` is built once from a YAML data file (see ``docs/vocab.md``) and is
immutable afterwards. Resolution of free text to a code is the hot path of every import,
so the lookup tables are precomputed at construction time: :meth:`Vocabulary.resolve` does
at most one normalisation and two dictionary lookups.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["Code", "Vocabulary", "normalise"]

_NON_ALNUM = re.compile(r"[\W_]+")

_CODE_KEYS = frozenset(
    {"code", "label", "definition", "aliases", "parent", "maps_to", "min", "max", "deprecated"}
)
_LIST_KEYS = frozenset(
    {"name", "title", "source", "version", "multi", "deprecated", "crosswalks", "notes", "codes"}
)


def normalise(text: str) -> str:
    """Return the matching key of ``text``: case-folded, accents, spaces and punctuation removed.

    ``"Bachelor’s or Equivalent Level"`` and ``"bachelors-or-equivalent level"`` both give
    ``"bachelorsorequivalentlevel"``.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
    return _NON_ALNUM.sub("", text.casefold())


@dataclass(frozen=True, slots=True)
class Code:
    """One entry of a code list.

    ``code`` is the stored value (for standards: the standard's own value name, verbatim),
    ``label`` the human-readable text, ``aliases`` extra spellings accepted on import,
    ``parent`` the broader code in hierarchical lists, ``maps_to`` cross-walks to other
    systems (system name -> target codes) and ``min``/``max`` the numeric bounds of a band
    (``None`` when open-ended or not a band).
    """

    code: str
    label: str
    definition: str | None = None
    aliases: tuple[str, ...] = ()
    parent: str | None = None
    maps_to: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    min: int | None = None
    max: int | None = None
    deprecated: bool = False

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], where: str) -> Code:
        """Build a code from one YAML mapping; ``where`` names the list for error messages."""
        unknown = set(raw) - _CODE_KEYS
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)} in code entry {raw!r}")
        code = _text(raw.get("code"), f"{where}: code")
        ctx = f"{where}:{code}"
        aliases = raw.get("aliases") or []
        if not isinstance(aliases, list):
            raise ValueError(f"{ctx}: aliases must be a list")
        maps_raw = raw.get("maps_to") or {}
        if not isinstance(maps_raw, dict):
            raise ValueError(f"{ctx}: maps_to must be a mapping")
        maps: dict[str, tuple[str, ...]] = {}
        for system, targets in maps_raw.items():
            values = targets if isinstance(targets, list) else [targets]
            maps[str(system)] = tuple(_text(v, f"{ctx}: maps_to.{system}") for v in values)
        return cls(
            code=code,
            label=_text(raw.get("label", code), f"{ctx}: label"),
            definition=_opt_text(raw.get("definition"), f"{ctx}: definition"),
            aliases=tuple(_text(a, f"{ctx}: alias") for a in aliases),
            parent=_opt_text(raw.get("parent"), f"{ctx}: parent"),
            maps_to=MappingProxyType(maps),
            min=_opt_int(raw.get("min"), f"{ctx}: min"),
            max=_opt_int(raw.get("max"), f"{ctx}: max"),
            deprecated=bool(raw.get("deprecated", False)),
        )


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """An immutable code list with constant-time label lookup and text resolution.

    ``multi`` tells whether one record may carry several codes of this list; ``deprecated``
    marks a list kept only for reading old data; ``crosswalks`` names, for each ``maps_to``
    system key used in the codes, the target vocabulary (e.g. ``{"htcds": "gender"}``).
    """

    name: str
    title: str
    source: str
    version: str
    multi: bool
    codes: tuple[Code, ...]
    deprecated: bool = False
    crosswalks: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    notes: str | None = None
    _by_code: dict[str, Code] = field(init=False, repr=False, compare=False)
    _exact: dict[str, str] = field(init=False, repr=False, compare=False)
    _keys: dict[str, str] = field(init=False, repr=False, compare=False)
    _children: dict[str | None, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code: dict[str, Code] = {}
        for c in self.codes:
            if c.code in by_code:
                raise ValueError(f"vocabulary {self.name!r}: duplicate code {c.code!r}")
            by_code[c.code] = c
        children: dict[str | None, list[str]] = {}
        for c in self.codes:
            if c.parent is not None and c.parent not in by_code:
                raise ValueError(
                    f"vocabulary {self.name!r}: code {c.code!r} has unknown parent {c.parent!r}"
                )
            children.setdefault(c.parent, []).append(c.code)
        exact: dict[str, str] = {}
        keys: dict[str, str] = {}
        # Codes first, then labels, then aliases; any key claimed by two codes is an error.
        for c in self.codes:
            for text in (c.code, c.label, *c.aliases):
                key = normalise(text)
                if not key:
                    raise ValueError(f"vocabulary {self.name!r}: empty key for {text!r}")
                other = keys.setdefault(key, c.code)
                if other != c.code:
                    raise ValueError(
                        f"vocabulary {self.name!r}: {text!r} (of {c.code!r}) collides with "
                        f"code {other!r} after normalisation to {key!r}"
                    )
                exact.setdefault(text, c.code)
        object.__setattr__(self, "_by_code", by_code)
        object.__setattr__(self, "_exact", exact)
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_children", {k: tuple(v) for k, v in children.items()})

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Vocabulary:
        """Build and validate a vocabulary from the parsed YAML document."""
        unknown = set(raw) - _LIST_KEYS
        where = str(raw.get("name", "?"))
        if unknown:
            raise ValueError(f"vocabulary {where!r}: unknown key(s) {sorted(unknown)}")
        entries = raw.get("codes")
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"vocabulary {where!r}: 'codes' must be a non-empty list")
        crosswalks = raw.get("crosswalks") or {}
        if not isinstance(crosswalks, dict):
            raise ValueError(f"vocabulary {where!r}: crosswalks must be a mapping")
        return cls(
            name=_text(raw.get("name"), "name"),
            title=_text(raw.get("title"), f"{where}: title"),
            source=_text(raw.get("source"), f"{where}: source"),
            version=_text(raw.get("version"), f"{where}: version"),
            multi=bool(raw.get("multi", False)),
            deprecated=bool(raw.get("deprecated", False)),
            crosswalks=MappingProxyType({str(k): str(v) for k, v in crosswalks.items()}),
            notes=_opt_text(raw.get("notes"), f"{where}: notes"),
            codes=tuple(Code.from_dict(e, where) for e in entries),
        )

    # -- lookups -------------------------------------------------------------------------

    def __contains__(self, code: object) -> bool:
        """True if ``code`` is one of this list's codes (exact, case-sensitive)."""
        return code in self._by_code

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.codes)

    def code(self, code: str) -> Code:
        """Return the :class:`Code` entry; raises ``KeyError`` for an unknown code."""
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"{code!r} is not a code of vocabulary {self.name!r}") from None

    def label(self, code: str) -> str:
        """Return the label of ``code``; raises ``KeyError`` for an unknown code."""
        return self.code(code).label

    def resolve(self, text: str) -> str | None:
        """Map input text (code, label or alias; any case, spacing or punctuation) to a code.

        Returns ``None`` when nothing matches. An exact match of a code, label or alias skips
        normalisation; otherwise the text is normalised once and looked up once.
        """
        hit = self._exact.get(text)
        if hit is not None:
            return hit
        return self._keys.get(normalise(text))

    def children(self, code: str | None) -> tuple[str, ...]:
        """Codes whose ``parent`` is ``code`` (``None`` gives the top-level codes)."""
        if code is not None and code not in self._by_code:
            raise KeyError(f"{code!r} is not a code of vocabulary {self.name!r}")
        return self._children.get(code, ())

    def map_to(self, code: str, system: str) -> tuple[str, ...]:
        """Cross-walk targets of ``code`` in ``system`` (empty tuple when none is defined)."""
        return self.code(code).maps_to.get(system, ())


def _text(value: object, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{what}: expected a string, got {value!r}")
    text = str(value).strip()
    if not text:
        raise ValueError(f"{what}: must not be empty")
    return text


def _opt_text(value: object, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _opt_int(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what}: expected an integer, got {value!r}")
    return value
