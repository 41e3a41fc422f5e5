"""The import pipeline: reader -> mapping profile -> validation -> quarantine -> commit.

:func:`import_file` owns its transactions, because "all or nothing" is its contract: the batch's
records are written in one transaction that is committed only if every row passed (or the user
chose to skip bad rows); otherwise it is rolled back and only the batch's report and its
quarantined rows are stored, in a second transaction. A process killed mid-import leaves the
store as it was, since nothing was committed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from maillon.collect.profiles import load_profile
from maillon.collect.readers import RowShapeError, detect_format, open_table
from maillon.collect.validate import Record, RowValidator
from maillon.collect.writer import BatchWriter
from maillon.core.errors import FieldError, InvalidInput, NotFound
from maillon.core.ids import new_id
from maillon.core.settings import load_settings
from maillon.core.timeutil import utcnow
from maillon.store import models as m
from maillon.store.audit import AuditLog
from maillon.store.base import table_of
from maillon.store.bulk_stage import SqliteStage, staged
from maillon.store.crypto import FieldCipher
from maillon.store.keys import FileKeyProvider, KeyProvider

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportOptions:
    """How to import one file. ``organisation`` is used for rows without an organisation column.

    ``skip_bad_rows``: commit the good rows and quarantine the bad ones; without it, one bad row
    means nothing is committed. ``only_organisation`` (an organisation's name and code)
    rejects rows that belong to any other organisation: an account imports its own
    organisation's records only; ``owner_organisation_id`` marks the batch as that
    organisation's. With ``audit``, the import writes one ``import`` entry (who, from where,
    which batch, the counts) in the same transaction as the data. Personal fields are
    encrypted with ``keys`` (default: the key file the settings name).
    """

    profile: str = "htcds"
    file_format: str | None = None
    encoding: str = "utf-8"
    sheet: str | None = None
    organisation: str | None = None
    skip_bad_rows: bool = False
    user: str = "system"
    chunk_rows: int = 20000
    audit: AuditLog | None = None
    source: str = ""
    owner_organisation_id: str | None = None
    only_organisation: tuple[str, ...] | None = None
    keys: KeyProvider | None = None


@dataclass
class QuarantinedRow:
    row: int
    raw: dict[str, Any]
    errors: list[FieldError]


@dataclass
class ImportReport:
    """What happened. ``status``: ``committed``, ``partial`` or ``rejected``."""

    batch_id: str
    status: str
    filename: str
    profile: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    message: str = ""
    errors: list[FieldError] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)

    def as_dict(self, *, max_errors: int = 1000) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "status": self.status,
            "filename": self.filename,
            "profile": self.profile,
            "rows_read": self.rows_read,
            "inserted": self.inserted,
            "updated": self.updated,
            "rejected": self.rejected,
            "message": self.message,
            "unmapped_columns": self.unmapped_columns,
            "errors": [e.as_dict() for e in self.errors[:max_errors]],
            "errors_truncated": len(self.errors) > max_errors,
        }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _batch_row(report: ImportReport, options: ImportOptions, sha: str, fmt: str) -> dict[str, Any]:
    return {
        "id": report.batch_id,
        "organisation_id": options.owner_organisation_id,
        "filename": report.filename,
        "file_sha256": sha,
        "file_format": fmt,
        "profile": report.profile,
        "status": "running",
        "rows_read": 0,
        "rows_inserted": 0,
        "rows_updated": 0,
        "rows_rejected": 0,
        "message": None,
        "started_at": utcnow(),
        "finished_at": None,
        "created_by": options.user,
    }


def _keys(options: ImportOptions) -> KeyProvider:
    return options.keys or FileKeyProvider.open_or_create(load_settings().key_file)


def _seal_rows(conn: Connection, keys: KeyProvider, report: ImportReport,
               quarantine: list[QuarantinedRow]) -> list[dict[str, Any]]:
    """Quarantine rows with their cells and errors ENCRYPTED (they hold names, in any column),
    under the installation-wide data key, bound to the quarantine row's id."""
    cipher = FieldCipher(keys, conn)
    rows = []
    for q in quarantine:
        qid = new_id()
        raw = json.dumps(q.raw, ensure_ascii=False, default=str)
        errors = json.dumps([e.as_dict() for e in q.errors], ensure_ascii=False)
        rows.append({
            "id": qid, "batch_id": report.batch_id, "row_number": q.row, "resolved": False,
            "raw": cipher.encrypt(raw, organisation_id=None, record_id=qid,
                                  field="quarantine_row.raw"),
            "errors": cipher.encrypt(errors, organisation_id=None, record_id=qid,
                                     field="quarantine_row.errors"),
        })
    return rows


def _finish(conn: Connection, report: ImportReport, quarantine: list[QuarantinedRow],
            keys: KeyProvider) -> None:
    batch = table_of(m.ImportBatch)
    conn.execute(
        update(batch).where(batch.c.id == report.batch_id).values(
            status=report.status, rows_read=report.rows_read, rows_inserted=report.inserted,
            rows_updated=report.updated, rows_rejected=report.rejected,
            message=report.message or None, finished_at=utcnow(),
        )
    )
    if quarantine:
        conn.execute(insert(table_of(m.QuarantineRow)),
                     _seal_rows(conn, keys, report, quarantine))


def _audit(conn: Connection, report: ImportReport, options: ImportOptions,
           history: dict[str, str | None] | None = None) -> None:
    if options.audit is None:
        return
    options.audit.append(
        conn, actor=options.user, action="import", resource="import_batch",
        resource_id=report.batch_id, source=options.source,
        detail={"status": report.status, "rows_read": report.rows_read,
                "inserted": report.inserted, "updated": report.updated,
                "rejected": report.rejected, "profile": report.profile,
                "fields_changed": len(history or {})},
        old_values=history or None,
    )


def _store_rejection(
    engine: Engine, report: ImportReport, options: ImportOptions, sha: str, fmt: str,
    quarantine: list[QuarantinedRow],
) -> None:
    with engine.connect() as conn:
        with conn.begin():
            conn.execute(insert(table_of(m.ImportBatch)),
                         [_batch_row(report, options, sha, fmt)])
            _finish(conn, report, quarantine, _keys(options))
            _audit(conn, report, options)
        if options.audit is not None:
            options.audit.after_commit(conn)


@contextmanager
def _bulk_load(conn: Connection) -> Iterator[None]:
    """On SQLite, no per-row foreign-key checks while the import's transaction runs.

    Every reference the writer stores is to a row it has just written or read in the same
    transaction (the batch, the organisation, the case, the person), so the checks cannot fail;
    skipping them cuts the cost of each stored row by about a quarter. The pragma only takes
    effect outside a transaction, hence before ``begin``; it is switched back on before the
    connection returns to the pool. ``tests/test_import.py`` runs ``PRAGMA
    foreign_key_check`` after imports to hold the writer to this.
    """
    raw = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
    if raw is None:
        yield
        return
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _quiet(stage: SqliteStage | None) -> None:
    """Before a rollback: let a background copy end (its own error, if any, is moot)."""
    if stage is not None:
        with suppress(Exception):
            stage.drain()


def import_file(
    engine: Engine, path: Path, options: ImportOptions, *, progress: Progress | None = None,
    display_name: str | None = None,
) -> ImportReport:
    """Import one file; never raises for bad data, which is reported (see module docstring)."""
    name = display_name or path.name
    report = ImportReport(batch_id=new_id(), status="rejected", filename=name,
                          profile=options.profile)
    sha = file_sha256(path)
    fmt = "unknown"
    quarantine: list[QuarantinedRow] = []
    try:
        fmt = detect_format(path, options.file_format)
        profile = load_profile(options.profile)
        report.profile = profile.name
        table, stream = open_table(path, file_format=fmt, encoding=options.encoding,
                                   sheet=options.sheet)
    except InvalidInput as exc:
        report.message = exc.message
        report.errors = exc.details or [FieldError(reason=exc.message)]
        _store_rejection(engine, report, options, sha, fmt, [])
        return report
    try:
        with stream, engine.connect() as conn, _bulk_load(conn), \
                staged(conn) as stage:
            tx = conn.begin()
            try:
                validator = RowValidator(profile, table.header, file_label=name)
                report.unmapped_columns = validator.unmapped
                conn.execute(insert(table_of(m.ImportBatch)),
                             [_batch_row(report, options, sha, fmt)])
                keys = _keys(options)
                writer = BatchWriter(conn, batch_id=report.batch_id, user=options.user,
                                     now=utcnow(), default_organisation=options.organisation,
                                     cipher=FieldCipher(keys, conn),
                                     keep_history=options.audit is not None, stage=stage)
                _run_rows(table.header, table.rows, validator, writer, options, report,
                          quarantine, progress)
                writer.drain()
            except InvalidInput as exc:
                _quiet(stage)
                tx.rollback()
                report.status = "rejected"
                report.message = exc.message
                report.errors = exc.details or [FieldError(reason=exc.message)]
                quarantine = []
            except BaseException:
                _quiet(stage)
                tx.rollback()
                raise
            else:
                if quarantine and not options.skip_bad_rows:
                    tx.rollback()
                    report.status = "rejected"
                    report.inserted = report.updated = 0
                    report.message = (
                        f"{report.rejected} of {report.rows_read} rows have errors; nothing was "
                        "imported (fix them, or import again skipping bad rows)"
                    )
                else:
                    report.status = "partial" if quarantine else "committed"
                    if quarantine:
                        report.message = (
                            f"{report.rejected} bad rows quarantined; "
                            f"{report.inserted + report.updated} rows imported"
                        )
                    _finish(conn, report, quarantine, _keys(options))
                    _audit(conn, report, options, writer.history)
                    tx.commit()
                    if options.audit is not None:
                        options.audit.after_commit(conn)
                    return report
    except InvalidInput as exc:
        report.status = "rejected"
        report.message = exc.message
        report.errors = exc.details or [FieldError(reason=exc.message)]
        quarantine = []
    _store_rejection(engine, report, options, sha, fmt, quarantine)
    return report


def _run_rows(
    header: list[str], rows: Any, validator: RowValidator, writer: BatchWriter,
    options: ImportOptions, report: ImportReport, quarantine: list[QuarantinedRow],
    progress: Progress | None,
) -> None:
    chunk: list[tuple[int, Record]] = []
    seen: dict[tuple[str | None, str], int] = {}
    default_org = options.organisation
    writing = True
    for number, cells in rows:
        report.rows_read += 1
        if isinstance(cells, RowShapeError):
            err = FieldError(cells.reason, None, number)
            quarantine.append(QuarantinedRow(number, cells.raw, [err]))
            report.errors.append(err)
            report.rejected += 1
            writing = writing and options.skip_bad_rows
            continue
        record, errors = validator.check(number, cells)
        if not errors:
            key = (record.get("organisation") or default_org, record["record_id"])
            first = seen.get(key)
            if first is not None:
                errors = [FieldError(f"duplicate record id, first seen at row {first}",
                                     validator.column_for("record_id"), number,
                                     record["record_id"])]
            else:
                seen[key] = number
            only = options.only_organisation
            if only is not None and key[0] is not None and key[0] not in only:
                errors.append(FieldError(
                    f"this account may only import records of {only[0]!r}",
                    validator.column_for("organisation"), number, str(key[0])))
            if key[0] is None:
                errors.append(FieldError(
                    "no organisation: the row has none and no default organisation was given",
                    validator.column_for("organisation"), number))
        if errors:
            quarantine.append(QuarantinedRow(number, dict(zip(header, cells, strict=True)),
                                             errors))
            report.errors.extend(errors)
            report.rejected += 1
            writing = writing and options.skip_bad_rows
            continue
        if writing:
            chunk.append((number, record))
            if len(chunk) >= options.chunk_rows:
                ins, upd = writer.write(chunk)
                report.inserted += ins
                report.updated += upd
                chunk = []
        if progress is not None and report.rows_read % 10000 == 0:
            progress(report.rows_read)
    if writing and chunk:
        ins, upd = writer.write(chunk)
        report.inserted += ins
        report.updated += upd
    if progress is not None:
        progress(report.rows_read)


def quarantine_rows(
    engine: Engine, batch_id: str, *, keys: KeyProvider | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """The rejected rows of a batch as ``(columns, rows)``, ready to fix and re-submit.

    Each row carries its original cells plus ``_row`` (its number in the file) and ``_errors``
    (the reasons, ``column: reason`` joined by ``; ``); the importer ignores these two columns.
    """
    q = table_of(m.QuarantineRow)
    batch = table_of(m.ImportBatch)
    with engine.connect() as conn:
        if conn.execute(select(batch.c.id).where(batch.c.id == batch_id)).first() is None:
            raise NotFound(f"no import batch {batch_id!r}")
        found = conn.execute(
            select(q.c.id, q.c.row_number, q.c.raw, q.c.errors)
            .where(q.c.batch_id == batch_id)
            .order_by(q.c.row_number)
        ).all()
    cipher = FieldCipher(keys or FileKeyProvider.open_or_create(load_settings().key_file),
                         engine)
    columns: list[str] = []
    out: list[dict[str, Any]] = []
    for qid, number, sealed_raw, sealed_errors in found:
        raw = cipher.decrypt(sealed_raw, organisation_id=None, record_id=qid,
                             field="quarantine_row.raw")
        errors = cipher.decrypt(sealed_errors, organisation_id=None, record_id=qid,
                                field="quarantine_row.errors")
        cells = json.loads(raw)
        for key in cells:
            if key not in columns:
                columns.append(key)
        reasons = "; ".join(
            f"{e.get('field', 'row')}: {e['reason']}" for e in json.loads(errors)
        )
        out.append({**cells, "_row": number, "_errors": reasons})
    return [*columns, "_row", "_errors"], out
