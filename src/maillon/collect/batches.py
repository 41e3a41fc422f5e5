"""Import batches: the history of imports and what each one did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from maillon.core.errors import NotFound
from maillon.store import models as m


@dataclass
class BatchView:
    id: str
    filename: str
    profile: str
    file_format: str
    status: str
    rows_read: int
    rows_inserted: int
    rows_updated: int
    rows_rejected: int
    message: str | None
    started_at: datetime
    finished_at: datetime | None
    created_by: str
    quarantined: int


def _view(b: m.ImportBatch, quarantined: int) -> BatchView:
    return BatchView(
        id=b.id, filename=b.filename, profile=b.profile, file_format=b.file_format,
        status=b.status, rows_read=b.rows_read, rows_inserted=b.rows_inserted,
        rows_updated=b.rows_updated, rows_rejected=b.rows_rejected, message=b.message,
        started_at=b.started_at, finished_at=b.finished_at, created_by=b.created_by,
        quarantined=quarantined,
    )


def list_batches(
    session: Session, *, limit: int = 50, organisation_id: str | None = None
) -> list[BatchView]:
    """The most recent imports first; only those of ``organisation_id`` when given."""
    q = m.QuarantineRow
    counts = (
        select(q.batch_id, func.count().label("n")).group_by(q.batch_id).subquery()
    )
    rows = session.execute(
        select(m.ImportBatch, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.batch_id == m.ImportBatch.id)
        .where(m.ImportBatch.organisation_id == organisation_id
               if organisation_id is not None else true())
        .order_by(m.ImportBatch.started_at.desc(), m.ImportBatch.id.desc())
        .limit(limit)
    ).all()
    return [_view(b, int(n)) for b, n in rows]


def get_batch(
    session: Session, batch_id: str, *, organisation_id: str | None = None
) -> BatchView:
    """One batch; another organisation's batch is :class:`NotFound` when ``organisation_id``."""
    batch = session.get(m.ImportBatch, batch_id)
    if batch is None or (organisation_id is not None and batch.organisation_id != organisation_id):
        raise NotFound(f"no import batch {batch_id!r}")
    n = session.execute(
        select(func.count()).select_from(m.QuarantineRow)
        .where(m.QuarantineRow.batch_id == batch_id)
    ).scalar_one()
    return _view(batch, int(n))
