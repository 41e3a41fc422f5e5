"""Killing the process in the middle of an import leaves the store as it was before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from maillon.collect import synth
from maillon.collect.api import ImportOptions, import_file
from maillon.store.api import Store
from tests.conftest import PG_URL
from tests.factories import GOOD_ROWS, write_csv
from tests.test_import import counts

MAILLON = str(Path(sys.executable).parent / "maillon")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.csv"
    synth.write_single_file(path=path, n_records=60_000, seed=5)
    return path


def _database_url(store: Store, backend: str, settings_dir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{settings_dir / 'maillon.sqlite'}"
    with store.engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def _batches(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM import_batch")).scalar_one())


@pytest.mark.database
def test_sigkill_mid_import_commits_nothing(
    store: Store, backend: str, tmp_path: Path, big_file: Path
) -> None:
    data_dir = tmp_path / "maillon-data"
    import_file(store.engine, write_csv(tmp_path / "small.csv", GOOD_ROWS), ImportOptions())
    before, batches_before = counts(store), _batches(store)
    url = _database_url(store, backend, data_dir)
    proc = subprocess.Popen(
        [MAILLON, "--data-dir", str(data_dir), "--database-url", url, "import", str(big_file),
         "--json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "MAILLON_DATABASE_URL": ""},
    )
    wal = data_dir / "maillon.sqlite-wal"
    deadline = time.monotonic() + 60
    started = time.monotonic()
    while time.monotonic() < deadline and proc.poll() is None:
        writing = wal.exists() and wal.stat().st_size > 2_000_000 if backend == "sqlite" \
            else time.monotonic() - started > 6
        if writing:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the import finished before it could be killed; use more rows"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert counts(store) == before
    assert _batches(store) == batches_before
    # The store is usable afterwards and the same import then goes through.
    report = import_file(store.engine, write_csv(tmp_path / "again.csv", GOOD_ROWS),
                         ImportOptions())
    assert report.status == "committed" and report.updated == len(GOOD_ROWS)
