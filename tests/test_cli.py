"""The ``maillon`` command line as an operator uses it: exit codes, messages, files written."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from maillon import cli
from maillon.collect import synth
from tests.factories import GOOD_ROWS, HEADER, row, write_csv

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No MAILLON_* setting of the caller's environment leaks in; keys stay in tmp_path."""
    for name in list(os.environ):
        if name.startswith("MAILLON_") and name != "MAILLON_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("MAILLON_KEY_FILE", str(tmp_path / "keys" / "keys.json"))
    monkeypatch.setenv("MAILLON_AUDIT_ANCHOR", str(tmp_path / "keys" / "anchor.json"))
    for console in (cli.out, cli.err):
        monkeypatch.setattr(console, "_width", 250)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "ws"


def run(data_dir: Path, *args: str) -> Result:
    return runner.invoke(cli.app, ["--data-dir", str(data_dir), *args])


def flat(text: str) -> str:
    return " ".join(text.split())


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_version() -> None:
    result = runner.invoke(cli.app, ["version"])
    assert result.exit_code == 0 and result.stdout.strip()


def test_no_command_prints_help() -> None:
    result = runner.invoke(cli.app, [])
    assert result.exit_code == 2
    assert "import" in result.output and "demo" in result.output


def test_init_creates_the_workspace(data_dir: Path) -> None:
    result = run(data_dir, "init")
    assert result.exit_code == 0, result.output
    assert (data_dir / "maillon.sqlite").is_file()
    assert "Workspace ready" in result.stdout and "sqlite" in result.stdout
    again = run(data_dir, "init")
    assert again.exit_code == 0, "init is safe to repeat"


def test_import_of_a_good_file(data_dir: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    result = run(data_dir, "import", str(path))
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    assert "committed: good.csv (htcds)" in text
    assert "3 rows read, 3 inserted, 0 updated, 0 rejected" in text
    again = run(data_dir, "import", str(path))
    assert "0 inserted, 3 updated" in flat(again.stdout)


def test_import_json_report(data_dir: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    report = as_json(run(data_dir, "import", str(path), "--json"))
    assert report["status"] == "committed" and report["inserted"] == 3


def test_import_of_a_bad_file_names_row_column_and_reason(data_dir: Path,
                                                          tmp_path: Path) -> None:
    bad = row(record_id="POL-9", prs_Gender="Robot")
    path = write_csv(tmp_path / "bad.csv", [*GOOD_ROWS, bad])
    result = run(data_dir, "import", str(path))
    assert result.exit_code == 1, result.output
    assert "rejected" in result.stdout and "nothing was imported" in flat(result.stdout)
    assert "row 4, column prs_Gender: unknown code for list gender (value 'Robot')" in flat(
        result.stderr)
    listed = as_json(run(data_dir, "cases", "list", "--json"))
    assert listed["total"] == 0, "nothing may be committed"


def test_errors_option_writes_every_error(data_dir: Path, tmp_path: Path) -> None:
    bad = row(record_id="POL-9", prs_Gender="Robot", prs_Birthdate="2001-02-30")
    path = write_csv(tmp_path / "bad.csv", [*GOOD_ROWS, bad])
    errors = tmp_path / "errors.csv"
    result = run(data_dir, "import", str(path), "--errors", str(errors))
    assert result.exit_code == 1
    assert f"Errors written to {errors}" in flat(result.stdout)
    with errors.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["row"], r["column"], r["value"]) for r in rows} == {
        ("4", "prs_Gender", "Robot"), ("4", "prs_Birthdate", "2001-02-30")}
    assert all(r["reason"] for r in rows)


def test_many_errors_are_summarised(data_dir: Path, tmp_path: Path) -> None:
    bad = [row(record_id=f"X-{i}", prs_Gender="Robot") for i in range(25)]
    result = run(data_dir, "import", str(write_csv(tmp_path / "bad.csv", bad)))
    assert result.exit_code == 1
    assert "... and 5 more errors" in result.stderr


def test_skip_bad_rows_then_quarantine(data_dir: Path, tmp_path: Path) -> None:
    bad = row(record_id="POL-9", prs_Gender="Robot")
    path = write_csv(tmp_path / "mixed.csv", [*GOOD_ROWS, bad])
    report = as_json(run(data_dir, "import", str(path), "--skip-bad-rows", "--json"))
    assert report["status"] == "partial"
    assert (report["inserted"], report["rejected"]) == (3, 1)

    human = run(data_dir, "import", str(path), "--skip-bad-rows")
    assert human.exit_code == 0 and "partial" in human.stdout

    listed = run(data_dir, "imports", "list")
    assert listed.exit_code == 0, listed.output
    assert report["batch_id"] in listed.stdout and "mixed.csv" in listed.stdout

    out = tmp_path / "q.csv"
    result = run(data_dir, "imports", "quarantine", report["batch_id"], "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "1 rejected rows written" in flat(result.stdout)
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and rows[0]["record_id"] == "POL-9" and rows[0]["_row"] == "4"
    assert "prs_Gender: unknown code" in rows[0]["_errors"]


def test_quarantine_of_an_unknown_batch(data_dir: Path, tmp_path: Path) -> None:
    result = run(data_dir, "imports", "quarantine", "nope", "--output",
                 str(tmp_path / "q.csv"))
    assert result.exit_code == 2
    assert "no import batch 'nope'" in result.stderr
    assert not (tmp_path / "q.csv").exists()


def test_import_of_a_missing_file(data_dir: Path, tmp_path: Path) -> None:
    result = run(data_dir, "import", str(tmp_path / "absent.csv"))
    assert result.exit_code == 2
    assert "No such file" in flat(result.stderr)


def test_import_with_unknown_profile_is_rejected(data_dir: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    result = run(data_dir, "import", str(path), "--profile", "nope")
    assert result.exit_code == 1
    assert "unknown mapping profile 'nope'" in flat(result.stdout)


def test_import_with_a_declared_encoding(data_dir: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "latin.csv", [row(prs_FirstName="Zoë")], encoding="latin-1")
    refused = run(data_dir, "import", str(path))
    assert refused.exit_code == 1 and "not valid utf-8" in flat(refused.stdout)
    accepted = run(data_dir, "import", str(path), "--encoding", "latin-1")
    assert accepted.exit_code == 0, accepted.output


def test_cases_list_and_show(data_dir: Path, tmp_path: Path) -> None:
    assert run(data_dir, "import", str(write_csv(tmp_path / "g.csv", GOOD_ROWS))).exit_code == 0
    listed = as_json(run(data_dir, "cases", "list", "--json"))
    assert listed["total"] == 2
    assert [i["source_record_id"] for i in listed["items"]] == ["C-1", "C-2"]
    filtered = as_json(run(data_dir, "cases", "list", "--json", "--exploitation",
                           "ForcedLabour"))
    assert [i["source_record_id"] for i in filtered["items"]] == ["C-2"]
    by_year = as_json(run(data_dir, "cases", "list", "--json", "--year", "2022", "--q", "ana"))
    assert [i["source_record_id"] for i in by_year["items"]] == ["C-1"]
    paged = as_json(run(data_dir, "cases", "list", "--json", "--limit", "1", "--offset", "1"))
    assert paged["total"] == 2 and [i["source_record_id"] for i in paged["items"]] == ["C-2"]

    table = run(data_dir, "cases", "list")
    assert table.exit_code == 0 and "2 cases" in table.stdout and "C-1" in table.stdout

    case_id = listed["items"][0]["id"]
    detail = as_json(run(data_dir, "cases", "show", case_id, "--json"))
    assert detail["summary"]["source_record_id"] == "C-1"
    assert {p["source_record_id"] for p in detail["persons"]} == {"POL-1", "POL-2"}
    human = run(data_dir, "cases", "show", case_id)
    assert human.exit_code == 0 and "Case C-1" in human.stdout and "Ana" in human.stdout

    missing = run(data_dir, "cases", "show", "nope", "--json")
    assert missing.exit_code == 2 and "no case 'nope'" in missing.stderr


def test_synth_cases_writes_one_file_per_organisation(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    result = runner.invoke(cli.app, ["synth", "cases", "--records", "500", "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert "truth.csv" in files
    org_files = [out / f for f in files if f != "truth.csv"]
    assert len(org_files) == 4
    total = 0
    for path in org_files:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert tuple(rows[0]) == synth.COLUMNS
        assert len(rows) > 1
        total += len(rows) - 1
    assert total == 500
    with (out / "truth.csv").open(encoding="utf-8", newline="") as fh:
        truth = list(csv.reader(fh))
    assert tuple(truth[0]) == synth.TRUTH_COLUMNS and len(truth) == 501
    again = tmp_path / "again"
    runner.invoke(cli.app, ["synth", "cases", "--records", "500", "--out", str(again)])
    for name in files:
        assert (again / name).read_bytes() == (out / name).read_bytes(), "same seed, same files"


def test_synth_single_file(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    result = runner.invoke(cli.app, ["synth", "cases", "--records", "50",
                                     "--single-file", str(path)])
    assert result.exit_code == 0, result.output
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == synth.COLUMNS and len(rows) == 51


def _store_counts(data_dir: Path) -> tuple[int, int]:
    import sqlite3

    with sqlite3.connect(data_dir / "maillon.sqlite") as conn:
        cases = conn.execute("SELECT count(*) FROM case_file").fetchone()[0]
        persons = conn.execute("SELECT count(*) FROM person").fetchone()[0]
    return int(cases), int(persons)


def test_demo_is_idempotent(data_dir: Path) -> None:
    first = run(data_dir, "demo", "--no-serve", "--records", "400")
    assert first.exit_code == 0, first.output
    assert "Generated 400 synthetic records" in flat(first.stdout)
    assert "rejected" in first.stdout  # the per-file summary "... 0 rejected"
    assert ": rejected" not in first.stdout
    counts = _store_counts(data_dir)
    assert counts[1] == 400 and counts[0] > 0
    total = as_json(run(data_dir, "cases", "list", "--json"))["total"]
    assert total == counts[0]

    second = run(data_dir, "demo", "--no-serve", "--records", "400")
    assert second.exit_code == 0, second.output
    assert " 0 inserted" in second.stdout and "400" in flat(second.stdout)
    assert _store_counts(data_dir) == counts, "running the demo twice adds nothing"
    assert as_json(run(data_dir, "cases", "list", "--json"))["total"] == total


def _maillon_executable() -> str:
    beside = Path(sys.executable).parent / "maillon"
    if beside.is_file():
        return str(beside)
    found = shutil.which("maillon")
    if found is None:
        pytest.skip("the maillon console script is not installed")
    return found


def test_demo_as_a_real_process_as_the_readme_says(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
    completed = subprocess.run(
        [_maillon_executable(), "demo", "--no-serve", "--records", "300"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (tmp_path / "maillon-data" / "maillon.sqlite").is_file()
    assert (tmp_path / "maillon-data" / "demo" / "truth.csv").is_file()
    assert _store_counts(tmp_path / "maillon-data")[1] == 300


def test_header_factories_are_consistent() -> None:
    assert len(HEADER) == len(GOOD_ROWS[0]) and set(HEADER) <= set(synth.COLUMNS)
