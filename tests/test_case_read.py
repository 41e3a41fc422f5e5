"""One case read back whole: the one-statement read keeps types and a stable order.

The case read brings the child rows back as JSON (``maillon.store.sqljson``), where dates are
text and SQLite's booleans are numbers; these tests pin what the callers get: dates as
``date``, consents as ``bool``, every child row, in an order that does not depend on the
engine or on how the rows were stored. Run on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from maillon.collect.api import CaseDetail, ImportOptions, get_case, import_file
from maillon.core.errors import NotFound
from maillon.core.settings import load_settings
from maillon.store import models as m
from maillon.store.api import Store
from maillon.store.crypto import FieldCipher
from maillon.store.keys import FileKeyProvider
from tests.factories import GOOD_ROWS, write_csv

pytestmark = pytest.mark.database


@pytest.fixture
def case_id(store: Store, tmp_path: Path) -> str:
    """Case C-1 of the good rows, with more child rows than an import gives it."""
    import_file(store.engine, write_csv(tmp_path / "good.csv", GOOD_ROWS), ImportOptions())
    with store.sessions() as session, session.begin():
        case = session.scalars(select(m.Case).where(m.Case.source_record_id == "C-1")).one()
        ana = session.scalars(select(m.Person).where(m.Person.source_record_id == "POL-1")).one()
        org = case.organisation_id
        for i, when in enumerate([None, date(2019, 1, 2), None, date(2018, 6, 1)]):
            session.add(m.TraffickingEvent(id=f"ev-{3 - i}", organisation_id=org,
                                           case_id=case.id, event_type="Transit",
                                           country="HU", city=f"c{i}", date_from=when,
                                           date_to=when))
        session.add(m.SupportPlan(organisation_id=org, case_id=case.id, person_id=ana.id,
                                  plan_type="Shelter", planned_end_date=date(2023, 2, 28)))
        session.add(m.Consent(organisation_id=org, person_id=ana.id, scope="DataSharing",
                              given=False, decided_on=date(2023, 3, 1)))
        session.add(m.Referral(organisation_id=org, case_id=case.id, direction="outgoing",
                               other_organisation="Clinic", referral_date=None))
        return case.id


def _read(store: Store, case_id: str) -> CaseDetail:
    cipher = FieldCipher(FileKeyProvider.open_or_create(load_settings().key_file), store.engine)
    with store.sessions() as session:
        return get_case(session, case_id, cipher=cipher)


def test_child_rows_keep_their_types(store: Store, case_id: str) -> None:
    detail = _read(store, case_id)
    assert detail.support_plans == [{"person_id": detail.persons[1].id, "plan_type": "Shelter",
                                     "planned_end_date": date(2023, 2, 28),
                                     "actual_end_date": None}]
    assert sorted((c["scope"], c["given"], c["decided_on"]) for c in detail.consents) == [
        ("DataProcessing", True, None),
        ("DataSharing", False, date(2023, 3, 1)),
    ]
    assert all(type(c["given"]) is bool for c in detail.consents)
    ana = next(p for p in detail.persons if p.source_record_id == "POL-1")
    assert (ana.given_name, ana.family_name, ana.birth_date) == ("Ana", "Popescu", "1998-03-04")
    assert ana.codes["methods_of_control"] == ["DebtBondage", "WithholdsDocuments"]
    assert ana.victim is not None and ana.victim["age_when_trafficked"] == 22
    assert detail.summary.exploitation == ["SexualExploitation"]
    assert detail.summary.countries == ["DE"]


def test_child_rows_come_in_a_stable_order(store: Store, case_id: str) -> None:
    detail = _read(store, case_id)
    assert [p.role for p in detail.persons] == ["Perpetrator", "Victim"]
    dates = [e["date_from"] for e in detail.events]
    undated = dates.index(None)
    assert dates[:undated] == sorted(dates[:undated]) and set(dates[undated:]) == {None}
    # the added transit events: by date, then the undated ones by id (ev-1 before ev-3)
    assert [e["city"] for e in detail.events if e["event_type"] == "Transit"] == [
        "c3", "c1", "c2", "c0"]
    assert [r["other_organisation"] for r in detail.referrals] == ["Shelter North", "Clinic"]
    assert detail.referrals[0]["referral_date"] == date(2022, 1, 9)


def test_a_case_without_children_and_a_missing_case(store: Store, case_id: str) -> None:
    with store.sessions() as session:
        other = session.scalars(select(m.Case.id).where(m.Case.source_record_id == "C-2")).one()
    detail = _read(store, other)
    assert (detail.referrals, detail.support_plans) == ([], [])
    assert [p.source_record_id for p in detail.persons] == ["POL-3"]
    with pytest.raises(NotFound):
        _read(store, "no-such-case")
