"""Name pools and name variation for the synthetic case generator (:mod:`maillon.collect.synth`).

Pools are built once per run from Faker's person-provider tuples (read as plain data, never
through Faker's random generator, which is slow and has its own seed) and from the hand-written
lists in ``synth_profile.yaml``.  Every pool entry is a ``(latin, native)`` pair: ``native`` is
the same name in its original script (Cyrillic, Arabic, Han) or ``""`` when only a Latin form is
known.  Cyrillic names are transliterated with a national scheme; a second scheme gives the
"other spelling" variant (Ukrainian ``Oleksandr``/``Aleksandr``, ``Khrystyna``/``Hrystyna``).

Everything here is deterministic given the ``random.Random`` passed in: pools are built from
ordered tuples and the profile's lists, never from sets or dict ordering that could vary.
"""

from __future__ import annotations

import importlib
import random
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

NamePair = tuple[str, str]

def below(rng: random.Random, n: int) -> int:
    """A uniform integer in ``[0, n)``; several times faster than ``rng.randrange(n)``."""
    return int(rng.random() * n)


def between(rng: random.Random, a: int, b: int) -> int:
    """A uniform integer in ``[a, b)``."""
    return a + int(rng.random() * (b - a))


_ISO_CACHE: dict[int, str] = {}


def iso_day(ordinal: int) -> str:
    """``YYYY-MM-DD`` of a proleptic Gregorian ordinal (cached: the generator reuses days)."""
    out = _ISO_CACHE.get(ordinal)
    if out is None:
        out = _ISO_CACHE[ordinal] = date.fromordinal(ordinal).isoformat()
    return out


# --- transliteration -------------------------------------------------------------------------

_UA_OFFICIAL = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh",
    "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "'": "", "’": "",
    "ы": "y", "э": "e", "ё": "e", "ъ": "",
}
# Word-initial forms of the Ukrainian national scheme (KMU 2010).
_UA_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
# Russian-style romanisation often used for Ukrainian names in older passports and by officers.
_RU_STYLE = dict(_UA_OFFICIAL, г="g", и="i", й="y", ю="yu", я="ya", є="ye", ї="yi", х="kh")
_BG_OFFICIAL = dict(_UA_OFFICIAL, г="g", и="i", й="y", х="h", щ="sht", ъ="a", ь="y", ю="yu",
                    я="ya")
_BG_ALT = dict(_BG_OFFICIAL, х="kh", ъ="u", щ="sht", ж="j")

_SCHEMES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "ua": (_UA_OFFICIAL, _UA_INITIAL),
    "ua_alt": (_RU_STYLE, {}),
    "bg": (_BG_OFFICIAL, {}),
    "bg_alt": (_BG_ALT, {}),
}


def transliterate(text: str, scheme: str) -> str:
    """Romanise Cyrillic ``text`` with ``scheme`` (``ua``, ``ua_alt``, ``bg``, ``bg_alt``).

    Characters outside the table (Latin letters, spaces, hyphens) pass through unchanged; a
    capital Cyrillic letter yields a capitalised Latin group (``Щ`` -> ``Shch``).
    """
    table, initial = _SCHEMES[scheme]
    out: list[str] = []
    at_start = True
    for ch in text:
        low = ch.lower()
        latin = (initial.get(low) if at_start else None) or table.get(low)
        if latin is None:
            out.append(ch)
        elif ch != low and latin:
            out.append(latin[0].upper() + latin[1:])
        else:
            out.append(latin)
        at_start = not ch.isalpha()
    return "".join(out)


_EXTRA_ASCII = str.maketrans({"đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ß": "ss", "ı": "i",
                              "ø": "o", "Ø": "O", "æ": "ae", "œ": "oe"})


def strip_diacritics(text: str) -> str:
    """``text`` without accents (``Nguyễn`` -> ``Nguyen``, ``Łódź`` -> ``Lodz``); non-Latin
    scripts keep their letters."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA_ASCII))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# --- variation -------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def typo(text: str, rng: random.Random) -> str:
    """One keying error in ``text``: a substituted, deleted or transposed letter.

    Names of two letters or fewer come back unchanged, so a typo never empties a field.
    """
    n = len(text)
    if n <= 2:
        return text
    i = between(rng, 1, n)  # keep the initial: clerks rarely mistype the first letter
    op = rng.random()
    if op < 0.4:
        ch = _LETTERS[below(rng, 26)]
        return text[:i] + ch + text[i + 1:]
    if op < 0.7:
        return text[:i] + text[i + 1:]
    if i == n - 1:
        i -= 1
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def variant_table(groups: Iterable[Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Map every spelling in ``groups`` to the other spellings of its group."""
    table: dict[str, tuple[str, ...]] = {}
    for group in groups:
        unique = list(dict.fromkeys(group))
        for name in unique:
            table[name] = tuple(other for other in unique if other != name)
    return table


def spelling_variant(text: str, table: Mapping[str, tuple[str, ...]],
                     rng: random.Random) -> str | None:
    """``text`` with one word replaced by a known variant spelling, or ``None`` if no word of
    ``text`` (nor its accent-free form) is in ``table``."""
    words = text.split(" ")
    for i, word in enumerate(words):
        options = table.get(word) or table.get(strip_diacritics(word))
        if options:
            words[i] = options[below(rng, len(options))]
            return " ".join(words)
    return None


# --- pools -----------------------------------------------------------------------------------


@dataclass
class NamePool:
    """Name material of one name group (e.g. ``ua``, ``ar``, ``vi``).

    ``family_female`` differs from ``family_male`` only for languages with gendered surnames
    (Ukrainian, Bulgarian, Polish).  ``order`` is ``given_first`` (default), ``family_first``
    (Vietnamese, Chinese: the clerk may swap them) or ``given_father`` (Eritrean, Ethiopian,
    Somali: the middle name is the father's given name and always present).
    """

    female: list[NamePair]
    male: list[NamePair]
    family_male: list[NamePair]
    family_female: list[NamePair]
    order: str = "given_first"
    scheme: str = ""
    middle_female: list[str] = field(default_factory=list)
    middle_male: list[str] = field(default_factory=list)
    middle_from_male: float = 0.0
    second_family: float = 0.0


def _provider_names(locale: str, attr: str) -> list[str]:
    module = importlib.import_module(f"faker.providers.person.{locale}")
    value: Any = getattr(module.Provider, attr, None)
    if not value:
        return []
    names = [str(v) for v in value]  # tuples, lists and OrderedDict keys alike
    return [n for n in names if n and n not in ("John", "Jane", "Doe")]


def _polish_female(surname: str) -> str:
    for male, female in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
        if surname.endswith(male):
            return surname[: -len(male)] + female
    return surname


def _pairs(value: Any) -> list[NamePair]:
    return [(str(p[0]), str(p[1])) for p in value or []]


def _latin(value: Any) -> list[NamePair]:
    return [(str(v), "") for v in value or []]


def build_pool(spec: Mapping[str, Any], groups: Mapping[str, Any]) -> NamePool:
    """Build one :class:`NamePool` from a ``name_groups`` entry of the profile."""
    female: list[NamePair] = _latin(spec.get("female"))
    male: list[NamePair] = _latin(spec.get("male"))
    fam_m: list[NamePair] = _latin(spec.get("family"))
    fam_f: list[NamePair] = []
    scheme = str(spec.get("scheme", ""))
    cyrillic = spec.get("script") == "cyrillic"
    gendered_first = bool(spec.get("gendered_faker_first", True))
    for locale in spec.get("faker", []):
        f_names = _provider_names(locale, "first_names_female")
        m_names = _provider_names(locale, "first_names_male")
        if not f_names and not m_names and gendered_first:
            f_names = m_names = _provider_names(locale, "first_names")
        lm = _provider_names(locale, "last_names_male") or _provider_names(locale, "last_names")
        lf = _provider_names(locale, "last_names_female")
        if locale == "pl_PL":
            lm = _provider_names(locale, "unisex_last_names") + _provider_names(
                locale, "male_last_names")
            lf = [_polish_female(s) for s in lm]
        if cyrillic:
            female += [(transliterate(n, scheme), n) for n in f_names]
            male += [(transliterate(n, scheme), n) for n in m_names]
            fam_m += [(transliterate(n, scheme), n) for n in lm]
            fam_f += [(transliterate(n, scheme), n) for n in lf]
        else:
            female += _latin(f_names)
            male += _latin(m_names)
            fam_m += _latin(lm)
            fam_f += _latin(lf)
    source = groups.get(str(spec.get("pairs_from", "")), spec)
    pf, pm, pfam = (_pairs(source.get(k)) for k in ("pairs_female", "pairs_male", "pairs_family"))
    # Original-script pairs make up about half of each list, whatever the Faker list size.
    female += pf * max(1, len(female) // max(1, len(pf)))
    male += pm * max(1, len(male) // max(1, len(pm)))
    if "pairs_from" not in spec:
        fam_m += pfam * max(1, len(fam_m) // max(1, len(pfam)))
    return NamePool(
        female=female or male, male=male or female, family_male=fam_m,
        family_female=fam_f or fam_m, order=str(spec.get("order", "given_first")),
        scheme=scheme,
        middle_female=[str(x) for x in spec.get("middle_female", [])],
        middle_male=[str(x) for x in spec.get("middle_male", [])],
        middle_from_male=float(spec.get("middle_from_male", 0.0)),
        second_family=float(spec.get("second_family", 0.0)),
    )


def build_pools(groups: Mapping[str, Any]) -> dict[str, NamePool]:
    """All name pools of the profile's ``name_groups``, keyed by group name."""
    return {name: build_pool(spec, groups) for name, spec in groups.items()}
