"""SQLite bulk writes in a background thread, so the database's work overlaps the importer's.

SQLite does most of an insert's work (the row, its primary key, every index) without holding
the GIL, so that work can run on a second core while the importer reads, validates and
encrypts the next chunk. What does not work, measured on this project's 2-core machine:

* a writer thread calling the driver's ``executemany``: it releases and re-takes the GIL once
  per row, and behind a busy Python thread each re-take waits for the interpreter's switch
  interval (a 1.6 s ``executemany`` did not finish in 20 s beside a Python loop);
* multi-row ``INSERT ... VALUES (?, ...), (?, ...)`` statements in that thread, as many rows
  as SQLite's 32,766 parameters allow: binding a statement's values holds the GIL, and the
  waits for it made the thread the slower side (a million rows: 258.6 s against 240.2 s
  without any thread);
* staging the rows in a second SQLite database written by the importer's thread: two threads
  inside SQLite at once contend on its process-wide locks, and both ran about twice as slow.

A :class:`SqliteStage` hands the thread each chunk of a table as ONE JSON document instead.
The importer's thread serialises the row tuples (``json.dumps``: C code, about a microsecond
a row); the thread runs one statement per table and chunk,
``INSERT INTO t (...) SELECT json_extract(value, '$[0]'), ..., ?2, ... FROM json_each(?1)``,
on the import's own connection, inside the import's transaction. A statement holds no GIL
from start to end, and the importer's thread never enters SQLite while it runs. Columns with
one value for the whole chunk (an organisation's provenance) are bound once (``?2`` ...)
instead of being repeated in every row. JSON keeps the values' SQLite types: text stays text
(quotes, brackets and all), integers and reals stay numbers, ``True``/``False`` become 1/0
and ``None`` NULL, as the driver binds them. Values must be in storage form (see
:class:`maillon.store.bulk.BulkInserter`): one JSON cannot write (a ``datetime``, bytes) fails
with ``TypeError`` in the importer's thread, before its chunk is handed over.

The caller must not use the import's connection while a copy may be running: it calls
:meth:`SqliteStage.drain` first (the batch writer does, before every look-up, update or
delete, and before the import finishes or rolls back).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False, allow_nan=False).encode
"""JSON in ASCII (other characters as ``\\u`` escapes, which ``json_extract`` decodes): the
driver then binds the text without re-encoding it, in the thread that must not hold the GIL."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteStage:
    """Background bulk inserts on one SQLite connection inside its transaction (see module)."""

    def __init__(self, conn: Connection) -> None:
        raw = conn.connection.driver_connection
        if conn.dialect.name != "sqlite" or not isinstance(raw, sqlite3.Connection):
            raise ValueError("a staged bulk write needs a SQLite connection")
        self._raw: sqlite3.Connection = raw
        self._statements: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}
        self._staged: list[tuple[str, Any, bool]] = []
        """``(statement, parameters, many)``: ``many`` for a chunk bound row by row."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maillon-stage")
        self._pending: Future[None] | None = None
        self.copy_seconds = 0.0
        """Seconds the background thread spent in SQLite (the inserts' own work)."""
        self.wait_seconds = 0.0
        """Seconds the importer's thread waited for a copy to end."""

    def _statement(self, table: str, columns: tuple[str, ...], constants: tuple[str, ...]
                   ) -> str:
        key = (table, columns, constants)
        found = self._statements.get(key)
        if found is None:
            names = ", ".join(map(_quote, (*columns, *constants)))
            values = [f"json_extract(value, '$[{i}]')" for i in range(len(columns))]
            values += [f"?{i + 2}" for i in range(len(constants))]
            found = self._statements[key] = (
                f"INSERT INTO {_quote(table)} ({names}) "  # noqa: S608
                f"SELECT {', '.join(values)} FROM json_each(?1)"
            )
        return found

    def put(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
            constants: Mapping[str, Any] | None = None) -> None:
        """Stage ``rows`` (tuples in the order of ``columns``) and the ``constants`` columns'
        values shared by all of them; serialised at once, so later changes to ``rows`` do not
        matter."""
        if not rows:
            return
        given = constants or {}
        document = _encode(rows)
        if "\\u0000" in document:
            # SQLite's JSON functions end a text at an escaped NUL: such a chunk (rare, and
            # only in clear text columns) goes row by row, exactly as the driver stores it.
            extra = tuple(given.values())
            names = ", ".join(map(_quote, (*columns, *given)))
            marks = ", ".join("?" for _ in range(len(columns) + len(extra)))
            self._staged.append((
                f"INSERT INTO {_quote(table)} ({names}) VALUES ({marks})",  # noqa: S608
                [row + extra for row in rows], True))
            return
        statement = self._statement(table, tuple(columns), tuple(given))
        self._staged.append((statement, (document, *given.values()), False))

    def submit(self) -> None:
        """Start copying what is staged, in the background, once the previous copy has ended
        (one statement at a time on the connection; at most one chunk waits in memory)."""
        if not self._staged:
            return
        staged, self._staged = self._staged, []
        self.drain()
        self._pending = self._pool.submit(self._copy, staged)

    def _copy(self, staged: list[tuple[str, Any, bool]]) -> None:
        start = time.perf_counter()
        try:
            for statement, parameters, many in staged:
                if many:
                    self._raw.executemany(statement, parameters)
                else:
                    self._raw.execute(statement, parameters)
        finally:
            self.copy_seconds += time.perf_counter() - start

    def drain(self) -> None:
        """Wait for the running copy, if any; its error (e.g. a constraint) is raised here."""
        pending = self._pending
        if pending is None:
            return
        start = time.perf_counter()
        try:
            pending.result()
        finally:
            self.wait_seconds += time.perf_counter() - start
            if pending.done():  # not when the wait itself was interrupted (Ctrl-C)
                self._pending = None

    def thread_may_write(self) -> bool:
        """Whether the background thread may use the connection (the driver refuses a
        connection opened with ``check_same_thread``)."""
        try:
            self._pool.submit(self._raw.execute, "SELECT 1").result()
        except sqlite3.ProgrammingError:
            return False
        return True

    def close(self) -> None:
        """Wait for the thread and stop it; what was staged and not submitted is dropped."""
        try:
            self.drain()
        except Exception:  # noqa: BLE001, S110 - the import already failed and rolled back
            pass
        finally:
            self._staged = []
            self._pool.shutdown(wait=True)


@contextmanager
def staged(conn: Connection) -> Iterator[SqliteStage | None]:
    """A :class:`SqliteStage` on a SQLite connection, closed on exit; None on other databases
    and on a SQLite connection that only its own thread may use (SQLAlchemy opens in-memory
    databases so), where the caller writes directly."""
    if conn.dialect.name != "sqlite":
        yield None
        return
    stage = SqliteStage(conn)
    if not stage.thread_may_write():
        stage.close()
        yield None
        return
    try:
        yield stage
    finally:
        stage.close()
