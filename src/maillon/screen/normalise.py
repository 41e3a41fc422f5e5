"""Text normalisation for matching: ASCII folding (ICU for non-Latin scripts), tokens, keys."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import jellyfish
from normality import ascii_text
from rigour.names import replace_org_types_compare

_LATIN_EXTRA = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ł": "l",
                              "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "œ": "oe", "Œ": "OE",
                              "þ": "th", "ð": "d", "’": "'", "‘": "'", "ʼ": "'", "ʿ": "",
                              "ʾ": ""})
_CYRILLIC = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i",
    "ї": "yi", "є": "ye", "ґ": "g", "ў": "u", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c",
    "ђ": "dj", "џ": "dz"})
"""Cyrillic to Latin close to BGN/PCGN, the spelling sanctions lists use (ICU's ASCII form
drops the h of ch/sh/kh, which the lists keep)."""
_URDU = str.maketrans({"ھ": "ه", "ہ": "ه", "ۃ": "ه", "ڑ": "ر", "ٹ": "ت", "ڈ": "د", "ں": "ن",
                       "ے": "ي"})
"""Urdu and Pashto letters ICU leaves untransliterated ('?'), as their Arabic base letters
(do-chashmi he, retroflex r/t/d, nun ghunna, bari ye): Jaysh al-Muhajirin, Tariq Geedar."""
_AIN_INITIAL = re.compile(r"(^|\s|ال)ع")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_VOWELS = re.compile(r"[aeiouyw]+")
_REPEAT = re.compile(r"(.)\1+")


def script_of(text: str) -> str | None:
    """``None`` for Latin (or no letters); else the first non-Latin script seen."""
    for ch in text:
        if ch.isascii() or not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith("LATIN"):
            continue
        if name.startswith("ARABIC"):
            return "Arab"
        if name.startswith("CYRILLIC"):
            return "Cyrl"
        if name.startswith("CJK") or name.startswith("HIRAGANA") or name.startswith("KATAKANA"):
            return "Hani"
        if name.startswith("HANGUL"):
            return "Hang"
        if name.startswith("GREEK"):
            return "Grek"
        return "Other"
    return None


@lru_cache(maxsize=1 << 18)
def fold(text: str) -> str:
    """Lower-case ASCII of ``text``: plain ASCII as is, Latin by stripping accents, other
    scripts through ICU transliteration (normality.ascii_text)."""
    if text.isascii():
        return text.lower()
    text = text.translate(_LATIN_EXTRA)
    if script_of(text) is None:
        decomposed = unicodedata.normalize("NFKD", text)
        stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
        if stripped.isascii():
            return stripped.lower()
    if script_of(text) == "Arab":  # ta marbuta is written -a / -ah in Latin spellings
        # a word-initial ain is written as its vowel (Ali, Omar, Aziz, Abd), elsewhere dropped
        text = _AIN_INITIAL.sub(r"\1ا", text.translate(_URDU).replace("ة", "ه"))
        text = text.replace("ع", "").replace("ء", "").replace("ظ", "ض")
    if script_of(text) == "Cyrl":
        text = text.lower().translate(_CYRILLIC)
    return (ascii_text(text) or "").lower()


@lru_cache(maxsize=1 << 18)
def tokens(text: str) -> tuple[str, ...]:
    """Folded alphanumeric tokens of a name (punctuation and hyphens split tokens)."""
    folded = fold(text).replace("'", "").replace("?", "")
    found = tuple(t for t in _NON_ALNUM.split(folded) if t)
    if script_of(text) == "Arab":  # the article is written joined: altkryty -> al tkryty
        split: list[str] = []
        for t in found:
            if t == "allh":  # Allah, as Latin spellings write it
                split.append("allah")
            elif t.endswith("allh") and len(t) > 6:  # Khayrullah written as one word
                split.extend((t[:-4], "allah"))
            elif t.startswith("wal") and len(t) > 5:  # wa-l-: "and the"
                split.extend(("wa", "al", t[3:]))
            elif t.startswith("abdal") and len(t) > 6:  # abd al- written as one word
                split.extend(("abd", "al", t[5:]))
            elif t.startswith("al") and len(t) >= 4 and t != "allh":  # not Allah
                split.extend(("al", t[2:]))
            else:
                split.append(t)
        found = tuple(split)
    return found


def split_compounds(parts: tuple[str, ...]) -> tuple[str, ...]:
    """``parts`` with Latin compounds of a name and ``-ud-din`` / ``-ullah`` (Shamsuddin,
    Jallaloudine, Hidayatullah, Abdallah) in two parts, as the original script writes them
    (``shams`` ``din``; ``hidayat`` ``allah``). For comparing with a name from another
    script only: between Latin spellings the whole word compares better (typos)."""
    if not any(t.endswith(("din", "dine", "lah", "lla")) for t in parts):
        return parts
    return tuple(p for t in parts for p in _split_compound(t))


_DIN = re.compile(r"([a-z]{3,}?)[aeiou]{1,2}d?(din)e?")
_ALLAH = re.compile(r"([a-z]{3,}?)[uoa](?:llah?|lah)")


def _split_compound(token: str) -> tuple[str, ...]:
    found = _DIN.fullmatch(token)
    if found:
        return found.group(1), "din"
    found = _ALLAH.fullmatch(token)
    if found:
        return found.group(1), "allah"
    return (token,)


@lru_cache(maxsize=1 << 19)
def skeleton(token: str) -> str:
    """Consonant skeleton: a folded token without vowels (nor w/y), repeated letters merged,
    a few spelling equivalences folded (ph=f, q=k, c=k, z=s, j~dj, ou...). Arabic and Hebrew
    scripts write no short vowels, so the skeleton of a transliterated name meets the
    skeleton of its Latin spelling."""
    t = token.replace("ph", "f").replace("dj", "j").replace("ck", "k")
    for a, b in (("sh", "S"), ("ch", "C"), ("zh", "j"), ("kh", "h"), ("gh", "g"), ("dh", "d"),
                 ("th", "t"), ("ts", "s")):
        t = t.replace(a, b)
    t = t.replace("q", "k").replace("c", "k").replace("z", "s").replace("v", "f")
    t = t.replace("x", "ks")
    t = _VOWELS.sub("", t) or t[:1]
    if len(t) > 2 and t.endswith("h"):
        t = t[:-1]
    return _REPEAT.sub(r"\1", t)


@lru_cache(maxsize=1 << 19)
def phonetic(token: str) -> str:
    """Metaphone key of a folded token ('' for digits or very short tokens)."""
    if len(token) < 3 or not token.isalpha():
        return ""
    return str(jellyfish.metaphone(token))


@lru_cache(maxsize=1 << 18)
def org_tokens(text: str) -> tuple[str, ...]:
    """Tokens of an organisation name with legal forms in one short form (rigour's data:
    ``Limited Liability Company`` -> ``llc``, ``Aktiengesellschaft`` -> ``ag``)."""
    return tokens(str(replace_org_types_compare(text)))


_SOFT_C = re.compile(r"c(?=[eiy])")
_LOOSE = str.maketrans({"q": "k", "c": "k", "g": "k", "j": "k", "z": "d", "v": "f",
                        "x": "s", "h": None, "t": "d", "p": "b",
                        "a": None, "e": None, "i": None, "o": None, "u": None, "y": None,
                        "w": None})


@lru_cache(maxsize=1 << 19)
def loose_skeleton(token: str) -> str:
    """Looser skeleton for names across scripts: also without ``h`` (transliterations differ
    on digraphs: Arabic ``tḥ`` folds to ``th`` like Latin ``th``); one class for g, j, k, q
    and hard c (qaf is written q, k or g: Qasim, Kasim, Gasmi; jim j or g), one for d, t
    and z (dad and za are written d or z: Fadl, Fazal), c before e/i/y as s (Lounici)."""
    token = _SOFT_C.sub("s", token.replace("dj", "j").replace("ch", "s"))
    return _REPEAT.sub(r"\1", token.translate(_LOOSE))
