"""Tables of the alert queue in the operational store (transactions stay in Parquet)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from maillon.core.timeutil import utcnow
from maillon.store.base import ID, Base, IdMixin

STATUSES = ("new", "assigned", "investigating", "escalated", "reported", "closed")
"""Statuses of an alert; ``reported`` = an STR was filed, ``closed`` = no further action."""


class MoneyAlert(IdMixin, Base):
    """One alert of a scan, owned by the organisation that loaded it."""

    __tablename__ = "money_alert"
    __table_args__ = (UniqueConstraint("organisation_id", "alert_ref",
                                       name="uq_money_alert_org_ref"),)
    organisation_id: Mapped[str] = mapped_column(ID, ForeignKey("organisation.id"))
    alert_ref: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(200), default="")
    account_id: Mapped[str] = mapped_column(String(200))
    accounts: Mapped[list[str]] = mapped_column(JSON, default=list)
    score: Mapped[float] = mapped_column(Float)
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="new")
    assigned_to: Mapped[str | None] = mapped_column(String(100))
    status_reason: Mapped[str | None] = mapped_column(Text)
    """Why it was escalated or closed: a FieldCipher token (``money_alert.status_reason``)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="system")


class MoneyAlertNote(IdMixin, Base):
    """An analyst's note on an alert."""

    __tablename__ = "money_alert_note"
    alert_id: Mapped[str] = mapped_column(ID, ForeignKey("money_alert.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    """A FieldCipher token (field ``money_alert_note.body``, record = the note's id)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
