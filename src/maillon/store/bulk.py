"""Bulk inserts that bypass per-row ORM and SQLAlchemy parameter processing.

One thin API, one implementation per backend, both on the caller's connection and therefore in
the caller's transaction:

* SQLite: with a :class:`~maillon.store.bulk_stage.SqliteStage` (imports), one statement per
  table and chunk in a background thread; without one, the driver's ``executemany`` with
  positional tuples (no per-value type processing).
* PostgreSQL: ``COPY ... FROM STDIN`` through psycopg, the fastest path into PostgreSQL.

Values must already be in storage form: dates as ISO text (``"2021-05-01"``), booleans as bool,
timestamps as produced by :meth:`BulkInserter.stamp`. Figures: ``bench/import_bench.py`` and
``docs/collect.md`` ("How fast").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table

from maillon.store.bulk_stage import SqliteStage


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class BulkInserter:
    """Inserts tuples (in the order of ``columns``) into tables on one open connection.

    With a ``stage`` (SQLite), inserts go through it: :meth:`submit` starts copying them in the
    background and the stage's ``drain`` waits until they are in the tables (see
    :mod:`maillon.store.bulk_stage`).
    """

    def __init__(self, conn: Connection, stage: SqliteStage | None = None) -> None:
        self.conn = conn
        self.stage = stage
        self.dialect = conn.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"no bulk insert for {self.dialect}")

    def stamp(self, moment: datetime) -> Any:
        """A timestamp in the form the backend stores (SQLAlchemy's SQLite text form)."""
        if self.dialect == "sqlite":
            return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        return moment

    def insert(
        self, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
        constants: Mapping[str, Any] | None = None,
    ) -> None:
        """Insert ``rows`` into ``table``; ``columns`` names the tuple positions.

        ``constants`` are columns with the same value in every row (an import's provenance):
        given once, they are neither repeated in the tuples nor, with a stage, in the data
        handed to its thread.
        """
        if not rows:
            return
        if self.stage is not None:
            self.stage.put(table.name, columns, rows, constants)
            return
        extra = tuple((constants or {}).values())
        names = ", ".join(_quote(c) for c in (*columns, *(constants or {})))
        full = [row + extra for row in rows] if extra else rows
        dbapi = self.conn.connection.driver_connection
        if dbapi is None:
            raise RuntimeError("connection is closed")
        if self.dialect == "sqlite":
            marks = ", ".join("?" for _ in range(len(columns) + len(extra)))
            cursor = dbapi.cursor()
            try:
                cursor.executemany(
                    f"INSERT INTO {_quote(table.name)} ({names}) VALUES ({marks})",  # noqa: S608
                    full,
                )
            finally:
                cursor.close()
            return
        with dbapi.cursor() as cursor, cursor.copy(
            f"COPY {_quote(table.name)} ({names}) FROM STDIN"
        ) as copy:
            for row in full:
                copy.write_row(row)

    def submit(self) -> None:
        """With a stage: start copying what was inserted so far, in the background."""
        if self.stage is not None:
            self.stage.submit()

    def update(
        self, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
        key: str = "id",
    ) -> None:
        """``UPDATE table SET columns... WHERE key = last value`` for each tuple in ``rows``."""
        if not rows:
            return
        mark = "?" if self.dialect == "sqlite" else "%s"
        sets = ", ".join(f"{_quote(c)} = {mark}" for c in columns)
        sql = f"UPDATE {_quote(table.name)} SET {sets} WHERE {_quote(key)} = {mark}"  # noqa: S608
        dbapi = self.conn.connection.driver_connection
        if dbapi is None:
            raise RuntimeError("connection is closed")
        cursor = dbapi.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()
