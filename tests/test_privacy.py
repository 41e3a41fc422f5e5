"""Data-subject access and erasure; pseudonymised extracts behind the consent gate."""

from __future__ import annotations

import csv
import json
import os
import stat
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from maillon import cli
from maillon.auth.context import Security
from maillon.collect.api import ImportOptions, import_file
from maillon.core.errors import InvalidInput, NotFound
from maillon.core.settings import Settings
from maillon.privacy.api import COLUMNS, erase_subject, export_subject, make_extract
from maillon.store import models as m
from maillon.store.api import Store
from maillon.store.crypto import FieldCipher
from tests.factories import GOOD_ROWS, write_csv


@pytest.fixture
def imported(store: Store, settings: Settings, tmp_path: Path) -> Security:
    security = Security.open(settings)
    path = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    assert import_file(store.engine, path, ImportOptions(audit=security.audit)).status \
        == "committed"
    return security


def _person(store: Store, source_id: str) -> str:
    with store.engine.connect() as conn:
        return str(conn.execute(select(m.Person.id).where(
            m.Person.source_record_id == source_id)).scalar_one())


@pytest.mark.database
def test_export_holds_everything_decrypted(store: Store, imported: Security) -> None:
    pid = _person(store, "POL-1")
    with store.engine.connect() as conn:
        data = export_subject(conn, FieldCipher(imported.keys, conn), pid)
    assert data["person"]["given_name"] == "Ana" and data["person"]["family_name"] == "Popescu"
    assert data["person"]["birth_date"] == "1998-03-04"
    assert not any(k.endswith("_bidx") for k in data["person"])
    assert {c["code"] for c in data["person_code"] if c["vocabulary"] == "citizenship"} == {"RO"}
    assert data["case"]["source_record_id"] == "C-1"
    assert data["consent"][0]["given"] is True
    json.dumps(data)  # serialisable as it is
    with store.engine.connect() as conn, pytest.raises(NotFound):
        export_subject(conn, FieldCipher(imported.keys, conn), "nobody")


@pytest.mark.database
def test_erasure_removes_the_person_and_dependents_only(store: Store, imported: Security) -> None:
    pid, other = _person(store, "POL-1"), _person(store, "POL-2")
    with store.engine.begin() as conn:
        counts = erase_subject(conn, pid)
    assert counts["person"] == 1 and counts["person_code"] >= 1 and counts["consent"] == 1
    with store.engine.connect() as conn:
        for table in (m.PersonCode, m.VictimContext, m.TraffickingEvent, m.Consent):
            left = conn.execute(select(func.count()).select_from(table)
                                .where(table.person_id == pid)).scalar_one()
            assert left == 0, table.__tablename__
        assert conn.execute(select(m.Person.id).where(m.Person.id == other)).first()
        assert imported.audit.verify(conn).ok


def _consent(store: Store, person_id: str, given: bool, on: date) -> None:
    with store.sessions() as session, session.begin():
        person = session.get(m.Person, person_id)
        assert person is not None
        session.add(m.Consent(person_id=person_id, organisation_id=person.organisation_id,
                              scope="InformationSharing", given=given, decided_on=on))


@pytest.mark.database
def test_extract_has_consented_persons_only_under_unlinkable_pseudonyms(
    store: Store, imported: Security, tmp_path: Path
) -> None:
    ana, ion = _person(store, "POL-1"), _person(store, "POL-2")
    _consent(store, ana, True, date(2022, 1, 10))
    _consent(store, ion, True, date(2022, 1, 10))
    _consent(store, ion, False, date(2022, 6, 1))  # withdrawn later
    with store.engine.connect() as conn:
        first = make_extract(conn, imported.keys, agreement="rapporteur-2026",
                             output=tmp_path / "a.csv")
        make_extract(conn, imported.keys, agreement="rapporteur-2026",
                     output=tmp_path / "a2.csv")
        other = make_extract(conn, imported.keys, agreement="university-study",
                             output=tmp_path / "b.csv")
    assert first.included == 1 and first.without_consent == len(GOOD_ROWS) - 1
    rows = list(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8")))
    assert tuple(rows[0]) == COLUMNS and rows[0]["citizenship"] == "RO"
    assert rows[0]["exploitation_type"] == "SexualExploitation"
    text = (tmp_path / "a.csv").read_text(encoding="utf-8")
    for direct in ("Ana", "Popescu", "1998-03-04", ana, "POL-1"):
        assert direct not in text
    same = (tmp_path / "a2.csv").read_text(encoding="utf-8")
    assert same == text, "stable within one agreement"
    assert rows[0]["pseudonym"] not in (tmp_path / "b.csv").read_text(encoding="utf-8"), \
        "two recipients cannot join their extracts"
    assert other.included == 1
    with store.engine.connect() as conn:
        forced = make_extract(conn, imported.keys, agreement="x", output=tmp_path / "c.csv",
                              override_reason="court order 2026/118 requires all records")
        assert forced.included == len(GOOD_ROWS) and forced.overridden
        with pytest.raises(InvalidInput):
            make_extract(conn, imported.keys, agreement="x", output=tmp_path / "d.csv",
                         override_reason="because")


runner = CliRunner()


@pytest.fixture
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    from maillon.privacy import cli as privacy_cli

    for console in (privacy_cli.out, privacy_cli.err):
        monkeypatch.setattr(console, "_width", 250)


@pytest.mark.usefixtures("_wide")
def test_cli_subject_export_erase_and_extract_are_audited(tmp_path: Path) -> None:
    base = ["--data-dir", str(tmp_path / "ws"), "--as", "dpo"]
    path = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    assert runner.invoke(cli.app, [*base, "import", str(path)]).exit_code == 0
    listed = json.loads(runner.invoke(cli.app, [*base, "cases", "list", "--json"]).stdout)
    shown = json.loads(runner.invoke(cli.app, [*base, "cases", "show", listed["items"][0]["id"],
                                               "--json"]).stdout)
    pid = shown["persons"][0]["id"]
    out = tmp_path / "subject.json"
    exported = runner.invoke(cli.app, [*base, "subjects", "export", pid, "--output", str(out)])
    assert exported.exit_code == 0, exported.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert json.loads(out.read_text(encoding="utf-8"))["person"]["id"] == pid
    refused = runner.invoke(cli.app, [*base, "subjects", "erase", pid, "--reason",
                                      "request DSR-2026-7 art. 17"])
    assert refused.exit_code == 2
    erased = runner.invoke(cli.app, [*base, "subjects", "erase", pid, "--reason",
                                     "request DSR-2026-7 art. 17", "--yes"])
    assert erased.exit_code == 0, erased.output
    extract = runner.invoke(cli.app, [*base, "extracts", "make", "--agreement", "nrm-2026",
                                      "--output", str(tmp_path / "x.csv")])
    assert extract.exit_code == 0 and "left out (no consent)" in extract.stdout, extract.output
    verified = runner.invoke(cli.app, [*base, "audit", "verify"])
    assert verified.exit_code == 0, verified.output
    import sqlite3

    db = sqlite3.connect(tmp_path / "ws" / "maillon.sqlite")
    actions = set(db.execute("SELECT action, resource FROM audit_log WHERE actor = 'dpo'"))
    db.close()
    assert {("export", "person"), ("delete", "person"), ("export", "extract")} <= actions
