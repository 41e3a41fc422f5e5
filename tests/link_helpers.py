"""Helpers of the link tests: persons written encrypted into the store, scripted linkers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import insert

from maillon.auth.context import Security
from maillon.core.ids import new_id
from maillon.core.settings import Settings
from maillon.link.engine import LinkResult, cluster
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
