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

It prints rows/s for each and the ratio to the DuckDB read, and, for each import, the seconds
spent inside the store's bulk writes (the driver's ``executemany`` on SQLite, ``COPY`` on
PostgreSQL; about 11.5 stored rows per input row across ten indexed tables): that share is the
floor our schema puts under the import, whatever the speed of parsing, validation and
encryption.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import duckdb

from maillon.collect import synth
from maillon.collect.api import ImportOptions, import_file
from maillon.store.api import drop_schema
from maillon.store.bulk import BulkInserter
from maillon.store.db import make_engine, migrate
from maillon.store.keys import FileKeyProvider

OUT = Path(__file__).resolve().parent / "out"


class _StoreClock:
    """Time spent inside the store's bulk writes (driver ``executemany`` / ``COPY``) during an
    import: the floor our normalised schema puts under any importer, however fast its Python."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._insert = BulkInserter.insert

    def __enter__(self) -> _StoreClock:
        original = self._insert

        def timed(inserter: BulkInserter, *args: Any, **kwargs: Any) -> None:
            start = time.perf_counter()
            try:
                original(inserter, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        BulkInserter.insert = timed  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *_exc: object) -> None:
        BulkInserter.insert = self._insert  # type: ignore[method-assign]


def _timed_import(url: str, path: Path, schema: str | None = None) -> tuple[float, float]:
    """``(seconds for the whole import, of which seconds inside the bulk writes)``."""
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
    return elapsed, clock.seconds


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
    elapsed, writes = _timed_import(f"sqlite:///{workdir / 'bench.sqlite'}", data)
    results.append(("maillon import -> SQLite", elapsed))
    results.append(("  of which bulk writes (SQLite)", writes))

    if args.postgres:
        schema = f"maillon_bench_{secrets.token_hex(3)}"
        try:
            elapsed, writes = _timed_import(args.postgres, data, schema=schema)
            results.append(("maillon import -> PostgreSQL", elapsed))
            results.append(("  of which bulk writes (PostgreSQL)", writes))
        finally:
            drop_schema(args.postgres, schema)

    print(f"\n{'step':34} {'seconds':>9} {'rows/s':>12} {'x reference':>12}")
    for name, seconds in results:
        print(f"{name:34} {seconds:9.2f} {args.rows / seconds:12,.0f} {seconds / raw:12.1f}")


if __name__ == "__main__":
    main()
