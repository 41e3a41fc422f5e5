"""Persons and their per-record rendering for :mod:`maillon.collect.synth`.

A :class:`Person` is the ground truth: one real individual with one canonical spelling, one
birth date, one set of citizenships.  :meth:`Renderer.person_cells` turns it into the eleven
``prs_*`` cells of one record.  The first record of a person is almost clean; every later record
(another organisation, or the same perpetrator in another case) goes through the variation model
of the profile's ``variation`` block: typos, transliteration and spelling variants, accents
dropped, given and family name swapped, middle name merged or dropped, birth date reduced to a
year or off by one digit, citizenship partly different.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Generic, TypeVar

from maillon.collect.synth_names import (
    NamePair,
    NamePool,
    below,
    between,
    spelling_variant,
    strip_diacritics,
    transliterate,
    typo,
)

T = TypeVar("T")


class Weighted(Generic[T]):
    """Weighted choice over a fixed list, by bisection on cumulative weights (fast)."""

    __slots__ = ("items", "cum")

    def __init__(self, weights: Mapping[T, float] | Sequence[tuple[T, float]]) -> None:
        pairs = list(weights.items()) if isinstance(weights, Mapping) else list(weights)
        pairs = [(k, float(w)) for k, w in pairs if float(w) > 0]
        if not pairs:
            raise ValueError("no positive weight")
        total = sum(w for _, w in pairs)
        self.items: list[T] = [k for k, _ in pairs]
        acc = 0.0
        self.cum: list[float] = []
        for _, w in pairs:
            acc += w / total
            self.cum.append(acc)
        self.cum[-1] = 1.0

    def pick(self, rng: random.Random) -> T:
        """One item, drawn with the given weights."""
        return self.items[bisect_right(self.cum, rng.random())]

    def sample(self, rng: random.Random, k: int) -> list[T]:
        """Up to ``k`` distinct items, weighted, in draw order."""
        if k == 1:
            return [self.items[bisect_right(self.cum, rng.random())]]
        k = min(k, len(self.items))
        out: list[T] = []
        for _ in range(k * 4):
            item = self.pick(rng)
            if item not in out:
                out.append(item)
                if len(out) == k:
                    break
        return out


class Person:
    """One real individual (ground truth), shared by every record that describes them."""

    __slots__ = ("uid", "sex", "gender", "pool", "given", "middle", "family", "family2",
                 "birth", "cits", "lang", "phone", "email", "idno", "marital", "business",
                 "records")

    def __init__(self, uid: int, sex: str, gender: str, pool: NamePool) -> None:
        self.uid = uid
        self.sex = sex
        self.gender = gender
        self.pool = pool
        self.given: NamePair = ("", "")
        self.middle: NamePair = ("", "")
        self.family: NamePair = ("", "")
        self.family2 = ""
        self.birth = 0  # date ordinal; 0 = not known to anybody
        self.cits: tuple[str, ...] = ()
        self.lang = ""
        self.phone = ""
        self.email = ""
        self.idno = ""
        self.marital = ""
        self.business = ""  # company name when the "person" is a business
        self.records = 0  # records already written for this person


_ASCII_LOWER = str.maketrans({" ": "", "'": "", "-": "", "/": ""})
_MAIL_DOMAINS = ("gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hotmail.com",
                 "proton.me")


class Renderer:
    """Draws identity attributes of new persons and renders them per record."""

    def __init__(self, profile: Mapping[str, Any], variants: Mapping[str, tuple[str, ...]],
                 rng: random.Random) -> None:
        self.rng = rng
        self.v = {k: float(x) for k, x in profile["variation"].items()}
        self.variants = variants
        self.host = str(profile["host_country"])
        self.countries: Mapping[str, Any] = profile["countries"]
        self._strip_cache: dict[str, str] = {}
        prefix = f"+{self.countries[self.host]['phone']}"
        self._host_mobile = (prefix + "6", prefix + "7")

    # -- drawing ------------------------------------------------------------------------------

    def name(self, p: Person) -> None:
        """Give ``p`` a name from its pool, consistent with its sex."""
        rng, pool = self.rng, p.pool
        firsts = pool.female if p.sex == "F" else pool.male
        fams = pool.family_female if p.sex == "F" else pool.family_male
        p.given = firsts[below(rng, len(firsts))]
        p.family = fams[below(rng, len(fams))]
        if pool.order == "given_father":
            p.middle = pool.male[below(rng, len(pool.male))]
        elif p.sex == "F" and pool.middle_female:
            p.middle = (pool.middle_female[below(rng, len(pool.middle_female))], "")
        elif p.sex == "M" and pool.middle_male:
            p.middle = (pool.middle_male[below(rng, len(pool.middle_male))], "")
        elif pool.middle_from_male and rng.random() < pool.middle_from_male:
            p.middle = pool.male[below(rng, len(pool.male))]
        if pool.second_family and rng.random() < pool.second_family:
            p.family2 = fams[below(rng, len(fams))][0]

    def contacts(self, p: Person, adult: bool) -> None:
        """Phone, e-mail and identity document number of ``p``."""
        rng = self.rng
        origin = p.cits[0] if p.cits else self.host
        if origin == self.host or rng.random() < 0.6:
            p.phone = f"{self._host_mobile[below(rng, 2)]}{below(rng, 10**8):08d}"
        else:
            p.phone = f"+{self.countries[origin]['phone']}{between(rng, 10**8, 10**9)}"
        if adult and rng.random() < 0.7:
            user = self.ascii(p.given[0]).lower().translate(_ASCII_LOWER)
            fam = self.ascii(p.family[0]).lower().translate(_ASCII_LOWER)
            sep = "." if rng.random() < 0.5 else ""
            num = str(between(rng, 1, 99)) if rng.random() < 0.5 else ""
            p.email = f"{user}{sep}{fam}{num}@{_MAIL_DOMAINS[below(rng, 6)]}"
        if adult or rng.random() < 0.3:
            a, b = chr(65 + below(rng, 26)), chr(65 + below(rng, 26))
            p.idno = f"{origin}{a}{b}{below(rng, 10**7):07d}"

    def ascii(self, text: str) -> str:
        """Accent-free form of ``text`` (cached)."""
        out = self._strip_cache.get(text)
        if out is None:
            out = self._strip_cache[text] = strip_diacritics(text)
        return out

    # -- rendering ----------------------------------------------------------------------------

    def person_cells(self, p: Person, org: Mapping[str, Any]) -> list[str]:
        """The eleven cells ``prs_FirstName`` .. ``prs_PrimaryLanguage`` of one record."""
        rng, v = self.rng, self.v
        varied = p.records > 0
        p.records += 1
        if p.business:
            return ["", "", p.business, "", "", ";".join(p.cits[:1]), "", "", "", "", ""]
        first, middle, second = self._name_cells(p, varied)
        # birth date
        birth = ""
        if p.birth:
            r = rng.random()
            miss = v["birth_missing"] if varied else v["base_birth_missing"]
            year_only = v["birth_year_only"] if varied else v["base_birth_year_only"]
            if r < miss:
                birth = ""
            elif r < miss + year_only:
                birth = str(date.fromordinal(p.birth).year)
            elif varied and r < miss + year_only + v["birth_digit_off"]:
                birth = self._digit_off(p.birth)
            else:
                birth = date.fromordinal(p.birth).isoformat()
        cits = p.cits
        if varied and rng.random() < v["citizenship_change"]:
            if len(cits) > 1:
                cits = (cits[below(rng, len(cits))],)
            else:
                transit = self.countries.get(cits[0], {}).get("transit") or [self.host]
                extra = str(transit[below(rng, len(transit))])
                cits = cits if extra in cits else cits + (extra,)
        gender = p.gender if rng.random() > 0.03 else ""
        idno = p.idno if p.idno and rng.random() < org["id_share"] else ""
        if idno and varied and rng.random() < 0.05:
            idno = typo(idno, rng)
        phone = p.phone if rng.random() < org["phone_share"] else ""
        if phone.startswith("+33") and varied and rng.random() < 0.3:
            national = "0" + phone[3:]
            phone = " ".join(national[i:i + 2] for i in range(0, 10, 2))
        email = p.email if p.email and rng.random() < org["email_share"] else ""
        marital = p.marital if rng.random() < 0.8 else ""
        lang = p.lang if rng.random() < 0.85 else ""
        return [first, middle, second, birth, gender, ";".join(cits), idno, email, phone,
                marital, lang]

    def _name_cells(self, p: Person, varied: bool) -> tuple[str, str, str]:
        rng, v = self.rng, self.v
        (g_lat, g_nat), (m_lat, m_nat), (f_lat, f_nat) = p.given, p.middle, p.family
        if g_nat and f_nat:
            prob = v["native_script"] if varied else v["base_native_script"]
            if rng.random() < prob:
                return g_nat, m_nat, f_nat
        first, middle = g_lat, m_lat
        second = f"{f_lat} {p.family2}" if p.family2 else f_lat
        if not varied:
            if rng.random() < v["base_typo"]:
                first = typo(first, rng)
            return first, middle, second
        pool = p.pool
        if rng.random() < v["translit"]:
            if pool.scheme and g_nat:
                alt = pool.scheme + "_alt"
                first = transliterate(g_nat, alt)
                second = transliterate(f_nat, alt) if f_nat else second
            else:
                first = spelling_variant(first, self.variants, rng) or first
                if first == g_lat:
                    second = spelling_variant(second, self.variants, rng) or second
        if rng.random() < v["strip_diacritics"]:
            first, middle, second = self.ascii(first), self.ascii(middle), self.ascii(second)
        if middle:
            r = rng.random()
            if pool.order == "family_first" and r < v["merge_middle"]:
                if rng.random() < 0.5:
                    second, middle = f"{second} {middle}", ""
                else:
                    first, middle = f"{middle} {first}", ""
            elif r < v["merge_middle"] + v["drop_middle"]:
                middle = ""
        if p.family2 and rng.random() < v["drop_second_family"]:
            second = f_lat
        if rng.random() < v["typo"]:
            if rng.random() < 0.5:
                first = typo(first, rng)
            else:
                second = typo(second, rng)
        swap = v["swap_order"] * (3 if pool.order == "family_first" else 1)
        if rng.random() < swap:
            first, second = second, first
        return first, middle, second

    def _digit_off(self, ordinal: int) -> str:
        d = date.fromordinal(ordinal)
        r = self.rng.random()
        if r < 0.35:
            return date.fromordinal(ordinal + self.rng.choice((-1, 1))).isoformat()
        if r < 0.6 and d.day <= 12 and d.day != d.month:
            return d.replace(month=d.day, day=d.month).isoformat()
        if r < 0.8:
            try:
                return d.replace(month=(d.month % 12) + 1).isoformat()
            except ValueError:
                return date.fromordinal(ordinal - 1).isoformat()
        try:
            return d.replace(year=d.year + self.rng.choice((-1, 1))).isoformat()
        except ValueError:  # 29 February
            return date.fromordinal(ordinal + 1).isoformat()
