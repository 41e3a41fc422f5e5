"""The import pipeline as users rely on it: all or nothing, bad rows named, no duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from maillon.collect.api import ImportOptions, import_file, quarantine_rows
from maillon.store import models as m
from maillon.store.api import Store
from tests.factories import GOOD_ROWS, HEADER, clear, row, write_csv

TABLES = ["organisation", "case_file", "person", "person_code", "victim_context",
          "perpetrator_context", "trafficking_event", "referral", "consent"]


def counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


@pytest.mark.database
def test_good_file_is_imported_with_every_part_of_the_record(store: Store, tmp_path: Path) -> None:
    report = import_file(store.engine, write_csv(tmp_path / "good.csv", GOOD_ROWS),
                         ImportOptions())
    assert report.status == "committed", report.as_dict()
    assert (report.inserted, report.updated, report.rejected) == (3, 0, 0)
    c = counts(store)
    assert c["case_file"] == 2 and c["person"] == 3 and c["organisation"] == 1
    assert c["victim_context"] == 2 and c["perpetrator_context"] == 1
    assert c["referral"] == 1 and c["consent"] == 2
    with store.sessions() as s:
        ana = s.execute(select(m.Person).where(m.Person.source_record_id == "POL-1")).scalar_one()
        names = [clear(store, "person", ana.id, f, getattr(ana, f))
                 for f in ("given_name", "family_name", "birth_date")]
        assert names == ["Ana", "Popescu", "1998-03-04"] and ana.gender == "Feminine"
        assert ana.birth_year == 1998 and ana.given_name != "Ana"
        ion = s.execute(select(m.Person).where(m.Person.source_record_id == "POL-2")).scalar_one()
        assert ion.birth_date_precision == "year"
        codes = set(s.execute(select(m.PersonCode.vocabulary, m.PersonCode.code)
                              .where(m.PersonCode.person_id == ion.id)).all())
        assert codes == {("citizenship", "RO"), ("citizenship", "MD"),
                         ("perpetrator_role", "RecruiterOrIntermediary"),
                         ("perpetrator_role", "Exploiter")}
        event = s.execute(select(m.TraffickingEvent).where(
            m.TraffickingEvent.person_id == ana.id,
            m.TraffickingEvent.event_type == "Exploitation")).scalar_one()
        assert (event.country, str(event.date_from), str(event.date_to)) == (
            "DE", "2021-05-01", "2021-11-30")
        assert ana.import_batch_id == report.batch_id and ana.created_by == "system"


@pytest.mark.database
def test_reimport_updates_instead_of_duplicating(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    import_file(store.engine, path, ImportOptions())
    before = counts(store)
    changed = [row(prs_FirstName="Anna", vic_MethodsOfControl="DebtBondage"), *GOOD_ROWS[1:]]
    report = import_file(store.engine, write_csv(tmp_path / "v2.csv", changed), ImportOptions())
    assert (report.inserted, report.updated) == (0, 3)
    after = counts(store)
    assert after["person"] == before["person"] and after["case_file"] == before["case_file"]
    assert after["referral"] == before["referral"]
    assert after["person_code"] == before["person_code"] - 1
    with store.sessions() as s:
        pid, token = s.execute(select(m.Person.id, m.Person.given_name)
                               .where(m.Person.source_record_id == "POL-1")).one()
        assert clear(store, "person", pid, "given_name", token) == "Anna"


BAD_CASES = {
    "unknown code": (row(prs_Gender="Robot"), "prs_Gender", "unknown code"),
    "impossible date": (row(prs_Birthdate="2001-02-30"), "prs_Birthdate", "not a valid date"),
    "future date": (row(cas_RegistrationDate="2999-01-01"), "cas_RegistrationDate", "future"),
    "wrong type": (row(vic_AgeWhenTrafficked="twelve"), "vic_AgeWhenTrafficked",
                   "not a whole number"),
    "missing required": (row(record_id=""), "record_id", "required value missing"),
    "unknown country": (row(prs_Citizenship="RO;Atlantis"), "prs_Citizenship",
                        "unknown country"),
    "range reversed": (row(hte_ExploitationDateTo="2020-01-01"), "hte_ExploitationDateTo",
                       "ends before it starts"),
}


@pytest.mark.database
@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_a_bad_row_rejects_the_whole_file_and_is_named(
    store: Store, tmp_path: Path, case: str
) -> None:
    bad, column, reason = BAD_CASES[case]
    bad[0] = "POL-9" if case != "missing required" else ""
    path = write_csv(tmp_path / "bad.csv", [*GOOD_ROWS, bad])
    report = import_file(store.engine, path, ImportOptions())
    assert report.status == "rejected"
    assert report.inserted == 0 and report.rejected == 1
    assert counts(store)["person"] == 0, "nothing may be committed"
    [error] = report.errors
    assert (error.row, error.field) == (4, column)
    assert reason in error.reason


def test_duplicate_record_ids_in_one_file_are_rejected(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "dup.csv", [*GOOD_ROWS, GOOD_ROWS[0]])
    report = import_file(store.engine, path, ImportOptions())
    assert report.status == "rejected"
    assert report.errors[0].row == 4 and "first seen at row 1" in report.errors[0].reason


@pytest.mark.database
def test_skip_bad_rows_commits_the_good_and_quarantines_the_bad(
    store: Store, tmp_path: Path
) -> None:
    bad = row(record_id="POL-9", prs_Gender="Robot", prs_Birthdate="1999-13-01")
    path = write_csv(tmp_path / "mixed.csv", [*GOOD_ROWS, bad])
    report = import_file(store.engine, path, ImportOptions(skip_bad_rows=True))
    assert report.status == "partial"
    assert (report.inserted, report.rejected) == (3, 1)
    assert {e.field for e in report.errors} == {"prs_Gender", "prs_Birthdate"}
    columns, rows = quarantine_rows(store.engine, report.batch_id)
    assert rows[0]["record_id"] == "POL-9" and rows[0]["_row"] == 4
    assert "prs_Gender: unknown code" in rows[0]["_errors"]
    # The user fixes the quarantined row and re-submits it: it joins the others.
    fixed = {**rows[0], "prs_Gender": "Feminine", "prs_Birthdate": "1999-12-01"}
    path2 = write_csv(tmp_path / "fixed.csv", [[fixed[c] for c in columns]], header=columns)
    again = import_file(store.engine, path2, ImportOptions())
    assert again.status == "committed" and again.inserted == 1
    assert again.unmapped_columns == ["_row", "_errors"]
    assert counts(store)["person"] == 4


def test_rejected_import_is_recorded_with_its_quarantine(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", [row(prs_Gender="Robot")])
    report = import_file(store.engine, path, ImportOptions())
    with store.sessions() as s:
        batch = s.get(m.ImportBatch, report.batch_id)
        assert batch is not None and batch.status == "rejected" and batch.rows_rejected == 1
        raw = s.execute(select(m.QuarantineRow.raw)).scalar_one()
        assert "Robot" not in raw and "Popescu" not in raw, "quarantine is encrypted"
    _, rows = quarantine_rows(store.engine, report.batch_id)
    assert rows[0]["prs_Gender"] == "Robot"


def test_broken_encoding_is_a_clear_file_error(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "latin.csv", [row(prs_FirstName="Zoë")], encoding="latin-1")
    report = import_file(store.engine, path, ImportOptions())
    assert report.status == "rejected" and counts(store)["person"] == 0
    assert "row 1 (line 2) is not valid utf-8" in report.message and report.errors[0].row == 1
    # Telling the importer the real encoding reads it.
    ok = import_file(store.engine, path, ImportOptions(encoding="latin-1"))
    assert ok.status == "committed"
    with store.sessions() as s:
        pid, token = s.execute(select(m.Person.id, m.Person.given_name)).one()
        assert clear(store, "person", pid, "given_name", token) == "Zoë"


def test_truncated_file_is_rejected(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "full.csv", GOOD_ROWS)
    data = path.read_bytes()
    cut = data[: data.index(b"Nguyen") + 3]
    (tmp_path / "cut.csv").write_bytes(cut)
    report = import_file(store.engine, tmp_path / "cut.csv", ImportOptions())
    assert report.status == "rejected" and counts(store)["person"] == 0
    assert report.errors[0].row == 3 and "header has" in report.errors[0].reason


def test_unclosed_quote_is_rejected_with_its_row(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(GOOD_ROWS[0]) + '\n"POL-2,C-1\n',
                    encoding="utf-8")
    report = import_file(store.engine, path, ImportOptions())
    assert report.status == "rejected" and counts(store)["person"] == 0
    assert report.errors[0].row == 2 and "unclosed quote" in report.errors[0].reason


def test_missing_record_id_column_is_named(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "nocol.csv", [r[1:] for r in GOOD_ROWS], header=HEADER[1:])
    report = import_file(store.engine, path, ImportOptions())
    assert report.status == "rejected" and "record_id" in report.message


def test_rows_without_organisation_use_the_default(store: Store, tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "org_Name"]
    rows = [[v for h, v in zip(HEADER, r, strict=True) if h != "org_Name"] for r in GOOD_ROWS]
    path = write_csv(tmp_path / "noorg.csv", rows, header=header)
    refused = import_file(store.engine, path, ImportOptions())
    assert refused.status == "rejected" and "no organisation" in refused.errors[0].reason
    report = import_file(store.engine, path, ImportOptions(organisation="NGO Libera"))
    assert report.status == "committed"
    with store.sessions() as s:
        assert s.execute(select(m.Organisation.code)).scalar_one() == "ngo-libera"


def test_json_jsonl_and_xlsx_import_like_csv(store: Store, tmp_path: Path) -> None:
    from openpyxl import Workbook

    records = [dict(zip(HEADER, r, strict=True)) for r in GOOD_ROWS]
    (tmp_path / "a.json").write_text(json.dumps(records[:1]), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps(records[1]) + "\n", encoding="utf-8")
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(GOOD_ROWS[2])
    book.save(tmp_path / "c.xlsx")
    for name in ("a.json", "b.jsonl", "c.xlsx"):
        report = import_file(store.engine, tmp_path / name, ImportOptions())
        assert report.status == "committed", (name, report.as_dict())
    assert counts(store)["person"] == 3


def test_ctdc_layout_imports_with_its_profile(store: Store, tmp_path: Path) -> None:
    header = ["yearOfRegistration", "gender", "ageBroad", "citizenship", "CountryOfExploitation",
              "meansThreats", "meansWithholdDocs", "isForcedLabour", "isSexualExploit",
              "sectorOfLabourConstruction", "recruiterRelationFamily"]
    rows = [["2019", "Woman", "09--17", "UKR", "POL", "1", "", "1", "", "1", "1"],
            ["2020", "Man", "30--38", "NULL", "USA", "", "1", "", "1", "", ""]]
    path = write_csv(tmp_path / "ctdc.csv", rows, header=header)
    report = import_file(store.engine, path, ImportOptions(profile="ctdc", organisation="CTDC"))
    assert report.status == "committed", report.as_dict()
    with store.sessions() as s:
        first = s.execute(select(m.Person).where(m.Person.source_record_id == "ctdc.csv#1"))
        person = first.scalar_one()
        assert (person.gender, person.age_band) == ("Feminine", "9--17")
        codes = set(s.execute(select(m.PersonCode.vocabulary, m.PersonCode.code)
                              .where(m.PersonCode.person_id == person.id)).all())
        assert ("ctdc_means", "meansThreats") in codes
        assert ("citizenship", "UA") in codes and ("exploitation_type", "ForcedLabour") in codes
        assert ("labour_industry", "F_Construction") in codes
    again = import_file(store.engine, path, ImportOptions(profile="ctdc", organisation="CTDC"))
    assert again.updated == 2 and counts(store)["person"] == 2


def test_custom_profile_with_value_map(store: Store, tmp_path: Path) -> None:
    profile = tmp_path / "ngo.yaml"
    profile.write_text(
        "name: ngo\nrecord_id: 'Case No'\ncolumns:\n"
        "  Sex: {field: person.gender, values: {F: Feminine, M: Masculine, '?': ''}}\n"
        "  Nationality: {field: person.citizenship, split: '/'}\n"
        "  Registered: {field: case.registration_date, date_format: '%d/%m/%Y'}\n",
        encoding="utf-8",
    )
    path = write_csv(tmp_path / "ngo.csv", [["A1", "F", "Romania/Moldova", "03/02/2021"],
                                            ["A2", "?", "", "15/12/2020"]],
                     header=["Case No", "Sex", "Nationality", "Registered"])
    report = import_file(store.engine, path, ImportOptions(profile=str(profile),
                                                           organisation="NGO"))
    assert report.status == "committed", report.as_dict()
    with store.sessions() as s:
        assert s.execute(select(func.count()).select_from(m.PersonCode)).scalar_one() == 2
        dates = s.execute(select(m.Case.registration_date).order_by(m.Case.source_record_id))
        assert [str(d) for d in dates.scalars()] == ["2021-02-03", "2020-12-15"]


def test_unknown_profile_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    report = import_file(store.engine, write_csv(tmp_path / "a.csv", GOOD_ROWS),
                         ImportOptions(profile="nope"))
    assert report.status == "rejected" and "unknown mapping profile 'nope'" in report.message


def test_imports_keep_every_reference_intact_although_sqlite_skips_the_checks(
    store: Store, tmp_path: Path
) -> None:
    """The importer writes with SQLite's per-row foreign-key checks off (they cost a quarter of
    each stored row); every reference must still hold, after a first import and a re-import that
    updates persons and replaces their dependent rows."""
    from maillon.collect import synth

    path = tmp_path / "synth.csv"
    synth.write_single_file(path=path, n_records=400, seed=3)
    for _ in range(2):
        report = import_file(store.engine, path, ImportOptions())
        assert report.status == "committed", report.as_dict()
    assert report.updated == 400
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
