"""Tables of the identify capability: screenings and hotline calls.

Personal content (the subject's name or label, birth date, the answers with their evidence
notes, the explained result, the caller's account and contact) is stored encrypted with the
organisation's data key (:class:`~maillon.store.crypto.FieldCipher`); the recommendation code,
framework id and version, screener and date stay in clear for lists and statistics.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from maillon.core.timeutil import utcnow
from maillon.store.base import ID, Base, IdMixin, Provenance

NO_ROWID = {"sqlite_with_rowid": False}

ENCRYPTED_FIELDS = {
    "screening": ("subject_label", "subject_birth_date", "answers", "result"),
    "hotline_call": ("summary", "contact"),
}


class Screening(IdMixin, Provenance, Base):
    """One indicator screening of one person by one screener (``created_by``)."""

    __tablename__ = "screening"
    __table_args__ = (NO_ROWID,)
    framework_id: Mapped[str] = mapped_column(String(60))
    framework_version: Mapped[str] = mapped_column(String(40))
    locale: Mapped[str] = mapped_column(String(5), default="en")
    person_id: Mapped[str | None] = mapped_column(ID, ForeignKey("person.id", ondelete="SET NULL"))
    hotline_call_id: Mapped[str | None] = mapped_column(ID)
    subject_label: Mapped[str | None] = mapped_column(Text)
    subject_birth_date: Mapped[str | None] = mapped_column(Text)
    subject_gender: Mapped[str | None] = mapped_column(String(20))
    subject_nationality: Mapped[str | None] = mapped_column(String(2))
    subject_language: Mapped[str | None] = mapped_column(String(20))
    is_child: Mapped[bool] = mapped_column(Boolean, default=False)
    child_act: Mapped[bool] = mapped_column(Boolean, default=False)
    answers: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    recommendation: Mapped[str | None] = mapped_column(String(40))
    place: Mapped[str | None] = mapped_column(String(200))
    screened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HotlineCall(IdMixin, Provenance, Base):
    """A minimal record of one hotline call, to be followed by a screening or a referral."""

    __tablename__ = "hotline_call"
    __table_args__ = (NO_ROWID,)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    channel: Mapped[str] = mapped_column(String(20), default="phone")
    caller_type: Mapped[str] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    exploitation_type: Mapped[str | None] = mapped_column(String(60))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
