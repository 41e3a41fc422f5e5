"""What encryption at rest and the audit log cost on imports and on case reads.

    .venv/bin/python bench/security_bench.py [--rows 20000] [--reads 2000] [--postgres URL]

Same process, same data, same machine, four configurations each:

* imports of ``--rows`` synthetic HTCDS rows: as shipped (fields encrypted, blind indexes,
  audited), without the audit entry, without encryption (``FieldCipher`` swapped for a
  pass-through *in this process only*), and without both — rows/s and the ratio to the plain run;
* case reads through the JSON API (``GET /api/v1/cases/{id}`` in-process, signed in as a
  supervisor): as shipped (decrypt + redact + one audit entry committed and anchored per read),
  without the audit entry, without decryption, without both — reads/s and the ratio.

* the audit entry of one read on its own: appended and anchored in a transaction of its own
  (``audit_scope``: how changes are audited, and how reads were until group commit) against
  ``append_committed`` (group commit, anchor deferred up to 50 ms, see
  ``store/audit_group.py``), from 1 and from 8 threads — CPU ms per entry and the ratio.

The pass-through exists only here, to measure; the product has no switch to turn either off.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

os.environ.setdefault("MAILLON_ARGON2_PROFILE", "test")

from maillon.auth import api as auth  # noqa: E402
from maillon.auth.context import Security  # noqa: E402
from maillon.collect import synth  # noqa: E402
from maillon.collect.api import ImportOptions, import_file  # noqa: E402
from maillon.core.settings import Settings  # noqa: E402
from maillon.store import models as m  # noqa: E402
from maillon.store.api import drop_schema, open_store  # noqa: E402
from maillon.store.crypto import FieldCipher  # noqa: E402
from maillon.web import security as web_security  # noqa: E402

PASSWORD = "a long enough bench passphrase 7"  # noqa: S105  (a throw-away bench account)


@contextmanager
def plain_fields() -> Iterator[None]:
    """Encrypt/decrypt/blind-index become the identity, in this process, for the baseline."""
    saved = FieldCipher.encrypt, FieldCipher.decrypt, FieldCipher.blind_index
    FieldCipher.encrypt = lambda self, value, **_: value  # type: ignore[method-assign,assignment]
    FieldCipher.decrypt = lambda self, token, **_: token  # type: ignore[method-assign,assignment]
    FieldCipher.blind_index = (  # type: ignore[method-assign,assignment]
        lambda self, value, **kw: value)
    try:
        yield
    finally:
        FieldCipher.encrypt, FieldCipher.decrypt, FieldCipher.blind_index = saved  # type: ignore[method-assign]


@contextmanager
def no_read_audit() -> Iterator[None]:
    saved = web_security.audit_read
    web_security.audit_read = lambda *a, **k: None  # type: ignore[assignment]
    try:
        yield
    finally:
        web_security.audit_read = saved


def workspace(root: Path, name: str, postgres: str | None) -> tuple[Settings, Any, str | None]:
    settings = Settings(data_dir=root / name, key_file=root / name / "keys.json",
                        audit_anchor=root / name / "anchor.json",
                        database_url=postgres or "")
    schema = f"bench_sec_{secrets.token_hex(4)}" if postgres else None
    return settings, open_store(settings, schema=schema), schema


def run_import(settings: Settings, store: Any, path: Path, audited: bool) -> float:
    security = Security.open(settings)
    options = ImportOptions(audit=security.audit if audited else None, user="bench",
                            keys=security.keys,
                            organisation="Bench Unit")
    start = time.perf_counter()
    report = import_file(store.engine, path, options)
    elapsed = time.perf_counter() - start
    assert report.status == "committed", report.message
    return elapsed


def run_reads(settings: Settings, store: Any, reads: int) -> float:
    from maillon.web.app import create_app

    security = Security.open(settings)
    with store.sessions() as session, session.begin():
        org = session.scalars(select(m.Organisation)).first()
        assert org is not None
        _, secret = auth.create_user(session, organisation_id=org.id,
                                     username=f"sup{secrets.token_hex(3)}", password=PASSWORD,
                                     role="supervisor", keys=security.keys)
        ids = list(session.scalars(select(m.Case.id).where(m.Case.organisation_id == org.id)))
        username = session.scalars(select(auth.User.username)
                                   .order_by(auth.User.created_at.desc())).first()
    rng = random.Random(7)
    with TestClient(create_app(settings, store)) as client:
        token = client.post("/api/v1/auth/login", json={
            "username": username, "password": PASSWORD,
            "totp": pyotp.TOTP(secret or "").now()}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        start = time.perf_counter()
        for _ in range(reads):
            response = client.get(f"/api/v1/cases/{rng.choice(ids)}", headers=headers)
            assert response.status_code == 200, response.text
        return time.perf_counter() - start


def run_audit_appends(settings: Settings, store: Any, entries: int, threads: int,
                      grouped: bool) -> tuple[float, float]:
    """``(seconds, CPU seconds of this process)`` to audit ``entries`` reads."""
    import threading

    from maillon.store.audit import AuditRecord

    audit = Security.open(settings).audit
    record = AuditRecord(actor="bench", action="read", resource="case", resource_id="c" * 32,
                         fields=("given_name", "family_name"), source="127.0.0.1")

    def work(count: int) -> None:
        for _ in range(count):
            if grouped:
                audit.append_committed(store.engine, record)
            else:
                with audit.audit_scope(store.engine) as conn:
                    audit.append(conn, actor=record.actor, action=record.action,
                                 resource=record.resource, resource_id=record.resource_id,
                                 fields=record.fields, source=record.source)

    pool = [threading.Thread(target=work, args=(entries // threads,)) for _ in range(threads)]
    cpu, start = time.process_time(), time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    audit.flush_anchor()
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--reads", type=int, default=2_000)
    parser.add_argument("--postgres", default=os.environ.get("MAILLON_TEST_DATABASE_URL"))
    args = parser.parse_args()
    backends: list[str | None] = [None] + ([args.postgres] if args.postgres else [])
    with tempfile.TemporaryDirectory(dir=Path("bench/out") if Path("bench/out").is_dir()
                                     else None) as tmp:
        root = Path(tmp)
        path = root / "cases.csv"
        synth.write_single_file(path=path, n_records=args.rows, seed=11)
        for url in backends:
            label = "postgresql" if url else "sqlite"
            print(f"\n== {label}: import of {args.rows} rows ==")
            runs: dict[str, float] = {}
            for name, encrypted, audited in (("as shipped", True, True),
                                             ("no audit", True, False),
                                             ("no encryption", False, True),
                                             ("neither", False, False)):
                settings, store, schema = workspace(root, f"{label}-{name}", url)
                try:
                    if encrypted:
                        runs[name] = run_import(settings, store, path, audited)
                    else:
                        with plain_fields():
                            runs[name] = run_import(settings, store, path, audited)
                    with no_read_audit() if not audited else _nothing():
                        if encrypted:
                            reads = run_reads(settings, store, args.reads)
                        else:
                            with plain_fields():
                                reads = run_reads(settings, store, args.reads)
                    runs[f"reads {name}"] = reads
                finally:
                    store.close()
                    if schema and url:
                        drop_schema(url, schema)
            base = runs["neither"]
            for name in ("as shipped", "no audit", "no encryption", "neither"):
                print(f"{name:>14}: {args.rows / runs[name]:9.0f} rows/s  "
                      f"x{runs[name] / base:5.2f} the plain import's time")
            print(f"== {label}: {args.reads} case reads through the API ==")
            plain = runs["reads neither"]
            for name in ("as shipped", "no audit", "no encryption", "neither"):
                t = runs[f"reads {name}"]
                print(f"{name:>14}: {args.reads / t:9.0f} reads/s  x{t / plain:5.2f}")
            print(f"== {label}: audit entries of reads, {args.reads} each ==")
            settings, store, schema = workspace(root, f"{label}-audit", url)
            try:
                for threads in (1, 8):
                    costs = {}
                    for grouped in (False, True):
                        wall, cpu = run_audit_appends(settings, store, args.reads, threads,
                                                      grouped)
                        costs[grouped] = cpu
                        name = "append_committed" if grouped else "own transaction"
                        print(f"{threads} thread(s), {name:>16}: {args.reads / wall:7.0f}/s, "
                              f"{1000 * cpu / args.reads:5.2f} CPU ms per entry")
                    print(f"{threads} thread(s), CPU ratio grouped / own transaction: "
                          f"x{costs[True] / costs[False]:.2f}")
            finally:
                store.close()
                if schema and url:
                    drop_schema(url, schema)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


if __name__ == "__main__":
    main()
