"""Country resolution to ISO 3166-1 alpha-2, backed by pycountry plus a few extras.

Besides the ISO 3166-1 entries, Kosovo is accepted as ``XK`` / ``XKX``. Those are
user-assigned codes, not part of ISO 3166-1, but they are what the UN, the EU and UNODC
GLOTIP data use. All tables are built once, on first call, so :func:`country` costs one or
two dictionary lookups per row.
"""

from __future__ import annotations

from functools import cache

import pycountry

from maillon.vocab.model import normalise

__all__ = ["countries", "country", "country_alpha3", "country_name"]

KOSOVO = ("XK", "XKX", "Kosovo")

# Common English names that pycountry does not carry (it has official and ISO short names).
_EXTRA_NAMES: dict[str, str] = {
    "Bolivia": "BO",
    "Britain": "GB",
    "Great Britain": "GB",
    "UK": "GB",
    "England": "GB",
    "Burma": "MM",
    "Cape Verde": "CV",
    "Czech Republic": "CZ",
    "Czechia": "CZ",
    "Democratic Republic of the Congo": "CD",
    "DR Congo": "CD",
    "DRC": "CD",
    "Congo-Kinshasa": "CD",
    "Republic of the Congo": "CG",
    "Congo-Brazzaville": "CG",
    "East Timor": "TL",
    "Ivory Coast": "CI",
    "Cote d'Ivoire": "CI",
    "Kosovo": "XK",
    "Laos": "LA",
    "Macedonia": "MK",
    "Micronesia": "FM",
    "Moldova": "MD",
    "North Korea": "KP",
    "Palestine": "PS",
    "Russia": "RU",
    "South Korea": "KR",
    "Korea": "KR",
    "Swaziland": "SZ",
    "Syria": "SY",
    "Tanzania": "TZ",
    "Turkey": "TR",
    "United States of America": "US",
    "USA": "US",
    "US": "US",
    "Vatican": "VA",
    "Vatican City": "VA",
    "Venezuela": "VE",
    "Vietnam": "VN",
    "Iran": "IR",
}


@cache
def _tables() -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str]]:
    """Build (exact, normalised, alpha3-by-alpha2, name-by-alpha2) lookup tables."""
    exact: dict[str, str] = {}
    keyed: dict[str, str] = {}
    alpha3: dict[str, str] = {}
    name: dict[str, str] = {}
    for c in pycountry.countries:
        a2: str = c.alpha_2
        alpha3[a2] = c.alpha_3
        name[a2] = getattr(c, "common_name", None) or c.name
        for code in (a2, c.alpha_3, c.numeric):
            exact[code] = a2
        for text in (c.name, getattr(c, "official_name", None), getattr(c, "common_name", None)):
            if text:
                exact.setdefault(text, a2)
                keyed.setdefault(normalise(text), a2)
    xk2, xk3, xk_name = KOSOVO
    alpha3[xk2] = xk3
    name[xk2] = xk_name
    exact[xk2] = exact[xk3] = xk2
    for text, a2 in _EXTRA_NAMES.items():
        exact.setdefault(text, a2)
        keyed.setdefault(normalise(text), a2)
    return exact, keyed, alpha3, name


def country(text: str) -> str | None:
    """Return the ISO 3166-1 alpha-2 code for ``text``, or ``None`` if it is not recognised.

    Accepts alpha-2 (``FR``), alpha-3 (``FRA``), numeric (``250``, also ``4`` for ``004``)
    and English names (``France``, ``French Republic``), case-insensitively; ``XK``/``XKX``
    and ``Kosovo`` give ``XK``.
    """
    exact, keyed, _, _ = _tables()
    hit = exact.get(text)
    if hit is not None:
        return hit
    stripped = text.strip()
    if not stripped:
        return None
    if stripped.isdigit():
        return exact.get(stripped.zfill(3)) if len(stripped) <= 3 else None
    if len(stripped) <= 3:
        hit = exact.get(stripped.upper())
        if hit is not None:
            return hit
    return keyed.get(normalise(stripped))


def country_alpha3(alpha2: str) -> str | None:
    """Return the alpha-3 code for an alpha-2 code (``XK`` gives ``XKX``), else ``None``."""
    return _tables()[2].get(alpha2.upper())


def country_name(alpha2: str) -> str | None:
    """Return the English short (common) name for an alpha-2 code, else ``None``."""
    return _tables()[3].get(alpha2.upper())


def countries() -> list[tuple[str, str]]:
    """Return all known ``(alpha2, name)`` pairs, sorted by name (Kosovo included)."""
    return sorted(_tables()[3].items(), key=lambda item: item[1])
