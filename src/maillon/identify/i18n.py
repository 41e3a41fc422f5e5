"""A small message catalogue as data (``identify/i18n/<locale>.yaml``), English as fallback.

Adding a language is adding a file: UI strings under ``ui:``, and optional translations of
dimension titles and indicator labels keyed by code (``dimensions:``, ``indicators:``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

I18N_DIR = Path(str(resources.files("maillon.identify") / "i18n"))
DEFAULT = "en"


@dataclass(frozen=True)
class Catalogue:
    locale: str
    name: str
    ui: dict[str, str]
    dimensions: dict[str, str]
    indicators: dict[str, str]


def _read(path: Path) -> Catalogue:
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Catalogue(str(doc["locale"]), str(doc["name"]), dict(doc.get("ui") or {}),
                     dict(doc.get("dimensions") or {}), dict(doc.get("indicators") or {}))


@cache
def catalogues() -> dict[str, Catalogue]:
    return {c.locale: c for c in (_read(p) for p in sorted(I18N_DIR.glob("*.yaml")))}


def locales() -> tuple[str, ...]:
    return tuple(catalogues())


def pick_locale(wanted: str | None, accept_language: str = "") -> str:
    """``wanted`` if known, else the first known language of ``Accept-Language``, else en."""
    known = catalogues()
    if wanted in known:
        return str(wanted)
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in known:
            return tag
    return DEFAULT


class Translator:
    """``t("submit")`` -> the UI string in the locale (English, then the key, as fallback)."""

    def __init__(self, locale: str) -> None:
        cats = catalogues()
        self.locale = locale if locale in cats else DEFAULT
        self._cat = cats[self.locale]
        self._en = cats[DEFAULT]

    def __call__(self, key: str) -> str:
        return self._cat.ui.get(key) or self._en.ui.get(key) or key

    def dimension(self, code: str, default: str) -> str:
        return self._cat.dimensions.get(code, default)

    def indicator(self, code: str, default: str) -> str:
        return self._cat.indicators.get(code, default)
