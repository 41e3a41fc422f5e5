"""Encrypted backups restore the same records with the audit chain intact; re-encryption."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from maillon.auth.context import Security
from maillon.collect.api import ImportOptions, import_file
from maillon.core.errors import InvalidFile, InvalidInput
from maillon.core.settings import Settings
from maillon.store.api import Store, drop_schema
from maillon.store.audit import verify
from maillon.store.backup import read_summary, restore_backup, write_backup
from maillon.store.crypto import FieldCipher, rotate, token_dek_version
from maillon.store.db import make_engine, migrate
from maillon.store.keys import FileKeyProvider
from maillon.store.models import Person
from maillon.store.reencrypt import reencrypt_all
from maillon.store.registry import Base
from tests.auth_helpers import make_user
from tests.conftest import PG_URL
from tests.factories import GOOD_ROWS, write_csv


def _fill(store: Store, settings: Settings, tmp_path: Path) -> Security:
    security = Security.open(settings)
    make_user(store, username="ana.worker", role="case_worker", organisation="Police Unit 7")
    path = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    report = import_file(store.engine, path, ImportOptions(audit=security.audit, user="ops"))
    assert report.status == "committed"
    return security


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, comparable across backends (datetimes as UTC text)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted(
                (tuple(_plain(v) for v in row) for row in rows), key=repr)
    return out


def _plain(value: Any) -> Any:
    from datetime import UTC, datetime

    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    return value


@pytest.fixture
def target(backend: str, tmp_path: Path) -> Any:
    """An empty database of the same backend to restore into."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'restored' / 'maillon.sqlite'}")
        yield engine
        engine.dispose()
        return
    schema = f"maillon_restore_{os.getpid()}_{secrets.token_hex(3)}"
    engine = make_engine(PG_URL, schema=schema)
    yield engine
    engine.dispose()
    drop_schema(PG_URL, schema)


@pytest.mark.database
def test_round_trip_same_records_and_audit_chain_intact(
    store: Store, settings: Settings, tmp_path: Path, target: Engine
) -> None:
    security = _fill(store, settings, tmp_path)
    backup = tmp_path / "maillon.backup"
    summary = write_backup(store.engine, security.keys, backup)
    assert summary.tables["person"] == len(GOOD_ROWS) and summary.audit_entries >= 1
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    raw = backup.read_bytes()
    for secret_value in (b"Police Unit 7", b"POL-", b"ana.worker"):
        assert secret_value not in raw  # nothing readable without the key

    restored = restore_backup(target, security.keys, backup)
    assert restored.tables == summary.tables
    assert _dump(target) == _dump(store.engine)
    with target.connect() as conn:
        chain = verify(conn, key=security.keys.secret("audit"), anchor_path=None)
    assert chain.ok and chain.entries == summary.audit_entries
    with target.connect() as conn:
        assert security.audit.reanchor(conn, actor="ops", source="test").ok
    with target.connect() as conn:
        assert security.audit.verify(conn).ok
    # encrypted fields still open with the same key file in the restored database
    cipher = FieldCipher(security.keys, target)
    with target.connect() as conn:
        pid, org, token = conn.execute(select(Person.id, Person.organisation_id,
                                              Person.family_name).limit(1)).one()
    assert cipher.decrypt(token, organisation_id=org, record_id=pid, field="person.family_name")


def test_restore_refuses_a_database_with_records(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    security = _fill(store, settings, tmp_path)
    backup = tmp_path / "b.backup"
    write_backup(store.engine, security.keys, backup)
    before = _dump(store.engine)
    with pytest.raises(InvalidInput, match="empty database"):
        restore_backup(store.engine, security.keys, backup)
    assert _dump(store.engine) == before


def test_tampered_truncated_or_foreign_backups_are_refused_and_write_nothing(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    security = _fill(store, settings, tmp_path)
    backup = tmp_path / "b.backup"
    write_backup(store.engine, security.keys, backup)
    raw = backup.read_bytes()
    flipped = bytearray(raw)
    flipped[-40] ^= 0x01
    cases = {
        "altered": bytes(flipped),
        "truncated": raw[: len(raw) - 30],
        "not a backup": b"hello" + raw,
    }
    for name, content in cases.items():
        bad = tmp_path / f"{name}.backup"
        bad.write_bytes(content)
        engine = make_engine(f"sqlite:///{tmp_path / name / 'db.sqlite'}")
        migrate(engine)
        with pytest.raises(InvalidFile):
            restore_backup(engine, security.keys, bad)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM person")).scalar_one() == 0, name
        engine.dispose()
    other_keys = FileKeyProvider.create(tmp_path / "other" / "keys.json")
    with pytest.raises(InvalidFile, match="key"):
        read_summary(other_keys, backup)


def test_backup_refuses_to_overwrite(store: Store, settings: Settings, tmp_path: Path) -> None:
    security = Security.open(settings)
    path = tmp_path / "exists.backup"
    path.write_text("keep me")
    with pytest.raises(InvalidInput, match="exists"):
        write_backup(store.engine, security.keys, path)
    assert path.read_text() == "keep me"


@pytest.mark.database
def test_reencrypt_moves_every_token_to_the_new_data_key(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    security = _fill(store, settings, tmp_path)
    cipher = FieldCipher(security.keys, store.engine)
    with store.engine.connect() as conn:
        before = {pid: cipher.decrypt(tok, organisation_id=org, record_id=pid,
                                      field="person.family_name")
                  for pid, org, tok in conn.execute(
                      select(Person.id, Person.organisation_id, Person.family_name))}
    with store.engine.begin() as conn:
        rotated = rotate(conn, security.keys, new_data_keys=True)
    assert rotated.retired
    first = reencrypt_all(store.engine, security.keys)
    assert first.rewritten["person.family_name"] == len(GOOD_ROWS)
    assert first.rewritten["user_account.totp_secret"] == 1
    fresh = FieldCipher(security.keys, store.engine)
    with store.engine.connect() as conn:
        rows = conn.execute(select(Person.id, Person.organisation_id, Person.family_name)).all()
    for pid, org, token in rows:
        assert token_dek_version(token) == fresh.current_version(org)
        assert fresh.decrypt(token, organisation_id=org, record_id=pid,
                             field="person.family_name") == before[pid]
    again = reencrypt_all(store.engine, security.keys)
    assert again.total_rewritten == 0  # idempotent


def test_reencrypt_seals_totp_seeds_stored_in_clear(
    store: Store, settings: Settings
) -> None:
    security = Security.open(settings)
    make_user(store, username="old.user", role="case_worker", organisation="Police Unit 7")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE user_account SET totp_secret = 'JBSWY3DPEHPK3PXP'"))
    result = reencrypt_all(store.engine, security.keys)
    assert result.sealed == {"user_account.totp_secret": 1}
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT totp_secret FROM user_account")).scalar_one()
    assert stored.startswith("v1.") and "JBSWY3DPEHPK3PXP" not in stored


@pytest.mark.database
def test_reimport_keeps_the_old_values_of_changed_fields_encrypted(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    from maillon.store.audit import read_changes
    from tests.factories import row

    security = _fill(store, settings, tmp_path)
    changed = [row(prs_SecondName="Popescu-Marin"), *GOOD_ROWS[1:]]
    path = write_csv(tmp_path / "changed.csv", changed)
    report = import_file(store.engine, path, ImportOptions(audit=security.audit, user="ops"))
    assert report.updated == len(GOOD_ROWS)
    with store.engine.connect() as conn:
        seq = conn.execute(text("SELECT MAX(seq) FROM audit_log")).scalar_one()
        changes = read_changes(conn, seq)
        pid, org = conn.execute(select(Person.id, Person.organisation_id)
                                .where(Person.source_record_id == "POL-1")).one()
        assert security.audit.verify(conn).ok
    assert list(changes) == [f"{pid}.person.family_name"], "only the changed field"
    old = changes[f"{pid}.person.family_name"]
    assert old is not None and "Popescu" not in old
    cipher = FieldCipher(security.keys, store.engine)
    assert cipher.decrypt(old, organisation_id=org, record_id=pid,
                          field="person.family_name") == "Popescu"
