"""Audit log benchmark: cost of the HMAC chain against a plain insert, and verify speed.

    .venv/bin/python bench/audit_bench.py [--rows 20000] [--commits 500] [--postgres URL]

For SQLite (a fresh file under ``bench/out/``) and PostgreSQL (``--postgres`` or
``MAILLON_TEST_DATABASE_URL``, in a throw-away schema), prints:

* entries/s of ``AuditLog.append`` in one transaction, against a plain ``INSERT`` of the same row
  into a same-shaped table without hashing or locking, and the ratio;
* the same for ``append_many`` against one multi-row ``INSERT``;
* entries/s with one transaction per entry (``audit_scope``: commit + anchor file written with
  fsync), against one plain insert per transaction;
* ``verify`` entries/s over everything appended.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, Table, insert
from sqlalchemy.sql.elements import quoted_name

from maillon.core.timeutil import utcnow
from maillon.store.audit import AuditLog, AuditRecord
from maillon.store.audit_models import AuditChange, AuditEntry
from maillon.store.base import Base, table_of
from maillon.store.db import drop_schema, make_engine

OUT = Path(__file__).resolve().parent / "out" / "audit"


def _record(i: int) -> AuditRecord:
    return AuditRecord(
        actor=f"user{i % 50}",
        action="read",
        resource="person",
        resource_id=f"{i:032x}",
        fields=("prs_FirstName", "prs_LastName", "prs_Birthdate"),
        source="10.1.2.3",
        detail={"view": "case_detail"},
        actor_organisation_id=f"{i % 9:032x}",
    )


def _plain_row(i: int, seq: int) -> dict[str, Any]:
    r = _record(i)
    return {
        "seq": seq,
        "at": utcnow(),
        "actor": r.actor,
        "actor_organisation_id": r.actor_organisation_id,
        "action": r.action,
        "resource": r.resource,
        "resource_id": r.resource_id,
        "fields": ",".join(r.fields),
        "source": r.source,
        "detail": '{"view":"case_detail"}',
        "prev_hash": "0" * 64,
        "entry_hash": "0" * 64,
    }


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>10,.0f}/s"


def run(engine: Engine, label: str, rows: int, commits: int) -> None:
    plain = table_of(AuditEntry).to_metadata(MetaData(), name="audit_plain")
    assert isinstance(plain, Table)
    for index in plain.indexes:  # same indexes, own names
        index.name = quoted_name(str(index.name).replace("audit_log", "audit_plain"), None)
    plain.primary_key.name = "pk_audit_plain"
    Base.metadata.create_all(engine, tables=[table_of(AuditEntry), table_of(AuditChange)])
    plain.create(engine)
    anchor = OUT / f"anchor-{label}.json"
    anchor.unlink(missing_ok=True)
    audit = AuditLog(secrets.token_bytes(32), anchor)
    print(f"\n{label}")

    def report(name: str, n: int, t_audit: float, t_plain: float) -> None:
        ratio = t_audit / t_plain
        print(f"  {name:<36} audit {_rate(n, t_audit)}  plain {_rate(n, t_plain)}  x{ratio:.2f}")

    seq = 0
    # 1. one transaction, append() per entry
    start = time.perf_counter()
    with audit.audit_scope(engine) as conn:
        for i in range(rows):
            r = _record(i)
            audit.append(
                conn,
                actor=r.actor,
                action=r.action,
                resource=r.resource,
                resource_id=r.resource_id,
                fields=r.fields,
                source=r.source,
                detail=r.detail,
                actor_organisation_id=r.actor_organisation_id,
            )
    t_audit = time.perf_counter() - start
    start = time.perf_counter()
    with engine.begin() as conn:
        for i in range(rows):
            seq += 1
            conn.execute(insert(plain), _plain_row(i, seq))
    report("append, one transaction", rows, t_audit, time.perf_counter() - start)

    # 2. append_many against a multi-row insert
    start = time.perf_counter()
    with audit.audit_scope(engine) as conn:
        audit.append_many(conn, (_record(i) for i in range(rows)))
    t_audit = time.perf_counter() - start
    start = time.perf_counter()
    with engine.begin() as conn:
        batch = []
        for i in range(rows):
            seq += 1
            batch.append(_plain_row(i, seq))
        conn.execute(insert(plain), batch)
    report("append_many, one transaction", rows, t_audit, time.perf_counter() - start)

    # 3. a transaction (and an anchor write) per entry
    start = time.perf_counter()
    for i in range(commits):
        with audit.audit_scope(engine) as conn:
            audit.append(
                conn,
                actor="bench",
                action="read",
                resource="person",
                resource_id=str(i),
                source="10.1.2.3",
            )
    t_audit = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(commits):
        seq += 1
        with engine.begin() as conn:
            conn.execute(insert(plain), _plain_row(i, seq))
    report("one transaction per entry (+anchor)", commits, t_audit, time.perf_counter() - start)

    total = 2 * rows + commits
    start = time.perf_counter()
    with engine.connect() as conn:
        result = audit.verify(conn)
    elapsed = time.perf_counter() - start
    assert result.ok and result.entries == total, result
    print(f"  {'verify':<36} {_rate(total, elapsed)} ({total:,} entries, {elapsed:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--postgres", default=os.environ.get("MAILLON_TEST_DATABASE_URL", ""))
    args = parser.parse_args()

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    engine = make_engine(f"sqlite:///{OUT / 'audit.sqlite'}")
    run(engine, "SQLite", args.rows, args.commits)
    engine.dispose()
    if args.postgres:
        schema = f"maillon_audit_bench_{secrets.token_hex(3)}"
        engine = make_engine(args.postgres, schema=schema)
        try:
            run(engine, "PostgreSQL", args.rows, args.commits)
        finally:
            engine.dispose()
            drop_schema(args.postgres, schema)


if __name__ == "__main__":
    main()
