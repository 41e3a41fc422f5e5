"""A canary in every personal field never reaches the disk in clear.

After an import (a good row and a quarantined one), a re-import that changes a name (its old
value goes to the audit log's change history), a name search, a case read through the API, an
encrypted backup, its restore into a second database, a pseudonymised extract, a linkage run
(names decrypted in memory), the statistical report and a supplier registration, every byte of
the workspace (SQLite databases and their WAL, backup, extract, report), of the key folder and
of every file written to the system temp folder during the test is scanned for the canaries:
zero hits. The input file itself is kept outside the workspace, as a user's own
file would be.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from maillon.auth.context import Security
from maillon.collect.api import ImportOptions, import_file
from maillon.core.settings import Settings
from maillon.link.api import run as link_run
from maillon.privacy.api import make_extract
from maillon.screen.service import SupplierInput, register_suppliers
from maillon.stats.api import publish_report
from maillon.store.api import Store
from maillon.store.backup import restore_backup, write_backup
from maillon.store.crypto import FieldCipher
from maillon.store.db import make_engine
from tests.factories import HEADER, row, write_csv

CANARIES = {
    "prs_FirstName": "Qzxcanaryfirst",
    "prs_SecondName": "Qzxcanaryfamily",
}


def _canary_rows() -> list[list[str]]:
    good = row(record_id="K-1", case_id="K-C1", **CANARIES)
    bad = row(record_id="K-2", case_id="K-C1", prs_Gender="Robot",
              prs_FirstName="Qzxcanaryquarantine", prs_SecondName="Qzxcanaryquarantine")
    return [good, bad]


def _scan(folder: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path.name}: {n.decode()}" for n in needles if n in data]
    return hits


def _scan_new_temp_files(since: float, needles: list[bytes], exclude: Path) -> list[str]:
    """The system temp folder's files written during the test (spill files of DuckDB or Spark,
    reports), except the user's own input folder."""
    hits = []
    for path in Path(tempfile.gettempdir()).rglob("*"):
        try:
            if not path.is_file() or path.stat().st_mtime < since or exclude in path.parents:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        hits += [f"{path}: {n.decode()}" for n in needles if n in data]
    return hits


def security_org(store: Store) -> str:
    from tests.auth_helpers import organisation_id

    return organisation_id(store, "Police Unit 7")


def test_no_canary_in_the_workspace(
    client: TestClient, store: Store, settings: Settings, tmp_path: Path
) -> None:
    security = Security.open(settings)
    started = time.time()
    source = tmp_path / "input"
    source.mkdir()
    path = write_csv(source / "canary.csv", _canary_rows())
    assert HEADER[4] == "prs_FirstName"
    report = import_file(store.engine, path, ImportOptions(skip_bad_rows=True))
    assert report.status == "partial"
    import_file(store.engine, path, ImportOptions(skip_bad_rows=True))
    listed = client.post("/api/v1/cases/search", json={"q": "qzxcanaryfamily"}).json()
    assert listed["total"] == 1, "blind-index search finds the encrypted name"
    detail = client.get(f"/api/v1/cases/{listed['items'][0]['id']}").json()
    assert {p["given_name"] for p in detail["persons"]} == {"Qzxcanaryfirst"}
    renamed = write_csv(source / "renamed.csv",
                        [row(record_id="K-1", case_id="K-C1", prs_FirstName="Qzxcanaryfirst",
                             prs_SecondName="Qzxcanarynewname")])
    keys = security.keys
    assert import_file(store.engine, renamed, ImportOptions(audit=security.audit, keys=keys)
                       ).updated == 1
    workspace = tmp_path / "maillon-data"
    write_backup(store.engine, keys, workspace / "nightly.backup")
    restored = make_engine(f"sqlite:///{workspace / 'restored.sqlite'}")
    restore_backup(restored, keys, workspace / "nightly.backup")
    restored.dispose()
    with store.engine.connect() as conn:
        make_extract(conn, keys, agreement="rapporteur", output=workspace / "extract.csv",
                     override_reason="canary test: every person, consent or not")
    with security.audit.audit_scope(store.engine) as conn:  # linkage decrypts names in memory
        link_run(conn, keys=keys, audit=security.audit, actor="ops", source="test")
    publish_report(store.engine, workspace / "stats-report", user="ops")
    register_suppliers(store, [SupplierInput("K-S1", "Qzxcanarysupplier Trading Ltd")],
                       organisation_id=security_org(store), user="ops", audit=security.audit,
                       cipher=FieldCipher(keys, store.engine))
    needles = [v.encode() for v in (*CANARIES.values(), "Qzxcanaryquarantine",
                                    "Qzxcanarynewname", "Qzxcanarysupplier")]
    hits = _scan(workspace, needles) + _scan(tmp_path / "maillon-keys", needles)
    hits += _scan_new_temp_files(started, needles, exclude=source)
    assert hits == []


def test_no_canary_left_after_web_and_api_uploads(
    client: TestClient, store: Store, tmp_path: Path
) -> None:
    source = tmp_path / "input"
    source.mkdir()
    data = write_csv(source / "canary.csv", _canary_rows()).read_bytes()
    api = client.post("/api/v1/imports", files={"file": ("c.csv", data, "text/csv")},
                      data={"skip_bad_rows": "true"})
    assert api.status_code == 201, api.text
    page = client.post("/imports", files={"file": ("c.csv", data, "text/csv")},
                       data={"profile": "htcds", "skip_bad_rows": "true"},
                       headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    needles = [v.encode() for v in (*CANARIES.values(), "Qzxcanaryquarantine")]
    assert _scan(tmp_path / "maillon-data", needles) == []
    assert list((tmp_path / "maillon-data" / "uploads").iterdir()) == []
