"""The common entity form every list loader produces (FollowTheMoney-like).

An :class:`Entity` is one listed party: ``id`` is the publisher's own id (UN reference number,
OFAC entity number, FtM ``id``), ``schema`` one of :data:`SCHEMAS`, and its names each carry
a ``kind`` saying how much trust they deserve (``primary``, ``alias`` = good-quality a.k.a.,
``weak`` = low-quality a.k.a., ``previous`` = f.k.a., ``original`` = original-script name).
Dates of birth keep their precision (``1971`` vs ``1971-05`` vs ``1971-05-03``) and ranges
(UN ``BETWEEN``) are kept as ``from``/``to`` years.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMAS = ("Person", "Organization", "Company", "LegalEntity", "Vessel", "Airplane")
ORG_SCHEMAS = frozenset({"Organization", "Company", "LegalEntity"})
NAME_KINDS = ("primary", "alias", "weak", "previous", "original")


@dataclass(frozen=True)
class Name:
    value: str
    kind: str = "primary"
    script: str | None = None
    """ISO 15924-like hint of the script when it is not Latin (``Arab``, ``Cyrl``, ``Hani``)."""


@dataclass(frozen=True)
class BirthDate:
    """A date of birth as precise as the publisher gives it; ``year_to`` for year ranges."""

    year: int
    month: int | None = None
    day: int | None = None
    year_to: int | None = None
    approximate: bool = False

    @property
    def precision(self) -> str:
        if self.year_to is not None and self.year_to != self.year:
            return "range"
        if self.day is not None and self.month is not None:
            return "day"
        return "month" if self.month is not None else "year"

    def text(self) -> str:
        if self.precision == "range":
            return f"{self.year}/{self.year_to}"
        parts = [f"{self.year:04d}"]
        if self.month is not None:
            parts.append(f"{self.month:02d}")
            if self.day is not None:
                parts.append(f"{self.day:02d}")
        return "-".join(parts)

    @classmethod
    def parse(cls, text: str) -> BirthDate | None:
        """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (also ``YYYY/YYYY`` ranges); else ``None``."""
        text = (text or "").strip()
        if not text:
            return None
        try:
            if "/" in text:
                lo, hi = text.split("/", 1)
                return cls(int(lo[:4]), year_to=int(hi[:4]))
            bits = text[:10].split("-")
            year = int(bits[0])
            month = int(bits[1]) if len(bits) > 1 and bits[1] else None
            day = int(bits[2]) if len(bits) > 2 and bits[2] else None
        except ValueError:
            return None
        if not 1000 <= year <= 2999 or (month is not None and not 1 <= month <= 12) or (
                day is not None and not 1 <= day <= 31):
            return None
        return cls(year, month, day)


@dataclass(frozen=True)
class Identifier:
    value: str
    type: str = ""
    country: str | None = None


@dataclass
class Entity:
    """One listed party in the common form."""

    id: str
    schema: str
    names: list[Name] = field(default_factory=list)
    birth_dates: list[BirthDate] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)
    """ISO 3166-1 alpha-2 codes (lower case) of nationality / citizenship."""
    countries: list[str] = field(default_factory=list)
    """Other linked countries (address, registration, jurisdiction), alpha-2 lower case."""
    identifiers: list[Identifier] = field(default_factory=list)
    gender: str | None = None
    programs: list[str] = field(default_factory=list)
    listed_on: str | None = None
    notes: str | None = None

    @property
    def caption(self) -> str:
        for name in self.names:
            if name.kind == "primary":
                return name.value
        return self.names[0].value if self.names else self.id

    def add_name(self, value: str | None, kind: str = "alias", script: str | None = None
                 ) -> None:
        value = " ".join((value or "").split()).strip(" ;,")
        if not value:
            return
        if any(n.value == value for n in self.names):
            return
        self.names.append(Name(value, kind, script))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: v for k, v in data.items() if v not in (None, [], "")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entity:
        return cls(
            id=str(data["id"]),
            schema=str(data.get("schema", "LegalEntity")),
            names=[Name(**n) for n in data.get("names", [])],
            birth_dates=[BirthDate(**b) for b in data.get("birth_dates", [])],
            nationalities=list(data.get("nationalities", [])),
            countries=list(data.get("countries", [])),
            identifiers=[Identifier(**i) for i in data.get("identifiers", [])],
            gender=data.get("gender"),
            programs=list(data.get("programs", [])),
            listed_on=data.get("listed_on"),
            notes=data.get("notes"),
        )

    def canonical_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True,
                          separators=(",", ":"))

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON: changes whenever anything the matcher reads changes."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


@dataclass
class ListData:
    """What a loader returns: one list's entities, with the publisher's version label."""

    list_id: str
    version: str
    entities: list[Entity]
    source_files: list[str] = field(default_factory=list)
    sha256: str = ""
