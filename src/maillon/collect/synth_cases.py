"""Incident and case generation for :mod:`maillon.collect.synth`.

An *incident* is one real trafficking situation: its victims, perpetrators and dates.  It is
recorded by one organisation, or (shared incident) by a chain of two to four organisations that
refer it to each other.  Each organisation writes its own case with its own case id, its own
record ids and its own view of the persons (see :mod:`maillon.collect.synth_people`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from maillon.collect.synth_names import (
    below,
    between,
    build_pools,
    iso_day,
    variant_table,
)
from maillon.collect.synth_people import Person, Renderer, Weighted

_GENDER = {"F": "Feminine", "M": "Masculine"}
_OTHER_GENDERS = ("TransgenderFeminine", "TransgenderMasculine", "NonConforming")
_REASONS = ("AdditionalServicesRequired", "MigrationOrChangeOfLocation", "Other")
_COMPANY = ("SARL", "SAS", "Services", "Intérim", "BTP", "Agri", "Logistique", "Nettoyage")
_FIRST_DAY = date(2018, 1, 1).toordinal()
_LAST_DAY = date(2025, 6, 30).toordinal()
_ONLINE = ("ThroughOnlineSocialNetworks", "ThroughAnOnlineAdvertisement")
_EMPTY10 = [""] * 10
_EMPTY12 = [""] * 12
_EMPTY13 = [""] * 13


def _ages(spec: Mapping[Any, float]) -> tuple[Weighted[int], dict[int, int]]:
    keys = sorted(int(k) for k in spec)
    widths = {k: (keys[i + 1] - k if i + 1 < len(keys) else max(1, k - keys[i - 1]))
              for i, k in enumerate(keys)}
    return Weighted({int(k): float(w) for k, w in spec.items()}), widths


class Victim:
    """Incident-level facts about one victim, shared by every organisation's record."""

    __slots__ = ("person", "child", "forms", "key", "vic", "hte")

    def __init__(self, person: Person, child: bool, forms: list[str], key: str) -> None:
        self.person = person
        self.child = child
        self.forms = forms
        self.key = key  # GLOTIP form: ForcedLabour, SexualExploitation or Other
        self.vic: list[str] = []  # relationship .. sex exploitation type (8 cells)
        self.hte: list[str] = []  # 12 hte_* cells


class CaseGenerator:
    """Streams rows ``(organisation index, 52 cells, person uid)`` for a whole dataset."""

    def __init__(self, profile: Mapping[str, Any], *, seed: int, organisations: int,
                 duplicate_share: float) -> None:
        if organisations < 1:
            raise ValueError("organisations must be at least 1")
        if not 0.0 <= duplicate_share <= 1.0:
            raise ValueError("duplicate_share must be between 0 and 1")
        self.rng = rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
        self.p = p = profile
        self.pools = build_pools(p["name_groups"])
        self.render = Renderer(p, variant_table(p["variant_groups"]), rng)
        self.host = str(p["host_country"])
        self.countries: Mapping[str, Any] = p["countries"]
        self.orgs = self._organisations(organisations)
        # person-level share of 2+ organisations ~ incident share x victims kept downstream
        self.p_shared = min(1.0, duplicate_share * 1.25) if organisations > 1 else 0.0
        g = p["glotip"]
        self.sex_age = Weighted(g["sex_age"])
        self.form = {k: Weighted(v) for k, v in g["form_by_sex_age"].items()}
        self.foreign = Weighted(g["foreign_citizenship"])
        self.w = {k: Weighted(p[k]) for k in (
            "other_forms_children", "other_forms_adults", "industry_female", "industry_male",
            "sex_types", "control_sexual", "control_labour", "control_count",
            "recruitment_method", "recruitment_apps", "relationship_adult",
            "relationship_child", "roles_perpetrator", "marital_adult", "services",
            "shared_incident_orgs")}
        cs = p["case_size"]
        self.n_victims = Weighted({int(k): v for k, v in cs["victims"].items()})
        self.n_perps = Weighted({int(k): v for k, v in cs["perpetrators"].items()})
        self.age_child, self.age_adult, self.age_perp = (
            _ages(p[k]) for k in ("age_children", "age_adults", "age_perpetrators"))
        self.vic_masks = [tuple(rng.random() < 0.87 for _ in range(8)) for _ in range(512)]
        self.hte_masks = [tuple(rng.random() < 0.9 for _ in range(12)) for _ in range(512)]
        self.perp_pool: list[Person] = []
        self._choosers: dict[tuple[str, bool], Weighted[int]] = {}
        self.next_uid = 1

    def _organisations(self, k: int) -> list[dict[str, Any]]:
        base = [dict(o) for o in self.p["organisations"]]
        out = []
        for i in range(k):
            org = dict(base[i % len(base)])
            if i >= len(base):
                n = i // len(base) + 1
                org.update(name=f"{org['name']} {n}", slug=f"{org['slug']}-{n}",
                           prefix=f"{org['prefix']}{n}")
            org["records"] = 0
            org["cases"] = 0
            org["status_w"] = Weighted(org["status"])
            org["labour"] = str(org["slug"]).startswith("labour")
            out.append(org)
        if all(o.get("children_only") for o in out):
            out[0]["children_only"] = False
        return out

    # -- persons ------------------------------------------------------------------------------

    def _age(self, spec: tuple[Weighted[int], dict[int, int]]) -> int:
        start = spec[0].pick(self.rng)
        return start + below(self.rng, spec[1][start])

    def _person(self, sex: str, country: str, age: int, at: int) -> Person:
        rng = self.rng
        r = rng.random()
        if r < self.p["gender_unknown_share"]:
            gender = "NonSpecifiedUnknown"
        elif r < self.p["gender_unknown_share"] + self.p["gender_other_share"]:
            gender = _OTHER_GENDERS[below(rng, 3)]
        else:
            gender = _GENDER[sex]
        info = self.countries[country]
        person = Person(self.next_uid, sex, gender, self.pools[info["names"]])
        self.next_uid += 1
        self.render.name(person)
        person.birth = at - age * 365 - below(rng, 365)
        cits: tuple[str, ...] = (country,)
        if rng.random() < self.p["dual_citizenship_share"]:
            other = (info.get("transit") or [self.host])[0]
            cits = (country, str(other)) if other != country else cits
        person.cits = cits
        person.lang = str(info["lang"])
        person.marital = self.w["marital_adult"].pick(rng) if age >= 18 else (
            "Single" if rng.random() < 0.5 else "")
        self.render.contacts(person, age >= 16)
        return person

    def _victim(self, country: str, at: int) -> Victim:
        rng, w = self.rng, self.w
        cell = self.sex_age.pick(rng)
        sex = "F" if cell in ("girls", "women") else "M"
        child = cell in ("girls", "boys")
        age = self._age(self.age_child if child else self.age_adult)
        key = self.form[cell].pick(rng)
        forms = [key if key != "Other" else
                 w["other_forms_children" if child else "other_forms_adults"].pick(rng)]
        if child and key == "ForcedLabour" and rng.random() < 0.5:
            forms.append("ChildLabour")
        if rng.random() < self.p["second_form_share"]:
            extra = "SexualExploitation" if key != "SexualExploitation" else "ForcedLabour"
            forms.append(extra)
        person = self._person(sex, country, age, at)
        if "ForcedMarriage" in forms and age >= 16:
            person.marital = "Married"
        v = Victim(person, child, forms, key)
        labour = "ForcedLabour" in forms or "ChildLabour" in forms
        sexual = "SexualExploitation" in forms
        methods = w["recruitment_method"].sample(rng, 1 + (rng.random() < 0.2))
        apps = (w["recruitment_apps"].sample(rng, 1 + (rng.random() < 0.25))
                if any(m in _ONLINE for m in methods) else [])
        control = w["control_sexual" if sexual else "control_labour"]
        controls = control.sample(rng, w["control_count"].pick(rng))
        industry = w["industry_female" if sex == "F" else "industry_male"].pick(rng) \
            if labour else ""
        sex_types = w["sex_types"].sample(rng, 1 + (rng.random() < 0.15)) if sexual else []
        rel = w["relationship_child" if child else "relationship_adult"].pick(rng)
        v.vic = [rel, str(age), ";".join(methods), ";".join(apps), ";".join(controls),
                 ";".join(forms), industry, ";".join(sex_types)]
        return v

    def _perpetrator(self, country: str, at: int) -> Person:
        rng = self.rng
        if self.perp_pool and rng.random() < self.p["recurring_perpetrator"]:
            return self.perp_pool[below(rng, len(self.perp_pool))]
        r = rng.random()
        origin = country if r < 0.6 else self.host if r < 0.9 else self.foreign.pick(rng)
        sex = "F" if rng.random() < self.p["glotip"]["perpetrator_female_share"] else "M"
        person = self._person(sex, origin, self._age(self.age_perp), at)
        if rng.random() < self.p["business_perpetrator_share"]:
            person.business = f"{person.family[0]} {_COMPANY[below(rng, len(_COMPANY))]}"
            person.cits = (self.host,)
        if len(self.perp_pool) < 5000:
            self.perp_pool.append(person)
        else:
            self.perp_pool[below(rng, 5000)] = person
        return person

    # -- incidents ----------------------------------------------------------------------------

    def _city(self, country: str) -> tuple[str, str]:
        cities = self.countries.get(country, {}).get("cities") or []
        if not cities or self.rng.random() < 0.2:
            return "", ""
        city, state = cities[below(self.rng, len(cities))]
        return str(state) if self.rng.random() < 0.5 else "", str(city)

    def _hte(self, country: str, recruited: int, detected: int) -> list[str]:
        rng = self.rng
        ex_from = min(recruited + between(rng, 3, 180), detected - 1)
        ex_end = max(ex_from, detected - between(rng, 0, 15))
        ex_to = iso_day(ex_end) if rng.random() < 0.7 else ""
        r_state, r_city = self._city(country)
        t_country = t_city = t_date = ""
        transit = self.countries.get(country, {}).get("transit") or []
        if country != self.host and transit and rng.random() < 0.45:
            t_country = str(transit[below(rng, len(transit))])
            t_date = iso_day(recruited + (ex_from - recruited) // 2)
        e_country = self.host
        if country != self.host and rng.random() < self.p["exploited_outside_host_share"]:
            others = self.p["other_exploitation_countries"]
            e_country = str(others[below(rng, len(others))])
        e_state, e_city = self._city(e_country)
        return [country, r_state, r_city,
                iso_day(recruited) if rng.random() < 0.6 else "",
                t_country, t_city, t_date, e_country, e_state, e_city,
                iso_day(ex_from) if rng.random() < 0.8 else "", ex_to]

    def _chain(self, key: str, has_child: bool) -> list[int]:
        rng = self.rng
        chooser = self._choosers.get((key, has_child))
        if chooser is None:
            chooser = self._choosers[(key, has_child)] = Weighted(
                [(i, float(o["affinity"].get(key, 1.0))) for i, o in enumerate(self.orgs)
                 if has_child or not o.get("children_only")])
        m = 1
        if rng.random() < self.p_shared:
            m = min(int(self.w["shared_incident_orgs"].pick(rng)), len(chooser.items))
        return chooser.sample(rng, m)

    def rows(self) -> Iterator[tuple[int, list[str], int]]:
        """Rows without end; the caller stops after as many as it needs."""
        rng = self.rng
        while True:
            detected = between(rng, _FIRST_DAY, _LAST_DAY)
            country = self.host if rng.random() < self.p["glotip"]["domestic_share"] \
                else self.foreign.pick(rng)
            victims = []
            for _ in range(self.n_victims.pick(rng)):
                c = country if rng.random() < 0.9 else self.foreign.pick(rng)
                recruited = detected - between(rng, 20, 1100)
                v = self._victim(c, recruited)
                v.hte = self._hte(c, recruited, detected)
                victims.append(v)
            perps = [self._perpetrator(country, detected) for _ in range(self.n_perps.pick(rng))]
            chain = self._chain(victims[0].key, any(v.child for v in victims))
            yield from self._incident(chain, victims, perps, detected)

    def _incident(self, chain: list[int], victims: list[Victim], perps: list[Person],
                  detected: int) -> Iterator[tuple[int, list[str], int]]:
        rng = self.rng
        reg = detected
        regs = []
        for _ in chain:
            regs.append(reg)
            reg += between(rng, 1, 90)
        for pos, oi in enumerate(chain):
            org = self.orgs[oi]
            org["cases"] += 1
            case_id = f"{org['prefix']}-CASE-{org['cases']:06d}"
                # case-level cells
            incoming = ["", "", ""]
            outgoing = ["", "", ""]
            if pos > 0:
                prev = self.orgs[chain[pos - 1]]
                incoming = [prev["name"], iso_day(regs[pos]), _REASONS[below(rng, 3)]]
            elif rng.random() < 0.08:
                ext = self.p["external_organisations"]
                incoming = [ext[below(rng, len(ext))], iso_day(regs[pos] - 1),
                            _REASONS[below(rng, 3)]]
            if pos + 1 < len(chain):
                nxt = self.orgs[chain[pos + 1]]
                outgoing = [nxt["name"], iso_day(regs[pos + 1]),
                            _REASONS[below(rng, 3)]]
                status = "ClosedReferred" if rng.random() < 0.6 else "FollowUp"
            else:
                r = rng.random()
                status = "Active" if r < 0.35 else "FollowUp" if r < 0.55 else "Closed"
                if status == "Closed" and rng.random() < 0.15:
                    ext = self.p["external_organisations"]
                    status = "ClosedReferred"
                    outgoing = [ext[below(rng, len(ext))],
                                iso_day(regs[pos] + between(rng, 5, 200)),
                                _REASONS[below(rng, 3)]]
            closure = ""
            if status == "ClosedReferred":
                closure = "Referred to another organisation"
            elif status == "Closed":
                reasons = self.p["closure_reasons"]
                closure = str(reasons[below(rng, len(reasons))])
            case = [status, iso_day(regs[pos]), closure]
            keep = victims
            if pos > 0:
                keep = [v for v in victims if rng.random() < 0.9] or victims[:1]
            for v in keep:
                yield oi, self._victim_row(org, case_id, v, case, incoming, outgoing,
                                           regs[pos]), v.person.uid
            if perps and (pos == 0 or rng.random() < 0.5) and rng.random() < org["perpetrators"]:
                for per in perps:
                    yield oi, self._perp_row(org, case_id, per, case, incoming,
                                             outgoing), per.uid
            if rng.random() < self.p["case_size"]["witness_share"]:
                w = self._person("F" if rng.random() < 0.5 else "M", self.host,
                                 self._age(self.age_perp), regs[pos])
                yield oi, self._head(org, case_id, "Witness", w) + _EMPTY13 + case + \
                    _EMPTY12 + incoming + outgoing + ["", "", ""], w.uid

    def _head(self, org: dict[str, Any], case_id: str, role: str, p: Person) -> list[str]:
        org["records"] += 1
        return [f"{org['prefix']}-{org['records']:06d}", case_id, org["name"], role,
                *self.render.person_cells(p, org)]

    def _victim_row(self, org: dict[str, Any], case_id: str, v: Victim, case: list[str],
                    incoming: list[str], outgoing: list[str], reg: int) -> list[str]:
        rng = self.rng
        status = org["status_w"].pick(rng)
        decision = org["decision"] if status != "PossibleVictimOfTrafficking" else ""
        # Which known facts this record leaves blank: one of 512 pre-drawn patterns.
        mask = self.vic_masks[below(rng, 512)]
        vic = [c if k else "" for c, k in zip(v.vic, mask, strict=True)]
        vic[5] = v.vic[5]  # type of exploitation is always recorded
        if org["labour"]:
            vic[6] = v.vic[6]  # labour inspectors always record the industry
        hte_mask = self.hte_masks[below(rng, 512)]
        hte = [c if k else "" for c, k in zip(v.hte, hte_mask, strict=True)]
        services = ""
        if rng.random() < org["services_share"]:
            chosen = self.w["services"].sample(rng, 1 + below(rng, 3))
            if "SexualExploitation" not in v.forms and "SexualExploitationRehabilitation" \
                    in chosen and len(chosen) > 1:
                chosen.remove("SexualExploitationRehabilitation")
            services = ";".join(chosen)
        consent = consent_date = ""
        if rng.random() < org["consent_share"]:
            consent = "true" if rng.random() < 0.92 else "false"
            if consent == "true":
                consent_date = iso_day(reg + below(rng, 4))
        return [*self._head(org, case_id, "Victim", v.person), status, decision, *vic, "", "", "",
                *case, *hte, *incoming, *outgoing, services, consent, consent_date]

    def _perp_row(self, org: dict[str, Any], case_id: str, per: Person, case: list[str],
                  incoming: list[str], outgoing: list[str]) -> list[str]:
        rng = self.rng
        roles = ";".join(self.w["roles_perpetrator"].sample(rng, 1 + (rng.random() < 0.35)))
        entity = "Business" if per.business else "Individual"
        age = ""
        if not per.business and rng.random() < 0.7:
            age = str(int(case[1][:4]) - date.fromordinal(per.birth).year)
        return [*self._head(org, case_id, "Perpetrator", per), *_EMPTY10, roles, entity, age,
                *case, *_EMPTY12, *incoming, *outgoing, "", "", ""]
