"""Tables of the screening capability: list versions, their entities, suppliers, alerts.

* ``screen_list``: one row per list id with the active version (a failed load never changes it).
* ``screen_list_version``: every load (version label, file hash, counts, added/changed/removed).
* ``screen_entity``: the entities of a version in the common form (JSON) with a fingerprint.
* ``screen_supplier``: registered suppliers / parties, their status and fingerprint.
* ``screen_alert``: a potential match of a supplier against a list entry and its review.
  ``entity_fingerprint`` and ``supplier_fingerprint`` are those reviewed: a cleared alert
  silences the pair only while both fingerprints stay the same.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from maillon.core.timeutil import utcnow
from maillon.store.base import ID, Base, IdMixin

NO_ROWID = {"sqlite_with_rowid": False}


class ScreenList(Base):
    __tablename__ = "screen_list"
    __table_args__ = NO_ROWID
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(40))
    active_version_id: Mapped[str | None] = mapped_column(ID)
    threshold: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ScreenListVersion(IdMixin, Base):
    __tablename__ = "screen_list_version"
    __table_args__ = NO_ROWID
    list_id: Mapped[str] = mapped_column(String(100), ForeignKey("screen_list.id"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    source_files: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(100))
    entities: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)


class ScreenEntity(Base):
    __tablename__ = "screen_entity"
    __table_args__ = NO_ROWID
    version_id: Mapped[str] = mapped_column(ID, ForeignKey("screen_list_version.id"),
                                            primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    schema: Mapped[str] = mapped_column(String(40))
    caption: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)


class Supplier(IdMixin, Base):
    """A registered supplier or party; ``fingerprint`` is a keyed hash (blind index) of what
    is screened. ``status``: ``cleared`` (no open potential match),
    ``pending_review`` (registration blocked until review), ``blocked`` (a match confirmed)."""

    __tablename__ = "screen_supplier"
    __table_args__ = (UniqueConstraint("organisation_id", "reference"), NO_ROWID)
    organisation_id: Mapped[str] = mapped_column(ID, ForeignKey("organisation.id"))
    reference: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(Text)
    """Encrypted (FieldCipher token), like ``birth_date`` and ``identifiers``: a supplier may
    be a person (sole trader)."""
    schema: Mapped[str] = mapped_column(String(40), default="Organization")
    country: Mapped[str | None] = mapped_column(String(2))
    birth_date: Mapped[str | None] = mapped_column(Text)
    identifiers: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="cleared")
    fingerprint: Mapped[str] = mapped_column(String(64))
    screened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ScreenAlert(IdMixin, Base):
    """A potential match awaiting or after review: ``status`` open | confirmed | cleared."""

    __tablename__ = "screen_alert"
    __table_args__ = (Index("ix_screen_alert_supplier", "supplier_id", "list_id", "entity_id"),
                      NO_ROWID)
    supplier_id: Mapped[str] = mapped_column(ID, ForeignKey("screen_supplier.id"))
    list_id: Mapped[str] = mapped_column(String(100))
    entity_id: Mapped[str] = mapped_column(String(200))
    entity_name: Mapped[str] = mapped_column(String(500))
    score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[str] = mapped_column(Text)
    entity_fingerprint: Mapped[str] = mapped_column(String(64))
    supplier_fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="open")
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
