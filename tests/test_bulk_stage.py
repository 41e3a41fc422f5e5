"""SQLite's background bulk writes store exactly what the driver's own inserts store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from maillon.store.bulk import BulkInserter
from maillon.store.bulk_stage import staged
from maillon.store.db import make_engine

ROWS = [
    ("a", "plain", 1, 1.5, True),
    ("b", 'quote " backslash \\ bracket ] [1,2] {"k": 1}', -7, 0.1, False),
    ("c", "é ß 日本 😀 \u2028 tab\tnewline\n", 2**62, 1e300, None),
    ("d", None, None, None, None),
    ("e", "", 0, -0.0, True),
    ("f", "007", 12, 3.0, False),
]
NUL_ROWS = [("g", "before\x00after", 1, 1.0, True)]
COLUMNS = ("id", "label", "amount", "ratio", "flag")


def _table(metadata: MetaData, name: str) -> Table:
    return Table(name, metadata, Column("id", String(10), primary_key=True),
                 Column("label", Text), Column("amount", Integer), Column("ratio", Text),
                 Column("flag", Integer), Column("org", String(10)), Column("batch", String(10)))


def _stored(conn: Connection, name: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(text(
        f"SELECT id, label, typeof(label), amount, typeof(amount), ratio, typeof(ratio), flag, "
        f"org, batch FROM {name} ORDER BY id"))]


def test_staged_rows_equal_the_drivers_rows(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'stage.sqlite'}")
    metadata = MetaData()
    direct, via_stage = _table(metadata, "direct"), _table(metadata, "via_stage")
    metadata.create_all(engine)
    constants = {"org": "org-1", "batch": "batch-1"}
    rows = ROWS + NUL_ROWS
    with engine.connect() as conn, staged(conn) as stage:
        assert stage is not None
        with conn.begin():
            BulkInserter(conn).insert(direct, COLUMNS, rows, constants)
            bulk = BulkInserter(conn, stage)
            bulk.insert(via_stage, COLUMNS, ROWS, constants)
            bulk.insert(via_stage, COLUMNS, NUL_ROWS, constants)  # the row-by-row fallback
            bulk.submit()
            stage.drain()
        expected = _stored(conn, "direct")
        assert _stored(conn, "via_stage") == expected
        assert len(expected) == len(rows)
        nul = conn.execute(text("SELECT hex(label) FROM via_stage WHERE id = 'g'")).scalar()
        assert nul == b"before\x00after".hex().upper()  # nothing cut at the NUL
    engine.dispose()


@pytest.fixture
def one_table(tmp_path: Path) -> Iterator[tuple[Engine, Table]]:
    """A SQLite file with one table ``t`` of :func:`_table`'s columns."""
    engine = make_engine(f"sqlite:///{tmp_path / 'stage.sqlite'}")
    metadata = MetaData()
    table = _table(metadata, "t")
    metadata.create_all(engine)
    yield engine, table
    engine.dispose()


def test_a_failed_copy_is_raised_when_drained_and_rolls_back(
    one_table: tuple[Engine, Table],
) -> None:
    engine, table = one_table
    with engine.connect() as conn, staged(conn) as stage:
        assert stage is not None
        tx = conn.begin()
        bulk = BulkInserter(conn, stage)
        bulk.insert(table, COLUMNS, ROWS[:2])
        bulk.submit()
        bulk.insert(table, COLUMNS, ROWS[:1])  # the same id again
        bulk.submit()
        with pytest.raises(sqlite3.IntegrityError):
            stage.drain()
        tx.rollback()
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_values_json_cannot_carry_fail_before_anything_is_copied(
    one_table: tuple[Engine, Table],
) -> None:
    engine, table = one_table
    with engine.connect() as conn, staged(conn) as stage:
        assert stage is not None
        with pytest.raises(TypeError):
            BulkInserter(conn, stage).insert(table, COLUMNS, [("x", b"bytes", 1, 1.0, True)])


def test_a_connection_only_its_thread_may_use_gets_no_stage() -> None:
    engine = make_engine("sqlite://")  # in memory: SQLAlchemy keeps it to one thread
    with engine.connect() as conn, staged(conn) as stage:
        assert stage is None
    engine.dispose()
