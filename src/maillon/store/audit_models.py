"""Tables of the tamper-evident audit log (see :mod:`maillon.store.audit` and
``docs/security-audit.md``).

``audit_log`` holds one row per recorded event, chained by HMAC-SHA256: each row's
``entry_hash`` covers the previous row's hash and every column of the row (and the row's
``audit_change`` rows), so an edit, a deletion or a re-ordering breaks the chain at that row.
``seq`` is assigned by the writer as the previous ``seq`` + 1 (never by the database), so a gap
means a deleted row.

No personal *values* are ever stored in ``audit_log``: ``fields`` holds field names only and
``detail`` must be free of personal data. The old value of a changed personal field goes to
``audit_change.old_value``, already encrypted by the caller (a token, not clear text).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from maillon.store.base import ID, Base, IdMixin
from maillon.store.models import NO_ROWID

SEQ = BigInteger().with_variant(Integer(), "sqlite")
"""``BIGINT`` on PostgreSQL; on SQLite ``INTEGER PRIMARY KEY``, the rowid itself (one B-tree)."""


class AuditEntry(Base):
    """One audited event: who (``actor``), when (``at``), what (``action`` on ``resource``
    ``resource_id``, touching ``fields``), from where (``source``: client IP, or ``cli``)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    actor_organisation_id: Mapped[str | None] = mapped_column(ID)
    action: Mapped[str] = mapped_column(String(40))
    resource: Mapped[str] = mapped_column(String(60))
    resource_id: Mapped[str | None] = mapped_column(String(200))
    fields: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_log_actor", "actor"),
        Index("ix_audit_log_resource", "resource", "resource_id"),
    )


class AuditChange(IdMixin, Base):
    """The old value of one changed personal field of one audited change, as an encrypted token
    produced by the caller. Covered by the ``entry_hash`` of its ``audit_log`` row."""

    __tablename__ = "audit_change"
    seq: Mapped[int] = mapped_column(SEQ, ForeignKey("audit_log.seq"))
    field: Mapped[str] = mapped_column(String(100))
    old_value: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("seq", "field"), NO_ROWID)
