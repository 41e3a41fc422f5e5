"""Import benchmark: rows/s of a fully validated, committed import, against DuckDB's raw read.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--postgres URL]

Generates ``--rows`` synthetic case rows (HTCDS flat CSV, seeded) once into ``bench/out/``, then
times, in this one process:

* DuckDB ``read_csv`` of the same file into an in-memory table (the speed-of-light reference:
  parse only, no validation, no indexes, no durability);
* ``maillon import`` into a fresh SQLite file (validation against the vocabularies, encryption
  of the personal fields, bulk insert into ten indexed tables, one transaction);
* the same into PostgreSQL when ``--postgres`` (or ``MAILLON_TEST_DATABASE_URL``) is given, in a
  throw-away schema.

It prints rows/s for each and the ratio to the DuckDB read. For SQLite it also prints:

* the seconds SQLite spent inserting in the import's background thread, and how long the
  importer waited for it (see ``maillon.store.bulk_stage``): the import takes about
  max(importer's own work, SQLite's inserts) plus the commit;
* the FLOOR of our schema on SQLite: the same rows (about 11.5 stored rows per input row,
  across ten indexed tables) inserted again, by SQLite alone, from an in-memory copy into an
  empty database of the same schema, committed. No Python, parsing, validation or encryption:
  no importer on one SQLite file can be faster than this.

For PostgreSQL it prints the seconds inside ``COPY``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import duckdb

from maillon.collect import synth
from maillon.collect.api import ImportOptions, import_file
from maillon.store.api import drop_schema
from maillon.store.bulk import BulkInserter
from maillon.store.bulk_stage import SqliteStage
from maillon.store.db import make_engine, migrate
from maillon.store.keys import FileKeyProvider

OUT = Path(__file__).resolve().parent / "out"


class _StoreClock:
    """Seconds inside the store's bulk writes during an import: ``BulkInserter.insert`` (on
    SQLite only the hand-over to the background thread; ``COPY`` on PostgreSQL) and, with a
    SQLite stage, its thread's inserts and the importer's waits for them."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.background = 0.0
        self.waited = 0.0
        self._insert = BulkInserter.insert
        self._close = SqliteStage.close

    def __enter__(self) -> _StoreClock:
        insert, close = self._insert, self._close

        def timed(inserter: BulkInserter, *args: Any, **kwargs: Any) -> None:
            start = time.perf_counter()
            try:
                insert(inserter, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        def closed(stage: SqliteStage) -> None:
            close(stage)
            self.background += stage.copy_seconds
            self.waited += stage.wait_seconds

        BulkInserter.insert = timed  # type: ignore[method-assign,assignment]
        SqliteStage.close = closed  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *_exc: object) -> None:
        BulkInserter.insert = self._insert  # type: ignore[method-assign]
        SqliteStage.close = self._close  # type: ignore[method-assign]


def _timed_import(url: str, path: Path, schema: str | None = None) -> tuple[float, _StoreClock]:
    """``(seconds for the whole import, the store's share)``."""
    engine = make_engine(url, schema=schema)
    migrate(engine)
    keys = FileKeyProvider.open_or_create(OUT / "keys" / "bench-keys.json")
    with _StoreClock() as clock:
        start = time.perf_counter()
        report = import_file(engine, path, ImportOptions(user="bench", keys=keys))
        elapsed = time.perf_counter() - start
    engine.dispose()
    if report.status != "committed":
        raise SystemExit(f"import failed: {report.message} {report.errors[:3]}")
    return elapsed, clock


FLOOR_TABLES = ("case_file", "person", "person_code", "victim_context", "perpetrator_context",
                "trafficking_event", "referral", "support_plan", "consent")


def _sqlite_floor(imported: Path, workdir: Path) -> tuple[float, float]:
    """``(insert seconds, commit seconds)`` of SQLite alone storing the imported rows again.

    The rows are first copied into plain in-memory tables (untimed), then inserted with
    ``INSERT INTO t SELECT * FROM memory.t`` into an empty migrated database: the source's
    schema differs from the target's, so SQLite really inserts row by row and maintains every
    index, as an import must (an identical schema would let it copy whole pages instead).
    """
    target = workdir / "floor.sqlite"
    engine = make_engine(f"sqlite:///{target}")
    migrate(engine)
    engine.dispose()
    con = sqlite3.connect(target, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA cache_size=-262144")  # as the store's own connections
        con.execute("PRAGMA foreign_keys=OFF")  # as an import (see collect.service)
        con.execute("ATTACH DATABASE ? AS source", (str(imported),))
        con.execute("ATTACH DATABASE ':memory:' AS memory")
        for table in FLOOR_TABLES:
            con.execute(f"CREATE TABLE memory.{table} AS SELECT * FROM source.{table}")  # noqa: S608
        con.execute("DETACH DATABASE source")
        con.execute("BEGIN")
        start = time.perf_counter()
        for table in FLOOR_TABLES:
            con.execute(f"INSERT INTO main.{table} SELECT * FROM memory.{table}")  # noqa: S608
        inserted = time.perf_counter()
        con.execute("COMMIT")
        return inserted - start, time.perf_counter() - inserted
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", default=os.environ.get("MAILLON_TEST_DATABASE_URL", ""))
    args = parser.parse_args()

    OUT.mkdir(exist_ok=True)
    data = OUT / f"cases-{args.rows}-{args.seed}.csv"
    if not data.exists():
        start = time.perf_counter()
        synth.write_single_file(path=data, n_records=args.rows, seed=args.seed)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - start:.1f} s -> {data}")
    size_mb = data.stat().st_size / 1e6
    print(f"file: {data.name}, {size_mb:.0f} MB, {args.rows:,} rows")

    start = time.perf_counter()
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM read_csv(?, header=true, all_varchar=true)",
        [str(data)],
    )
    loaded = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    raw = time.perf_counter() - start
    con.close()
    assert loaded == args.rows, loaded
    results = [("duckdb read_csv (reference)", raw)]

    workdir = OUT / "sqlite"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    elapsed, clock = _timed_import(f"sqlite:///{workdir / 'bench.sqlite'}", data)
    results.append(("maillon import -> SQLite", elapsed))
    results.append(("  SQLite inserts (background)", clock.background))
    results.append(("  importer waited for them", clock.waited))
    insert, commit = _sqlite_floor(workdir / "bench.sqlite", workdir)
    results.append(("SQLite alone, same rows (floor)", insert + commit))
    results.append(("  of which commit", commit))

    if args.postgres:
        schema = f"maillon_bench_{secrets.token_hex(3)}"
        try:
            elapsed, clock = _timed_import(args.postgres, data, schema=schema)
            results.append(("maillon import -> PostgreSQL", elapsed))
            results.append(("  of which COPY (PostgreSQL)", clock.seconds))
        finally:
            drop_schema(args.postgres, schema)

    print(f"\n{'step':34} {'seconds':>9} {'rows/s':>12} {'x reference':>12}")
    for name, seconds in results:
        print(f"{name:34} {seconds:9.2f} {args.rows / seconds:12,.0f} {seconds / raw:12.1f}")


if __name__ == "__main__":
    main()
