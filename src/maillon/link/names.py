"""Name keys the linkage model compares: folded text, nickname-canonical form and a skeleton.

* :func:`fold` gives lower-case ASCII letters and single spaces, whatever the script:
  ``"Vlădelina"`` -> ``"vladelina"``, ``"Мария"`` -> ``"mariia"`` (ICU transliteration through
  ``normality``), so records typed in different scripts compare as text.
* :func:`canonical` maps a folded given name to its group's first name in ``nicknames.yaml``:
  ``"tom"`` -> ``"thomas"``, ``"yusuf"`` -> ``"joseph"``; other names are returned unchanged.
* :func:`skeleton` is a transliteration-tolerant phonetic key: vowels after the first letter
  dropped, letters that transliterations swap merged (``ph``/``f``, ``w``/``v``, ``k``/``c``/``q``,
  ``z``/``s``, ``y``/``i``, ``dj``/``j``...), repeats collapsed: ``"Mohammed"``, ``"Muhammad"``
  and ``"Mohamad"`` all give ``"mhmd"``; ``"Theidor"`` and ``"Theodor"`` give ``"tdr"``.

All three are pure functions of one string, cached per distinct value (a million records hold
far fewer distinct names).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

import yaml
from normality import ascii_text

NICKNAMES_PATH = Path(__file__).with_name("nicknames.yaml")

_NON_LETTER = re.compile(r"[^a-z ]+")
_SPACES = re.compile(r"\s+")
_DIGRAPHS = (
    ("sch", "s"), ("sh", "s"), ("ch", "k"), ("ph", "f"), ("th", "t"), ("kh", "h"),
    ("gh", "g"), ("dzh", "j"), ("dj", "j"), ("zh", "j"), ("ts", "s"), ("tz", "s"),
    ("ck", "k"), ("x", "ks"), ("ou", "u"),
)
_LETTERS = str.maketrans({"w": "v", "c": "k", "q": "k", "z": "s", "y": "i"})
_VOWELS = re.compile(r"[aeiou]+")


@lru_cache(maxsize=500_000)
def fold(text: str | None) -> str | None:
    """Lower-case ASCII letters and single spaces; ``None`` for empty or letter-less text."""
    if text is None:
        return None
    raw = text.strip()
    if not raw:
        return None
    if raw.isascii():
        out = raw.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", raw)
        stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
        out = stripped.lower() if stripped.isascii() else (ascii_text(raw) or "").lower()
    out = _SPACES.sub(" ", _NON_LETTER.sub(" ", out.replace("'", "").replace("-", " "))).strip()
    return out or None


@cache
def nickname_table() -> dict[str, str]:
    """Folded given name -> canonical name of its group (``nicknames.yaml``)."""
    with NICKNAMES_PATH.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    table: dict[str, str] = {}
    for group in doc["groups"]:
        head = str(group[0])
        for name in group:
            table[str(name)] = head
    return table


@lru_cache(maxsize=500_000)
def canonical(folded: str | None) -> str | None:
    """The nickname-canonical form of a folded given name (first token looked up)."""
    if folded is None:
        return None
    table = nickname_table()
    hit = table.get(folded)
    if hit is not None:
        return hit
    first, _, rest = folded.partition(" ")
    head = table.get(first)
    return f"{head} {rest}".strip() if head is not None and rest else (head or folded)


@lru_cache(maxsize=500_000)
def skeleton(folded: str | None) -> str | None:
    """Transliteration-tolerant phonetic key of a folded name (see module docstring)."""
    if folded is None:
        return None
    s = folded.replace(" ", "")
    if not s:
        return None
    for a, b in _DIGRAPHS:
        s = s.replace(a, b)
    s = s.translate(_LETTERS)
    head, tail = s[0], s[1:]
    if head in "aeiou":
        head = "a"
    tail = _VOWELS.sub("", tail).replace("h", "")
    out = [head]
    for ch in tail:
        if ch != out[-1]:
            out.append(ch)
    return "".join(out)
