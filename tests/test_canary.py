"""A canary in every personal field never reaches the disk in clear.

The canary rows carry a unique value in every personal field the HTCDS layout can import
(names, birth date, identity number, email, phone, case owner and closure reason, referral
details and case workers, a perpetrator's role details); a personal field the layout gains
without a canary fails :func:`test_every_importable_personal_field_has_a_canary`.

After an import (a good row and a quarantined one), a re-import that changes a name (its old
value goes to the audit log's change history), a name search, a case read through the API, an
encrypted backup, its restore into a second database, a pseudonymised extract, a linkage run
(names decrypted in memory), the statistical report and a supplier registration, every byte of
the test's folder (workspace with the SQLite databases and their WAL, backup, extract, report;
key folder) and of every file written to the system temp folder during the test is scanned for
the canaries: zero hits. On PostgreSQL (``MAILLON_TEST_DATABASE_URL``) the same flow runs
against the server, and a plain-text ``pg_dump`` of the test's schema is scanned too (skipped
when ``pg_dump`` is missing, failed under ``CI=true``). The input file itself is kept outside
the workspace, as a user's own file would be. ``tests/test_canary_demo.py`` adds a full demo
run.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from maillon.auth.context import Security
from maillon.collect.api import ImportOptions, import_file
from maillon.collect.fields import FIELDS
from maillon.collect.profiles import load_profile
from maillon.core.settings import Settings
from maillon.link.api import run as link_run
from maillon.privacy.api import make_extract
from maillon.screen.service import SupplierInput, register_suppliers
from maillon.stats.api import publish_report
from maillon.store.api import Store
from maillon.store.backup import restore_backup, write_backup
from maillon.store.crypto import PERSONAL_FIELDS, FieldCipher
from maillon.store.db import make_engine
from tests.conftest import IN_CI, PG_URL
from tests.factories import GOOD_ROWS, HEADER

CANARIES = {
    "prs_FirstName": "Qzxcanaryfirst",
    "prs_MiddleName": "Qzxcanarymiddle",
    "prs_SecondName": "Qzxcanaryfamily",
    "prs_Birthdate": "1931-05-27",
    "prs_IdentityNumber": "QZXCANARYID4471",
    "prs_Email": "qzxcanarymail@example.org",
    "prs_MobilePhone": "+447700900417",
    "cas_CaseOwner": "Qzxcanaryowner",
    "cas_ReasonForCaseClosure": "Qzxcanaryclosure",
    "cas_IncomingReferralDetails": "Qzxcanaryindetails",
    "cas_ReferringPrimaryCaseWorker": "Qzxcanaryinworker",
    "cas_OutgoingReferralDetails": "Qzxcanaryoutdetails",
    "cas_ReferredPrimaryCaseWorker": "Qzxcanaryoutworker",
}
"""HTCDS column -> canary of the victim's row (every personal field a victim row carries)."""

PERPETRATOR_CANARIES = {
    "prs_FirstName": "Qzxcanaryperp",
    "prs_SecondName": "Qzxcanaryperpfamily",
    "per_RoleDetails": "Qzxcanaryroledetails",
}
"""The perpetrator's row of the same case: the perpetrator-only personal fields."""

OTHER_CANARIES = ("Qzxcanaryquarantine", "Qzxcanarynewname", "Qzxcanarysupplier")
"""Values of the quarantined row, of the rename, of the supplier."""

COLUMNS = [*HEADER, *(c for c in (*CANARIES, *PERPETRATOR_CANARIES) if c not in HEADER),
           "cas_ReferredOrganisation", "cas_OutgoingReferralDate"]


def needles() -> list[bytes]:
    """Every canary, as bytes."""
    return [v.encode() for v in
            (*CANARIES.values(), *PERPETRATOR_CANARIES.values(), *OTHER_CANARIES)]


def _row(base: list[str], **values: str) -> list[str]:
    cells = dict(zip(HEADER, base, strict=True))
    cells.update(cas_ReferredOrganisation="Shelter South", cas_OutgoingReferralDate="2022-02-01")
    cells.update(values)
    return [cells.get(c, "") for c in COLUMNS]


def _canary_rows(**victim: str) -> list[list[str]]:
    """The victim's row (canaries, overridden by ``victim``), the perpetrator's row, and a
    quarantined row (an unknown gender) with canary names."""
    good = _row(GOOD_ROWS[0], record_id="K-1", case_id="K-C1", **{**CANARIES, **victim})
    perpetrator = _row(GOOD_ROWS[1], record_id="K-3", case_id="K-C1", **PERPETRATOR_CANARIES)
    bad = _row(GOOD_ROWS[0], record_id="K-2", case_id="K-C1", prs_Gender="Robot",
               prs_FirstName="Qzxcanaryquarantine", prs_SecondName="Qzxcanaryquarantine")
    return [good, perpetrator, bad]


def write_canaries(path: Path, **victim: str) -> Path:
    """The canary file (HTCDS layout, ``COLUMNS``)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(_canary_rows(**victim))
    return path


def test_every_importable_personal_field_has_a_canary() -> None:
    """Generated from the field list and the HTCDS profile: a personal field the layout gains
    gets a canary, or this fails."""
    encrypted = {c for columns in PERSONAL_FIELDS.values() for c in columns}
    personal = {key for key, spec in FIELDS.items()
                if spec.personal or key.rsplit(".", 1)[-1] in encrypted or key == "case.owner"}
    mapped = {c.column for c in load_profile("htcds").columns if c.field in personal}
    missing = mapped - set(CANARIES) - set(PERPETRATOR_CANARIES)
    assert missing == set(), f"give these HTCDS columns a canary: {sorted(missing)}"


def _scan(folder: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path.name}: {n.decode()}" for n in needles if n in data]
    return hits


def _scan_new_temp_files(since: float, needles: list[bytes], exclude: Path,
                         root: Path | None = None) -> list[str]:
    """The system temp folder's files written during the test (spill files of DuckDB or Spark,
    reports), except the user's own input folder and pytest's folders: this test scans its own
    folder itself, and other test sessions running beside it write canary inputs of their own."""
    hits = []
    for path in (root or Path(tempfile.gettempdir())).rglob("*"):
        try:
            if (not path.is_file() or path.stat().st_mtime < since or exclude in path.parents
                    or any(p.startswith("pytest-of-") for p in path.parts)):
                continue
            data = path.read_bytes()
        except OSError:
            continue
        hits += [f"{path}: {n.decode()}" for n in needles if n in data]
    return hits


def security_org(store: Store) -> str:
    from tests.auth_helpers import organisation_id

    return organisation_id(store, "Police Unit 7")


def pg_dump(schema: str, target: Path) -> Path:
    """A plain-text dump (``COPY`` rows as text, nothing compressed) of ``schema``."""
    url = make_url(PG_URL)
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    args = ["pg_dump", "--format=plain", "--no-owner", f"--schema={schema}",
            f"--host={url.host or '127.0.0.1'}", f"--port={url.port or 5432}",
            f"--username={url.username or 'postgres'}", url.database or "postgres"]
    with target.open("wb") as fh:
        subprocess.run(args, check=True, stdout=fh, env=env, timeout=120)  # noqa: S603
    return target


@pytest.mark.database
def test_no_canary_in_the_workspace(
    client: TestClient, store: Store, settings: Settings, tmp_path: Path, backend: str,
    request: pytest.FixtureRequest,
) -> None:
    if backend == "postgresql" and shutil.which("pg_dump") is None:
        reason = "pg_dump is not installed: the PostgreSQL dump cannot be scanned"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    security = Security.open(settings)
    started = time.time()
    source = tmp_path / "input"
    source.mkdir()
    path = write_canaries(source / "canary.csv")
    report = import_file(store.engine, path, ImportOptions(skip_bad_rows=True))
    assert report.status == "partial" and report.inserted == 2, report
    import_file(store.engine, path, ImportOptions(skip_bad_rows=True))
    listed = client.post("/api/v1/cases/search", json={"q": "qzxcanaryfamily"}).json()
    assert listed["total"] == 1, "blind-index search finds the encrypted name"
    detail = client.get(f"/api/v1/cases/{listed['items'][0]['id']}").json()
    assert {p["given_name"] for p in detail["persons"]} == {"Qzxcanaryfirst", "Qzxcanaryperp"}
    renamed = write_canaries(source / "renamed.csv", prs_SecondName="Qzxcanarynewname")
    keys = security.keys
    assert import_file(store.engine, renamed, ImportOptions(
        audit=security.audit, keys=keys, skip_bad_rows=True)).updated >= 1
    workspace = tmp_path / "maillon-data"
    workspace.mkdir(exist_ok=True)
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
    if backend == "postgresql":
        dump = pg_dump(request.getfixturevalue("_pg_schema"), workspace / "schema.sql")
        assert b"K-C1" in dump.read_bytes() and b"v1." in dump.read_bytes(), "no canary rows"
    hits = [h for folder in tmp_path.iterdir() if folder != source
            for h in _scan(folder, needles())]  # workspace, keys, anything else written here
    hits += _scan_new_temp_files(started, needles(), exclude=source)
    assert hits == []
    assert len(_scan(source, needles())) >= len(CANARIES), "the scan finds canaries in clear"


def test_no_canary_left_after_web_and_api_uploads(
    client: TestClient, store: Store, tmp_path: Path
) -> None:
    source = tmp_path / "input"
    source.mkdir()
    data = write_canaries(source / "canary.csv").read_bytes()
    api = client.post("/api/v1/imports", files={"file": ("c.csv", data, "text/csv")},
                      data={"skip_bad_rows": "true"})
    assert api.status_code == 201, api.text
    page = client.post("/imports", files={"file": ("c.csv", data, "text/csv")},
                       data={"profile": "htcds", "skip_bad_rows": "true"},
                       headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert _scan(tmp_path / "maillon-data", needles()) == []
    assert list((tmp_path / "maillon-data" / "uploads").iterdir()) == []
