"""The re-encryption job: every encrypted field moves to its organisation's newest data key.

Run after ``maillon keys rotate --new-data-keys`` (which retires the data keys in use) so that
retired keys protect nothing and can be destroyed. Idempotent and resumable: a token already
under the newest key is only checked (decrypted), never rewritten, so a job interrupted half-way
is simply run again. Work is committed in batches of :data:`BATCH_ROWS` rows, each batch in its
own transaction, so a large store is not locked for the whole run.

Which columns are encrypted is data: :data:`maillon.store.crypto.PERSONAL_FIELDS` (per
organisation: the row's ``organisation_id`` picks the key) and :data:`GLOBAL_FIELDS`
(installation-wide key). The token's associated data is always ``"<record id>|<table>.<column>"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, select, update

from maillon.store.crypto import PERSONAL_FIELDS, TOKEN_VERSION, FieldCipher, token_dek_version
from maillon.store.keys import KeyProvider
from maillon.store.registry import Base

GLOBAL_FIELDS: dict[str, tuple[str, ...]] = {
    "quarantine_row": ("raw", "errors"),
    "user_account": ("totp_secret",),
}
"""Encrypted columns under the installation-wide data key (organisation ``None``): rejected
import rows (their organisation may not even exist) and accounts' TOTP seeds."""

BATCH_ROWS = 500


@dataclass
class ReencryptResult:
    """Counts per ``table.column``: tokens rewritten, already current, and clear values sealed."""

    rewritten: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)
    sealed: dict[str, int] = field(default_factory=dict)

    @property
    def total_rewritten(self) -> int:
        return sum(self.rewritten.values()) + sum(self.sealed.values())


def _columns(table: Table, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in table.c]


def _owner(table: Table) -> ColumnElement[Any]:
    """The row's organisation: its own column, or its parent's (``perpetrator_context`` is
    keyed by ``person_id`` and owned by that person's organisation)."""
    if "organisation_id" in table.c:
        return table.c.organisation_id
    (key,) = table.primary_key.columns
    for fk in key.foreign_keys:
        parent = fk.column.table
        if "organisation_id" in parent.c:
            return (select(parent.c.organisation_id).where(fk.column == key)
                    .scalar_subquery())
    raise ValueError(f"{table.name}: no organisation to pick the data key")


def _job(engine: Engine, keys: KeyProvider, table: Table, names: list[str], per_org: bool,
         result: ReencryptResult) -> None:
    (key,) = table.primary_key.columns
    org_col = _owner(table) if per_org else None
    last = ""
    while True:
        with engine.begin() as conn:
            cipher = FieldCipher(keys, conn)
            query = select(key, *(table.c[n] for n in names))
            if org_col is not None:
                query = query.add_columns(org_col)
            rows = conn.execute(
                query.where(key > last).order_by(key).limit(BATCH_ROWS)
            ).all()
            if not rows:
                return
            for row in rows:
                record_id = row[0]
                org = row[len(names) + 1] if org_col is not None else None
                changes: dict[str, str] = {}
                for i, name in enumerate(names, start=1):
                    token = row[i]
                    label = f"{table.name}.{name}"
                    if token is None:
                        continue
                    if not token.startswith(TOKEN_VERSION + "."):
                        # written in clear by an older version (e.g. TOTP seeds): seal it
                        changes[name] = cipher.encrypt(token, organisation_id=org,
                                                       record_id=record_id, field=label)
                        result.sealed[label] = result.sealed.get(label, 0) + 1
                        continue
                    newest = cipher.ensure_data_key(org)
                    fresh = cipher.reencrypt(token, organisation_id=org, record_id=record_id,
                                             field=label)
                    if token_dek_version(token) == newest:
                        result.current[label] = result.current.get(label, 0) + 1
                    else:
                        changes[name] = fresh
                        result.rewritten[label] = result.rewritten.get(label, 0) + 1
                if changes:
                    conn.execute(update(table).where(key == record_id).values(**changes))
            last = rows[-1][0]


def reencrypt_all(engine: Engine, keys: KeyProvider) -> ReencryptResult:
    """Re-encrypt every encrypted field under its organisation's newest data key.

    A token that does not decrypt (altered, or its key was destroyed) raises
    :class:`~maillon.store.crypto.DecryptionError` naming the record and field; the batches
    committed before it stay committed (they are correct), and the job can be re-run after the
    problem is fixed.
    """
    result = ReencryptResult()
    tables = Base.metadata.tables
    for name, columns in PERSONAL_FIELDS.items():
        if name in tables:
            _job(engine, keys, tables[name], _columns(tables[name], columns), True, result)
    for name, columns in GLOBAL_FIELDS.items():
        if name in tables:
            _job(engine, keys, tables[name], _columns(tables[name], columns), False, result)
    return result
