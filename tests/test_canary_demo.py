"""A full demo run over a workspace that holds the canaries writes none of them in clear.

The canary file of ``tests/test_canary.py`` (a canary in every personal field the HTCDS layout
carries, a quarantined row) is imported into the workspace, then re-imported with a new family
name (the old one goes to the audit log's change history). Then ``maillon demo --no-serve``
runs on that workspace, in this process, as a user would start it: it generates and imports
the synthetic organisations, links every person of the store (the canary persons included,
decrypted in memory), computes the statistics and the report, screens suppliers, loads the
money alerts and runs identify and refer.

Afterwards every byte is scanned for the canaries, zero hits expected: the whole test folder
(workspace with its SQLite database and WAL, Parquet files, CSV exports and report; key folder;
the working directory the demo ran in, where DuckDB puts its spill folder; the temp folder the
demo was given), files written meanwhile in the system temp folder, what the demo printed on
stdout and stderr, and every log record of every logger at DEBUG level. Only the user's own
input folder is left out.

The demo runs with its small built-in fixtures (``MAILLON_SHARED`` points nowhere), not the real
GLOTIP and sanctions files, so that the test stays within about a minute.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from maillon.auth.context import Security
from maillon.collect.api import ImportOptions, import_file
from maillon.core.settings import Settings
from maillon.store.api import Store
from tests.test_canary import _scan, _scan_new_temp_files, needles, write_canaries

RECORDS = 100
"""Synthetic rows the demo generates: enough for every step to have work to do."""


def test_full_demo_run_leaves_no_canary(
    store: Store, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
) -> None:
    from maillon.cli import app
    from maillon.link.models import PersonCluster

    security = Security.open(settings)
    started = time.time()
    source = tmp_path / "input"
    source.mkdir()
    options = ImportOptions(skip_bad_rows=True, audit=security.audit, keys=security.keys)
    assert import_file(store.engine, write_canaries(source / "canary.csv"), options
                       ).status == "partial"
    assert import_file(store.engine, write_canaries(
        source / "renamed.csv", prs_SecondName="Qzxcanarynewname"), options).updated >= 1
    with store.engine.connect() as conn:
        canary_persons = set(conn.execute(text(
            "SELECT id FROM person WHERE source_record_id IN ('K-1', 'K-3')")).scalars())
    assert len(canary_persons) == 2

    system_temp = Path(tempfile.gettempdir())
    run, temp = tmp_path / "run", tmp_path / "tmp"
    run.mkdir()
    temp.mkdir()
    monkeypatch.chdir(run)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("MAILLON_SHARED", str(tmp_path / "no-shared-folder"))
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), "demo",
                                      "--no-serve", "--records", str(RECORDS)])
    assert result.exit_code == 0, result.output
    assert "demo.supervisor" in result.output

    with store.engine.connect() as conn:  # the demo's linkage went through the canary persons
        linked = set(conn.execute(select(PersonCluster.person_id).where(
            PersonCluster.person_id.in_(canary_persons))).scalars())
    assert linked == canary_persons

    captured = capfd.readouterr()
    logs = caplog.text + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    printed = {"demo stdout": result.stdout, "demo stderr": result.stderr
               if result.stderr_bytes is not None else "",
               "captured stdout": captured.out, "captured stderr": captured.err, "logs": logs}
    hits = [f"{where}: {n.decode()}" for where, words in printed.items() for n in needles()
            if n.decode() in words]
    for folder in tmp_path.iterdir():
        if folder != source:
            hits += _scan(folder, needles())
    hits += _scan_new_temp_files(started, needles(), exclude=source, root=system_temp)
    assert hits == []
    assert len(_scan(source, needles())) >= 10, "the scan finds canaries where they are"
    assert (settings.data_dir / "maillon.sqlite").stat().st_size > 0
    assert any(settings.data_dir.rglob("*.parquet")), "the demo wrote no Parquet file to scan"
