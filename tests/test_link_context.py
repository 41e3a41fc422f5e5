"""``maillon link run`` compares identity numbers (blind index) and trafficking events, and
scores only new or changed persons when it can (incremental runs)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from maillon.core.settings import Settings
from maillon.link.context import months
from maillon.link.engine import link
from maillon.link.models import LinkRun, PersonCluster
from maillon.store.api import Store
from tests.link_helpers import add_context, link_run, seed

pytestmark = pytest.mark.database

GIVEN = ("Amina", "Olga", "Thanh", "Grace", "Yusuf", "Irina", "Kofi", "Lucia", "Tomas", "Leila",
         "Dmitri", "Nadia", "Samuel", "Hana", "Pedro")
FAMILY = ("Okafor", "Petrenko", "Tran", "Mensah", "Haddad", "Novak", "Silva", "Kowalski",
          "Rahimi", "Ortiz")
CITIZENSHIP = ("NG", "UA", "VN", "GH", "SY", "CZ", "BR", "PL", "AF", "MX")


def background() -> list[tuple[str, str, str, str, str, str]]:
    """150 distinct persons (every given x family name, spread birth dates): enough pairs
    for random sampling to estimate how rarely unrelated records agree."""
    people = []
    for i, given in enumerate(GIVEN):
        for j, family in enumerate(FAMILY):
            k = i * len(FAMILY) + j
            people.append((f"bg{k}", given, family,
                           f"{1960 + k % 45}-{1 + k % 12:02d}-{1 + k % 28:02d}",
                           "Feminine" if k % 2 else "Masculine", CITIZENSHIP[(i + j) % 10]))
    return people


CITIES = (("IT", "Milano"), ("IT", "Roma"), ("DE", "Berlin"), ("FR", "Paris"), ("ES", "Madrid"),
          ("TH", "Bangkok"), ("AE", "Dubai"), ("TR", "Istanbul"), ("GB", "London"),
          ("NL", "Amsterdam"), ("BE", "Brussels"), ("PL", "Warsaw"), ("GR", "Athens"))


def background_context(ids: dict[str, str]) -> dict[str, tuple[str | None, list[Any]]]:
    """Identity numbers and one event for the background persons, so that random sampling
    sees how often unrelated persons share a number, a city or a month."""
    out: dict[str, tuple[str | None, list[Any]]] = {}
    for k in range(len(GIVEN) * len(FAMILY)):
        city = CITIES[k % len(CITIES)]
        year, month = 2010 + k % 12, 1 + (k * 7) % 12
        out[ids[f"bg{k}"]] = (f"BG{k:06d}" if k % 3 else None,
                              [(city[0], city[1], f"{year}-{month:02d}-01", None)])
    return out


def _clusters(store: Store) -> dict[str, str]:
    with store.engine.connect() as conn:
        return dict(conn.execute(select(PersonCluster.person_id, PersonCluster.cluster_id)).all())


def test_months_of_an_event() -> None:
    from datetime import date

    assert months(date(2019, 11, 20), date(2020, 2, 1)) == [
        "2019-11", "2019-12", "2020-01", "2020-02"]
    assert months(None, date(2020, 2, 1)) == ["2020-02"]
    assert months(None, None) == []
    assert len(months(date(2000, 1, 1), date(2020, 1, 1))) == 36


def test_identity_number_links_despite_a_name_change(store: Store, settings: Settings) -> None:
    ids = seed(store, settings, background() + [
        # the same woman before and after marriage, a birth year only in one record, and the
        # same passport number in both
        ("x1", "Mariana", "Ionescu", "1995-04-02", "Feminine", "RO"),
        ("x2", "Maria", "Dumitrescu", "1995", "Feminine", "RO"),
        # the same situation without the number: not enough to link
        ("y1", "Ioana", "Popa", "1992-08-15", "Feminine", "RO"),
        ("y2", "Ioa", "Stanciu", "1992", "Feminine", "RO"),
    ])
    context = background_context(ids)
    context[ids["x1"]] = ("RO1234567", [])
    context[ids["x2"]] = ("RO1234567", [])
    add_context(store, settings, context)
    link_run(store, settings)
    got = _clusters(store)
    assert got[ids["x1"]] == got[ids["x2"]]
    assert got[ids["y1"]] != got[ids["y2"]]
    with store.engine.connect() as conn:
        model = conn.execute(select(LinkRun.model)).scalar_one()
    # the saved model holds parameters, never values
    assert model is not None and "1234567" not in model and "mariana" not in model.lower()


def test_shared_events_change_the_decision(store: Store, settings: Settings) -> None:
    # three pairs alike (same given name, family-name variant, same birth year, sex and
    # citizenship unknown in the second record): one shares an exploitation city and period,
    # one has events far apart, one has none
    ids = seed(store, settings, background() + [
        ("c1", "Wei", "Zhou", "1990", "Masculine", "CN"), ("c2", "Wei", "Zhu", "1990", "", ""),
        ("d1", "Fang", "Zhou", "1988", "Feminine", "CN"), ("d2", "Fang", "Zhu", "1988", "", ""),
        ("e1", "Jing", "Zhou", "1991", "Feminine", "CN"), ("e2", "Jing", "Zhu", "1991", "", ""),
    ])
    context = background_context(ids)
    context[ids["c1"]] = (None, [("IT", "Milano", "2019-05-01", "2019-09-30")])
    context[ids["c2"]] = (None, [("IT", "Milano", "2019-08-01", None)])
    context[ids["d1"]] = (None, [("TH", "Bangkok", "2012-03-01", "2012-06-30")])
    context[ids["d2"]] = (None, [("NG", "Lagos", "2021-10-01", "2021-12-31")])
    add_context(store, settings, context)
    report = link_run(store, settings)
    assert report.mode == "full"
    got = _clusters(store)
    assert got[ids["c1"]] == got[ids["c2"]]  # shared events: linked
    assert got[ids["e1"]] != got[ids["e2"]]  # no events: not enough
    assert got[ids["d1"]] != got[ids["d2"]]


def test_second_run_scores_only_new_records(store: Store, settings: Settings) -> None:
    ids = seed(store, settings, background() + [
        ("a1", "Mohammed", "Al-Hassan", "1990-03-12", "Masculine", "SY"),
        ("a2", "Muhammad", "Al Hasan", "1990-03-12", "Masculine", "SY"),
    ])
    first = link_run(store, settings)
    assert first.mode == "full" and first.scored == len(ids)
    before = _clusters(store)
    assert before[ids["a1"]] == before[ids["a2"]]
    new = seed(store, settings, [
        ("a3", "Mohamad", "Al-Hassan", "1990-03-12", "Masculine", "SY"),
        ("n1", "Svetlana", "Morozova", "1986-10-10", "Feminine", "BY"),
    ])
    seen: list[Any] = []

    def spy(df: Any, **kwargs: Any) -> Any:
        result = link(df, **kwargs)
        seen.append((df, result))
        return result

    second = link_run(store, settings, spy)
    assert second.mode == "incremental" and second.scored == 2
    df, result = seen[0]
    fresh = set(df.loc[df["fresh"] == 1, "unique_id"])
    assert fresh == {new["a3"], new["n1"]}
    assert len(result.pairs) > 0
    assert all(a in fresh or b in fresh
               for a, b in zip(result.pairs["unique_id_l"], result.pairs["unique_id_r"],
                               strict=True))
    after = _clusters(store)
    assert after[new["a3"]] == before[ids["a1"]]  # joins the existing cluster, id kept
    assert all(after[pid] == cid for pid, cid in before.items())  # nobody else moved
    assert after[new["n1"]] not in before.values()
    third = link_run(store, settings)  # nothing changed: nothing scored, nothing moves
    assert third.mode == "incremental" and third.scored == 0
    assert _clusters(store) == after


def test_run_cli_refuses_full_and_incremental_together(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from maillon.cli import app

    res = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "link", "run", "--full",
                                   "--incremental"])
    assert res.exit_code == 2
    assert "exclude each other" in res.output
