"""Helpers of the link tests: persons written encrypted into the store, scripted linkers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import insert

from maillon.auth.context import Security
from maillon.core.ids import new_id
from maillon.core.settings import Settings
from maillon.link.graph import LinkResult, cluster
from maillon.link.service import run
from maillon.store import models as m
from maillon.store.api import Store
from maillon.store.base import table_of
from maillon.store.crypto import FieldCipher


def organisations(store: Store, *codes: str) -> list[str]:
    ids = []
    with store.engine.begin() as conn:
        for code in codes:
            oid = new_id()
            conn.execute(insert(table_of(m.Organisation)).values(id=oid, code=code,
                                                                 name=code.upper()))
            ids.append(oid)
    return ids


def seed(store: Store, settings: Settings, people: Sequence[tuple[str, ...]],
         orgs: Sequence[str] | None = None, created_by: str = "system") -> dict[str, str]:
    """Write ``(key, given, family, birth, gender, citizenship)`` persons; key -> person id.

    Persons go to ``orgs`` in turn (two new organisations when not given).
    """
    orgs = list(orgs) if orgs else organisations(store, f"police{new_id()[-6:]}",
                                                 f"ngo{new_id()[-6:]}")
    security = Security.open(settings)
    ids: dict[str, str] = {}
    with store.engine.begin() as conn:
        cipher = FieldCipher(security.keys, conn)
        for i, (key, given, family, birth, gender, cit) in enumerate(people):
            pid, org = new_id(), orgs[i % len(orgs)]
            enc = {f: cipher.encrypt(v, organisation_id=org, record_id=pid, field=f"person.{f}")
                   for f, v in (("given_name", given), ("family_name", family),
                                ("birth_date", birth))}
            conn.execute(insert(table_of(m.Person)).values(
                id=pid, organisation_id=org, source_record_id=key, role="victim",
                birth_date_precision="day", birth_year=int(birth[:4]), gender=gender,
                created_by=created_by, **enc))
            conn.execute(insert(table_of(m.PersonCode)).values(
                person_id=pid, vocabulary="citizenship", code=cit))
            ids[key] = pid
    return ids


def scripted(edges: list[tuple[str, str]], probability: float = 0.99) -> Any:
    """A stand-in for :func:`maillon.link.engine.link` that returns the given pairs."""
    def fake(df: pd.DataFrame, *, threshold: float, **_: Any) -> LinkResult:
        pairs = pd.DataFrame(
            [{"unique_id_l": min(a, b), "unique_id_r": max(a, b),
              "match_probability": probability, "match_weight": 1.5} for a, b in edges],
            columns=["unique_id_l", "unique_id_r", "match_probability", "match_weight"])
        assignment, best = cluster(df["unique_id"].tolist(), pairs, threshold)
        linker = type("L", (), {"_settings_obj": type("S", (), {
            "comparisons": [], "_probability_two_random_records_match": 1e-4})()})()
        return LinkResult(pairs=pairs, cluster=assignment, best=best, linker=linker)
    return fake


def link_run(store: Store, settings: Settings, linker: Any = None) -> Any:
    security = Security.open(settings)
    kwargs = {"linker": linker} if linker else {}
    with security.audit.audit_scope(store.engine) as conn:
        return run(conn, keys=security.keys, audit=security.audit, actor="tester", **kwargs)


Event = tuple[str, str, str | None, str | None]


def add_context(store: Store, settings: Settings,
                people: Mapping[str, tuple[str | None, Sequence[Event]]]) -> None:
    """Give seeded persons (id -> ``(identity number, events)``) an identity number
    (encrypted, with its blind index) and trafficking events ``(country, city, date_from,
    date_to)`` in a case of their own."""
    from datetime import date

    from sqlalchemy import select, update

    security = Security.open(settings)
    with store.engine.begin() as conn:
        cipher = FieldCipher(security.keys, conn)
        for person_id, (id_number, events) in people.items():
            org = conn.execute(select(m.Person.organisation_id)
                               .where(m.Person.id == person_id)).scalar_one()
            values: dict[str, Any] = {}
            if id_number is not None:
                values["identity_number"] = cipher.encrypt(
                    id_number, organisation_id=org, record_id=person_id,
                    field="person.identity_number")
                values["identity_number_bidx"] = cipher.blind_index(
                    id_number, field="person.identity_number")
            if events:
                case_id = new_id()
                conn.execute(insert(table_of(m.Case)).values(id=case_id, organisation_id=org))
                values["case_id"] = case_id
                for country, city, start, end in events:
                    conn.execute(insert(table_of(m.TraffickingEvent)).values(
                        id=new_id(), organisation_id=org, case_id=case_id,
                        person_id=person_id, event_type="Exploitation", country=country,
                        city=city, date_from=date.fromisoformat(start) if start else None,
                        date_to=date.fromisoformat(end) if end else None))
            if values:
                conn.execute(update(table_of(m.Person)).where(m.Person.id == person_id)
                             .values(**values))
