"""The tamper-evident audit log: chain, anchor, concurrency, transactions.

Runs on SQLite, and on PostgreSQL too when ``MAILLON_TEST_DATABASE_URL`` is set (a private schema
per test, dropped at the end). Tables are built with ``create_all`` (no migration needed).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from maillon.core.errors import InvalidInput
from maillon.store import models as _models  # noqa: F401  (registers the other tables)
from maillon.store.audit import (
    GENESIS,
    AuditLog,
    AuditRecord,
    entry_hash,
    read_anchor,
    read_changes,
    read_entries,
    verify,
)
from maillon.store.audit_models import AuditChange, AuditEntry
from maillon.store.base import Base, table_of
from maillon.store.db import drop_schema, make_engine

PG_URL = os.environ.get("MAILLON_TEST_DATABASE_URL", "")
KEY = bytes(range(32))
TABLES = [table_of(AuditEntry), table_of(AuditChange)]

pytestmark = pytest.mark.database


@pytest.fixture
def engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    if backend == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'audit.sqlite'}")
        Base.metadata.create_all(eng, tables=TABLES)
        yield eng
        eng.dispose()
        return
    schema = f"maillon_audit_{os.getpid()}_{secrets.token_hex(3)}"
    eng = make_engine(PG_URL, schema=schema)
    try:
        Base.metadata.create_all(eng, tables=TABLES)
        yield eng
    finally:
        eng.dispose()
        drop_schema(PG_URL, schema)


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(KEY, tmp_path / "audit" / "anchor.json")


def record(i: int) -> AuditRecord:
    return AuditRecord(
        actor=f"user{i % 7}",
        action="read" if i % 3 else "update",
        resource="case",
        resource_id=f"case-{i}",
        fields=("cas_Status", "cas_Notes"),
        source="10.0.0.1",
        detail={"i": i},
    )


def fill(audit: AuditLog, engine: Engine, n: int, *, one_by_one: bool = False) -> None:
    """Append ``n`` entries in one transaction: one ``append`` each, or one ``append_many``."""
    with audit.audit_scope(engine) as conn:
        if not one_by_one:
            audit.append_many(conn, (record(i) for i in range(n)))
            return
        for i in range(n):
            r = record(i)
            audit.append(
                conn,
                actor=r.actor,
                action=r.action,
                resource=r.resource,
                resource_id=r.resource_id,
                fields=r.fields,
                source=r.source,
                detail=r.detail,
            )


def test_append_and_verify_1000(engine: Engine, audit: AuditLog) -> None:
    fill(audit, engine, 1000, one_by_one=True)
    with engine.connect() as conn:
        result = audit.verify(conn)
        assert result.ok, result.reason
        assert result.entries == 1000 and result.first_bad_seq is None
        assert result.anchored_seq == 1000
        seqs = conn.execute(select(table_of(AuditEntry).c.seq)).scalars().all()
        first = conn.execute(select(table_of(AuditEntry)).where(text("seq = 1"))).one()
        assert first.prev_hash == GENESIS
        newest = read_entries(conn, limit=5, offset=0, actor="user3")
    assert sorted(seqs) == list(range(1, 1001))
    anchor = read_anchor(audit.anchor_path)
    assert anchor is not None and anchor["seq"] == 1000
    assert [e.seq for e in newest] == sorted((e.seq for e in newest), reverse=True)
    assert all(e.actor == "user3" and e.fields == ("cas_Status", "cas_Notes") for e in newest)
    assert newest[0].at.tzinfo is not None and newest[0].detail is not None


def test_edited_row_is_named(engine: Engine, audit: AuditLog) -> None:
    fill(audit, engine, 1000)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor='x' WHERE seq=500"))
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert not result.ok and result.first_bad_seq == 500
    assert "500" in result.reason and "altered" in result.reason
    assert result.entries == 499


def test_deleted_row_is_named(engine: Engine, audit: AuditLog) -> None:
    fill(audit, engine, 1000)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq=500"))
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert not result.ok and result.first_bad_seq == 500
    assert "500" in result.reason and "missing" in result.reason


def test_truncation_detected_by_anchor(engine: Engine, audit: AuditLog) -> None:
    fill(audit, engine, 1000)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq > 990"))
    with engine.connect() as conn:
        result = audit.verify(conn)
        assert verify(conn, key=KEY, anchor_path=None).ok  # the chain alone looks fine
    assert not result.ok and result.first_bad_seq == 991
    assert "truncated" in result.reason
    # Later appends re-use seqs 991..: the anchor stays as evidence, verify keeps failing.
    before = audit.anchor_path.read_bytes()
    fill(audit, engine, 20)
    assert audit.anchor_path.read_bytes() == before
    with engine.connect() as conn:
        again = audit.verify(conn)
    assert not again.ok and again.first_bad_seq == 1000


def test_recomputed_with_another_key(engine: Engine, audit: AuditLog, tmp_path: Path) -> None:
    fill(audit, engine, 50)
    attacker_key = secrets.token_bytes(32)
    log = table_of(AuditEntry)
    with engine.begin() as conn:  # an attacker with DB write access but without the key
        rows = conn.execute(select(log).order_by(log.c.seq)).mappings().all()
        prev = GENESIS
        for row in rows:
            values = {**row, "actor": "someone-else"}
            digest = entry_hash(attacker_key, prev, values, [])
            conn.execute(
                log.update()
                .where(log.c.seq == row["seq"])
                .values(actor="someone-else", prev_hash=prev, entry_hash=digest)
            )
            prev = digest
    with engine.connect() as conn:
        result = audit.verify(conn)
        assert verify(conn, key=attacker_key, anchor_path=None).ok  # consistent under their key
        forged = AuditLog(attacker_key, tmp_path / "forged.json")
        assert not verify(conn, key=attacker_key, anchor_path=audit.anchor_path).ok
    assert not result.ok and result.first_bad_seq == 1
    assert forged.anchor_path != audit.anchor_path


def test_missing_anchor_is_reported(engine: Engine, audit: AuditLog) -> None:
    with engine.connect() as conn:
        empty = audit.verify(conn)
    assert empty.ok and empty.entries == 0
    fill(audit, engine, 10)
    audit.anchor_path.unlink()
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert not result.ok and result.entries == 10 and result.first_bad_seq is None
    assert "missing" in result.reason
    # The next append does not silently re-create it (that would bless a truncation) ...
    fill(audit, engine, 1)
    assert not audit.anchor_path.exists()
    # ... an operator does, and that is itself logged.
    with engine.connect() as conn:
        assert audit.reanchor(conn, actor="admin", source="cli").ok
    with engine.connect() as conn:
        result = audit.verify(conn)
        assert result.ok and result.entries == 12, result.reason
        assert read_entries(conn, limit=1, offset=0)[0].action == "reanchor"


def test_altered_anchor_is_reported(engine: Engine, audit: AuditLog) -> None:
    fill(audit, engine, 10)
    body = json.loads(audit.anchor_path.read_text())
    body["seq"] = 5
    audit.anchor_path.write_text(json.dumps(body))
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert not result.ok and "altered" in result.reason
    audit.anchor_path.write_text("{not json")
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert not result.ok and "unreadable" in result.reason


def test_concurrent_appenders(engine: Engine, audit: AuditLog) -> None:
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            for i in range(200):
                with audit.audit_scope(engine) as conn:
                    audit.append(
                        conn,
                        actor=name,
                        action="read",
                        resource="person",
                        resource_id=str(i),
                        source="10.0.0.2",
                    )
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with engine.connect() as conn:
        result = audit.verify(conn)
        seqs = conn.execute(select(table_of(AuditEntry).c.seq)).scalars().all()
    assert result.ok, result.reason
    assert sorted(seqs) == list(range(1, 401))
    assert result.anchored_seq == 400


def test_group_commit_returns_each_callers_own_entry(
    engine: Engine, audit: AuditLog, tmp_path: Path, backend: str
) -> None:
    """Reads audited by many threads at once (and a second log writer, as another web worker
    would be): every caller gets the seq of ITS entry, committed and anchored on return."""
    other = AuditLog(KEY, audit.anchor_path)
    errors: list[BaseException] = []
    got: dict[str, int] = {}
    lock = threading.Lock()

    def work(log: AuditLog, name: str) -> None:
        try:
            for i in range(40):
                rid = f"{name}-{i}"
                seq = log.append_committed(engine, AuditRecord(
                    actor=name, action="read", resource="case", resource_id=rid,
                    fields=("given_name",), source="10.0.0.3"))
                with engine.connect() as conn:  # committed before append_committed returned
                    stored = conn.execute(select(table_of(AuditEntry).c.resource_id)
                                          .where(table_of(AuditEntry).c.seq == seq)).scalar()
                assert stored == rid
                with lock:
                    got[rid] = seq
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(audit if n % 2 else other, f"t{n}"))
               for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(got.values()) == list(range(1, 241))
    other.flush_anchor()
    with engine.connect() as conn:
        result = audit.verify(conn)  # anchors what is pending first
    assert result.ok, result.reason
    assert result.anchored_seq == 240
    if backend == "sqlite":
        assert (tmp_path / "audit.sqlite.audit-lock").exists()  # workers hand over by file lock


def test_group_commit_errors_reach_the_caller(engine: Engine, audit: AuditLog) -> None:
    with pytest.raises(InvalidInput):
        audit.append_committed(engine, AuditRecord(actor="", action="read", resource="case"))
    with engine.begin() as conn:  # the group's transaction fails: the caller gets the error
        conn.execute(text("DROP TABLE audit_change"))
        conn.execute(text("DROP TABLE audit_log"))
    with pytest.raises(Exception, match="audit_log"):
        audit.append_committed(engine, record(1))
    Base.metadata.create_all(engine, tables=TABLES)  # and the next group is not stuck
    assert audit.append_committed(engine, record(2)) == 1
    with engine.connect() as conn:
        assert audit.verify(conn).ok


def test_deferred_anchor_follows_and_guards_committed_reads(
    engine: Engine, audit: AuditLog, caplog: pytest.LogCaptureFixture
) -> None:
    """The anchor of group-committed reads is written shortly after, once for many; an entry
    deleted before that is reported, and the anchor does not bless the truncation."""
    fill(audit, engine, 3)  # a change: anchored at once
    assert read_anchor(audit.anchor_path)["seq"] == 3  # type: ignore[index]
    for i in range(5):
        audit.append_committed(engine, record(i))
    deadline = time.monotonic() + 5
    while read_anchor(audit.anchor_path)["seq"] != 8:  # type: ignore[index]
        assert time.monotonic() < deadline, "the timer never anchored the reads"
        time.sleep(0.01)
    audit.append_committed(engine, record(9))  # seq 9, anchor pending ...
    with engine.begin() as conn:  # ... when someone deletes it
        conn.execute(text("DELETE FROM audit_log WHERE seq = 9"))
    with caplog.at_level("ERROR"):
        audit.flush_anchor()
    assert "entry 9 was committed but is now missing" in caplog.text
    assert read_anchor(audit.anchor_path)["seq"] == 8  # type: ignore[index]


def test_rollback_leaves_nothing(engine: Engine, audit: AuditLog) -> None:
    fill(audit, engine, 3)
    before = audit.anchor_path.read_bytes()
    with pytest.raises(RuntimeError), audit.audit_scope(engine) as conn:
        audit.append(conn, actor="alice", action="delete", resource="case", resource_id="c1")
        raise RuntimeError("the recorded action failed")
    assert audit.anchor_path.read_bytes() == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 3
        conn.rollback()
        # A caller-managed transaction rolled back, then after_commit: nothing anchored.
        with conn.begin() as tx:
            audit.append(conn, actor="alice", action="delete", resource="case")
            tx.rollback()
        audit.after_commit(conn)
        assert audit.verify(conn).ok
    assert audit.anchor_path.read_bytes() == before


def test_old_values_stored_and_covered(engine: Engine, audit: AuditLog) -> None:
    tokens = {"prs_FirstName": "enc:v1:AAAA", "prs_Birthdate": None}
    with audit.audit_scope(engine) as conn:
        seq = audit.append(
            conn,
            actor="alice",
            action="update",
            resource="person",
            resource_id="p1",
            fields=("prs_FirstName", "prs_Birthdate"),
            source="192.0.2.7",
            old_values=tokens,
        )
        audit.append(conn, actor="alice", action="read", resource="person", resource_id="p1")
    with engine.connect() as conn:
        assert read_changes(conn, seq) == tokens
        view = read_entries(conn, limit=10, offset=0, resource="person", resource_id="p1")
        assert [v.changed for v in view] == [(), ("prs_Birthdate", "prs_FirstName")]
        assert audit.verify(conn).ok
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_change SET old_value='enc:v1:BBBB' WHERE seq=:s"), {"s": seq}
        )
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert not result.ok and result.first_bad_seq == seq


def test_append_many_and_validation(engine: Engine, audit: AuditLog) -> None:
    with audit.audit_scope(engine) as conn:
        first = audit.append(
            conn,
            actor="bob",
            action="import",
            resource="import_batch",
            resource_id="b1",
            source="cli",
            detail={"rows": 3},
        )
        seqs = audit.append_many(
            conn,
            [
                AuditRecord(
                    actor="bob", action="create", resource="case", resource_id=f"c{i}", source="cli"
                )
                for i in range(3)
            ],
        )
    assert first == 1 and list(seqs) == [2, 3, 4]
    bad: list[dict[str, Any]] = [
        {"fields": ("name=Maria Doe",)},
        {"action": "Read!"},
        {"actor": "eve\nadmin login ok"},
        {"source": "x" * 101},
        {"old_values": {"a,b": "enc"}},
    ]
    with audit.audit_scope(engine) as conn:
        for kwargs in bad:
            args = {"actor": "bob", "action": "read", "resource": "case", **kwargs}
            with pytest.raises(InvalidInput):
                audit.append(conn, **args)
    with engine.connect() as conn:
        assert audit.verify(conn).entries == 4
    with pytest.raises(Exception, match="32"):
        AuditLog(b"short", Path("x"))
