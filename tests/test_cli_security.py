"""Security commands an operator scripts: organisations, users, keys, audit verification."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from maillon import cli
from tests.factories import GOOD_ROWS, write_csv

runner = CliRunner()
PASSWORD = "correct horse battery staple 42"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("MAILLON_") and name != "MAILLON_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("MAILLON_ARGON2_PROFILE", "test")
    monkeypatch.setenv("MAILLON_KEY_FILE", str(tmp_path / "keys" / "keys.json"))
    monkeypatch.setenv("MAILLON_AUDIT_ANCHOR", str(tmp_path / "keys" / "anchor.json"))
    for console in (cli.out, cli.err):
        monkeypatch.setattr(console, "_width", 250)


def run(tmp_path: Path, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(cli.app, ["--data-dir", str(tmp_path / "ws"), "--as", "ops", *args],
                         input=stdin)


def test_create_organisation_and_user_prints_totp_uri(tmp_path: Path) -> None:
    created = run(tmp_path, "orgs", "create", "Police Unit 7", "--type", "LawEnforcement",
                  "--country", "FR")
    assert created.exit_code == 0, created.output
    user = run(tmp_path, "users", "create", "ana.worker", "--organisation", "police-unit-7",
               "--role", "case_worker", "--password-stdin", stdin=PASSWORD + "\n")
    assert user.exit_code == 0, user.output
    assert "otpauth://totp/" in user.stdout and "ana.worker" in user.stdout
    assert PASSWORD not in user.output
    key_file = tmp_path / "keys" / "keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_weak_password_and_unknown_role_are_named(tmp_path: Path) -> None:
    run(tmp_path, "orgs", "create", "NGO")
    result = run(tmp_path, "users", "create", "bob", "--organisation", "ngo", "--role", "king",
                 "--password-stdin", stdin="password\n")
    assert result.exit_code == 1
    assert "role" in result.output and "password" in result.output


def test_audit_verify_passes_then_names_the_edited_entry(tmp_path: Path) -> None:
    run(tmp_path, "orgs", "create", "Police Unit 7")
    path = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    assert run(tmp_path, "import", str(path)).exit_code == 0
    assert run(tmp_path, "import", str(path)).exit_code == 0
    ok = run(tmp_path, "audit", "verify")
    assert ok.exit_code == 0 and "3 entries" in ok.stdout, ok.output
    db = sqlite3.connect(tmp_path / "ws" / "maillon.sqlite")
    with db:
        actors = [a for (a,) in db.execute("SELECT actor FROM audit_log ORDER BY seq")]
        assert actors == ["ops", "ops", "ops"]
        db.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
    db.close()
    bad = run(tmp_path, "audit", "verify")
    assert bad.exit_code == 1 and "entry 2" in bad.output


def test_audit_verify_detects_truncation(tmp_path: Path) -> None:
    run(tmp_path, "orgs", "create", "A")
    run(tmp_path, "orgs", "create", "B")
    db = sqlite3.connect(tmp_path / "ws" / "maillon.sqlite")
    with db:
        db.execute("DELETE FROM audit_log WHERE seq = 2")
    db.close()
    bad = run(tmp_path, "audit", "verify")
    assert bad.exit_code == 1


def test_keys_rotate_rewraps_data_keys(tmp_path: Path) -> None:
    run(tmp_path, "orgs", "create", "A")
    result = run(tmp_path, "keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "new key-encryption key version 2" in result.stdout
    assert run(tmp_path, "audit", "verify").exit_code == 0


def test_keys_init_refuses_to_overwrite(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").exit_code == 0
    again = run(tmp_path, "keys", "init")
    assert again.exit_code == 1 and "exists" in again.output


def test_cli_case_reads_and_quarantine_exports_are_audited(tmp_path: Path) -> None:
    import json

    run(tmp_path, "orgs", "create", "Police Unit 7")
    bad = [*GOOD_ROWS, [*GOOD_ROWS[0][:1], *GOOD_ROWS[0][1:]]]
    bad[-1][0] = "POL-9"
    bad[-1][7] = "Robot"
    path = write_csv(tmp_path / "mixed.csv", bad)
    imported = run(tmp_path, "import", str(path), "--skip-bad-rows", "--json")
    batch = json.loads(imported.stdout)["batch_id"]
    listed = json.loads(run(tmp_path, "cases", "list", "--json").stdout)
    shown = run(tmp_path, "cases", "show", listed["items"][0]["id"])
    assert shown.exit_code == 0, shown.output
    exported = run(tmp_path, "imports", "quarantine", batch, "--output",
                   str(tmp_path / "fix.csv"))
    assert exported.exit_code == 0, exported.output
    db = sqlite3.connect(tmp_path / "ws" / "maillon.sqlite")
    actions = [r for r in db.execute("SELECT actor, action, resource, source FROM audit_log "
                                     "ORDER BY seq")]
    db.close()
    assert ("ops", "read", "case", "cli") in actions
    assert ("ops", "export", "import_batch", "cli") in actions
    assert run(tmp_path, "audit", "verify").exit_code == 0


def test_backup_then_restore_into_a_new_workspace(tmp_path: Path) -> None:
    run(tmp_path, "orgs", "create", "Police Unit 7")
    path = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    assert run(tmp_path, "import", str(path)).exit_code == 0
    backup = tmp_path / "maillon.backup"
    made = run(tmp_path, "backup", "--output", str(backup))
    assert made.exit_code == 0, made.output
    checked = run(tmp_path, "restore", str(backup), "--check")
    assert checked.exit_code == 0 and "intact" in checked.stdout, checked.output
    other = ["--data-dir", str(tmp_path / "ws2"), "--as", "ops"]
    restored = runner.invoke(cli.app, [*other, "restore", str(backup)])
    assert restored.exit_code == 0, restored.output
    assert "audit chain intact" in restored.stdout
    import json

    listed = runner.invoke(cli.app, [*other, "cases", "list", "--json"])
    original = run(tmp_path, "cases", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["items"] == json.loads(original.stdout)["items"] != []
    assert runner.invoke(cli.app, [*other, "audit", "verify"]).exit_code == 0
    again = runner.invoke(cli.app, [*other, "restore", str(backup)])
    assert again.exit_code == 1 and "empty database" in again.output


def test_rotate_new_data_keys_then_reencrypt(tmp_path: Path) -> None:
    run(tmp_path, "orgs", "create", "Police Unit 7")
    path = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    assert run(tmp_path, "import", str(path)).exit_code == 0
    assert run(tmp_path, "keys", "rotate", "--new-data-keys").exit_code == 0
    done = run(tmp_path, "keys", "reencrypt")
    assert done.exit_code == 0, done.output
    assert "person.family_name: " in done.stdout
    again = run(tmp_path, "keys", "reencrypt")
    assert "0 fields rewritten" in again.stdout
    assert run(tmp_path, "audit", "verify").exit_code == 0
