"""Data-subject rights over one person record: access (export) and erasure (GDPR art. 15, 17).

Both walk the schema instead of listing tables: every row that references the person through a
foreign key (consent, contexts, events, support plans, link decisions, screenings, and whatever
a later capability adds) is exported, or erased with the rows that depend on it. Encrypted
columns (:data:`maillon.store.crypto.PERSONAL_FIELDS`) are decrypted for the export only; the
export is for the data subject and is written where the operator says, never logged.

Erasure is definitive. Audit entries stay (they hold ids and field names, never values), so the
log still verifies and still shows who read the record before it was erased.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Connection, Table, delete, select

from maillon.core.errors import NotFound
from maillon.store.crypto import PERSONAL_FIELDS, FieldCipher
from maillon.store.registry import Base


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return f"<{len(bytes(value))} bytes>"
    return value


def _references(target: Table) -> list[tuple[Table, Column[Any]]]:
    """(table, column) pairs whose column is a foreign key to ``target``'s primary key."""
    found = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is target and fk.parent.table is table:
                found.append((table, fk.parent))
    return found


def _row_dict(table: Table, row: Any, cipher: FieldCipher, organisation_id: str | None
              ) -> dict[str, Any]:
    data = {c.name: _plain(v) for c, v in zip(table.columns, row, strict=True)}
    encrypted = PERSONAL_FIELDS.get(table.name, ())
    (key,) = table.primary_key.columns if len(table.primary_key.columns) == 1 else (None,)
    for name in encrypted:
        if data.get(name) is not None and key is not None:
            org = data.get("organisation_id", organisation_id)
            data[name] = cipher.decrypt(data[name], organisation_id=org,
                                        record_id=str(data[key.name]),
                                        field=f"{table.name}.{name}")
    return {k: v for k, v in data.items() if not k.endswith("_bidx")}


def export_subject(conn: Connection, cipher: FieldCipher, person_id: str) -> dict[str, Any]:
    """Everything Maillon holds on one person, decrypted: ``{"person": {...}, "case": {...},
    "<table>": [rows...]}``. Raises :class:`NotFound` for an unknown id."""
    person = Base.metadata.tables["person"]
    row = conn.execute(select(person).where(person.c.id == person_id)).first()
    if row is None:
        raise NotFound(f"no person {person_id}")
    org = row.organisation_id
    out: dict[str, Any] = {"person": _row_dict(person, row, cipher, org)}
    if row.case_id is not None:
        case = Base.metadata.tables["case_file"]
        case_row = conn.execute(select(case).where(case.c.id == row.case_id)).one()
        out["case"] = _row_dict(case, case_row, cipher, org)
    for table, column in _references(person):
        rows = conn.execute(select(table).where(column == person_id)).all()
        if rows:
            out.setdefault(table.name, []).extend(_row_dict(table, r, cipher, org) for r in rows)
    return out


def _delete_where(conn: Connection, table: Table, column: Column[Any], values: Any,
                  counts: dict[str, int]) -> None:
    """Delete ``table`` rows whose ``column`` is in ``values``, dependents first."""
    keys = list(table.primary_key.columns)
    if len(keys) == 1:
        ids = select(keys[0]).where(column.in_(values)).scalar_subquery()
        for child, child_column in _references(table):
            if child is not table:
                _delete_where(conn, child, child_column, ids, counts)
    result = conn.execute(delete(table).where(column.in_(values)))
    if result.rowcount:
        counts[table.name] = counts.get(table.name, 0) + result.rowcount


def erase_subject(conn: Connection, person_id: str) -> dict[str, int]:
    """Delete the person and every row that depends on it, in the caller's transaction;
    returns the rows deleted per table. Raises :class:`NotFound` for an unknown id."""
    person = Base.metadata.tables["person"]
    if conn.execute(select(person.c.id).where(person.c.id == person_id)).first() is None:
        raise NotFound(f"no person {person_id}")
    counts: dict[str, int] = {}
    _delete_where(conn, person, person.c.id, [person_id], counts)
    return counts
