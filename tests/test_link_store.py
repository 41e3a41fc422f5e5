"""``maillon link run`` on the store: stable cluster ids, merge/split history, audit, labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import insert, select

from maillon.auth.context import Security
from maillon.core.ids import new_id
from maillon.core.settings import Settings
from maillon.link.models import LinkClusterEvent, LinkReview, PersonCluster
from maillon.link.service import decide
from maillon.link.stable import reassign
from maillon.store.api import Store
from maillon.store.audit_models import AuditEntry
from maillon.store.base import table_of
from tests.link_helpers import link_run, scripted, seed

pytestmark = pytest.mark.database

PEOPLE = [
    # (key, given, family, birth, gender, citizenship)
    ("a1", "Mohammed", "Al-Hassan", "1990-03-12", "Masculine", "SY"),
    ("a2", "Muhammad", "Al Hasan", "1990-03-12", "Masculine", "SY"),
    ("b1", "Elena", "Petrova", "1999-01-05", "Feminine", "RU"),
    ("b2", "Елена", "Петрова", "1999-01-05", "Feminine", "RU"),
    ("c1", "Thomas", "Whitfield", "1985-07-01", "Masculine", "GB"),
    ("d1", "Aisha", "Bello", "2001-11-30", "Feminine", "NG"),
]


def _seed(store: Store, settings: Settings, people: Sequence[tuple[str, ...]] = PEOPLE
          ) -> dict[str, str]:
    return seed(store, settings, people)


def _clusters(store: Store) -> dict[str, str]:
    with store.engine.connect() as conn:
        return dict(conn.execute(select(PersonCluster.person_id, PersonCluster.cluster_id)).all())


_scripted = scripted
_run = link_run


def test_real_model_links_variants_and_audits(store: Store, settings: Settings) -> None:
    ids = _seed(store, settings)
    report = _run(store, settings)
    got = _clusters(store)
    assert report.persons == len(PEOPLE) and len(got) == len(PEOPLE)
    assert got[ids["a1"]] == got[ids["a2"]]
    assert got[ids["b1"]] == got[ids["b2"]]
    assert len({got[ids["c1"]], got[ids["d1"]], got[ids["a1"]], got[ids["b1"]]}) == 4
    with store.engine.connect() as conn:
        rid, detail = conn.execute(select(AuditEntry.resource_id, AuditEntry.detail)
                                   .where(AuditEntry.action == "link")).one()
    assert rid == report.run_id
    assert "Mohammed" not in (detail or "")
    # a re-run with nothing changed keeps every id
    _run(store, settings)
    assert _clusters(store) == got


def test_merge_and_split_keep_uninvolved_ids(store: Store, settings: Settings) -> None:
    people = [(f"p{i}", f"G{i}", f"F{i}", "1990-01-01", "Feminine", "FR") for i in range(8)]
    ids = _seed(store, settings, people)
    p = [ids[f"p{i}"] for i in range(8)]
    # run 1: {0,1} {2} {3,4,5} {6,7}
    _run(store, settings, _scripted([(p[0], p[1]), (p[3], p[4]), (p[4], p[5]), (p[6], p[7])]))
    first = _clusters(store)
    k01, k2, k345, k67 = first[p[0]], first[p[2]], first[p[3]], first[p[6]]
    assert len({k01, k2, k345, k67}) == 4
    # run 2: merge {0,1}+{2}; split {3,4,5} into {3,4} and {5}; {6,7} untouched
    report = _run(store, settings, _scripted([(p[0], p[1]), (p[1], p[2]), (p[3], p[4]),
                                              (p[6], p[7])]))
    second = _clusters(store)
    assert second[p[6]] == second[p[7]] == k67  # uninvolved cluster keeps its id
    assert second[p[0]] == second[p[1]] == second[p[2]] == k01  # oldest survives (k01 first)
    assert second[p[3]] == second[p[4]] == k345  # largest part keeps the id
    assert second[p[5]] not in first.values()
    assert report.merged == 1 and report.split == 1
    with store.engine.connect() as conn:
        rows = conn.execute(select(LinkClusterEvent.kind, LinkClusterEvent.cluster_id,
                                   LinkClusterEvent.other_cluster_id)).all()
    events = {tuple(r) for r in rows}
    assert ("merge", k01, k2) in events
    assert ("split", k345, second[p[5]]) in events


def test_reassign_rules() -> None:
    counter = iter(range(100))
    age = {"K1": (1, "K1"), "K2": (2, "K2"), "K3": (3, "K3")}
    out = reassign([["a", "b", "c"], ["d"], ["e"]],
                   {"a": "K1", "b": "K1", "c": "K2", "d": "K3", "e": "K3"}, age,
                   lambda: f"N{next(counter)}")
    assert out.cluster == {"a": "K1", "b": "K1", "c": "K1", "d": "K3", "e": "N0"}
    assert ("merge", "K1", "K2", 1) in out.events and ("split", "K3", "N0", 1) in out.events
    assert out.retired == ["K2"]


def test_review_decision_is_label(store: Store, settings: Settings) -> None:
    people = [(f"p{i}", f"G{i}", f"F{i}", "1990-01-01", "Feminine", "FR") for i in range(3)]
    ids = _seed(store, settings, people)
    a, b = sorted((ids["p0"], ids["p1"]))
    security = Security.open(settings)
    with security.audit.audit_scope(store.engine) as conn:
        conn.execute(insert(table_of(LinkReview)).values(
            id="r1", person_id_l=a, person_id_r=b, match_probability=0.7, match_weight=1.0,
            waterfall="[]", status="pending", run_id=_run_row(conn)))
        decide(conn, review_id="r1", accept=True, actor="rev", audit=security.audit,
               source="test")
    _run(store, settings, _scripted([]))
    got = _clusters(store)
    assert got[a] == got[b] != got[ids["p2"]]


def _run_row(conn: Any) -> str:
    from maillon.link.models import LinkRun

    rid = new_id()
    conn.execute(insert(table_of(LinkRun)).values(id=rid, actor="t", threshold=0.9, persons=0,
                                                  pairs=0, clusters=0, created=0, merged=0,
                                                  split=0, labels_used=0))
    return rid
