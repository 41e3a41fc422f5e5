"""Rows gathered into one JSON value inside a query, on SQLite and PostgreSQL alike.

A read that needs a record and its child rows would otherwise run one statement per child
table. On PostgreSQL each statement is a round trip with work on both sides (the driver's
per-statement cost, the server's parse, bind and execute), and under load those add up to more
than the rows themselves. :func:`json_rows` lets one statement bring the child rows back as a
correlated scalar subquery per child table, each an array of row arrays in JSON text.

What comes back is JSON, not the columns' Python types: dates are ISO strings and SQLite gives
booleans as ``0``/``1``; :func:`loads_rows` parses the text, and the caller converts what it
needs (see :func:`as_date`). Rows come in no particular order: sort them in Python (SQLite
before 3.44 cannot order inside an aggregate).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class json_rows(FunctionElement[str]):  # noqa: N801 - used like SQLAlchemy's ``func.x``
    """Aggregate: a JSON array text with one array per row of the given columns.

    ``json_group_array(json_array(...))`` on SQLite, ``json_agg(json_build_array(...))::text``
    on PostgreSQL (``NULL`` there when there is no row; SQLite gives ``[]``).
    """

    type = Text()
    name = "json_rows"
    inherit_cache = True


@compiles(json_rows)
def _sqlite(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


@compiles(json_rows, "postgresql")
def _postgresql(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_agg(json_build_array({compiler.process(element.clauses, **kw)}))::text"


def loads_rows(text: str | None) -> list[list[Any]]:
    """The rows of a :class:`json_rows` value (``[]`` for ``NULL``)."""
    if not text:
        return []
    rows: list[list[Any]] = json.loads(text)
    return rows


def as_date(value: str | None) -> date | None:
    """A ``Date`` column's value as :class:`date` (JSON gives ``YYYY-MM-DD`` on both engines)."""
    return None if value is None else date.fromisoformat(value)
