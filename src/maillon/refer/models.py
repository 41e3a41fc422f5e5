"""Tables of the refer capability.

* ``nrm_case`` / ``nrm_transition``: one national-referral workflow instance and its history;
* ``service_provider`` / ``service_referral``: the services directory and referrals to it;
* ``partner`` / ``transnational_package``: other Maillon instances and the packages exchanged.

Personal content (reasons, the shared data set of a referral, an inbound package's data) is
encrypted with :class:`~maillon.store.crypto.FieldCipher`; a referral's shared data set is
encrypted with the *receiving* organisation's data key.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from maillon.core.timeutil import utcnow
from maillon.store.base import ID, Base, IdMixin, Provenance

NO_ROWID = {"sqlite_with_rowid": False}


class NrmCase(IdMixin, Provenance, Base):
    """A person's way through the national referral workflow."""

    __tablename__ = "nrm_case"
    __table_args__ = (NO_ROWID,)
    workflow_id: Mapped[str] = mapped_column(String(60))
    workflow_version: Mapped[str] = mapped_column(String(40))
    screening_id: Mapped[str | None] = mapped_column(ID, ForeignKey("screening.id"))
    label: Mapped[str | None] = mapped_column(Text)
    is_child: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(40))
    state_since: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date)
    not_before: Mapped[date | None] = mapped_column(Date)
    owner: Mapped[str | None] = mapped_column(String(100))
    last_reminder_on: Mapped[date | None] = mapped_column(Date)


class NrmTransition(IdMixin, Base):
    """One step of a workflow instance (also written to the audit log)."""

    __tablename__ = "nrm_transition"
    __table_args__ = (NO_ROWID,)
    nrm_case_id: Mapped[str] = mapped_column(
        ID, ForeignKey("nrm_case.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    transition: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str] = mapped_column(String(40))
    on_date: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceProvider(IdMixin, Base):
    """A service in the directory; ``organisation_id`` is its account in this instance."""

    __tablename__ = "service_provider"
    __table_args__ = (NO_ROWID,)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    service_type: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[str | None] = mapped_column(ID, ForeignKey("organisation.id"))
    country: Mapped[str | None] = mapped_column(String(2))
    area: Mapped[str | None] = mapped_column(String(200))
    capacity: Mapped[int | None] = mapped_column(Integer)
    accepts_children: Mapped[bool] = mapped_column(Boolean, default=False)
    contact: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceReferral(IdMixin, Provenance, Base):
    """A referral of a screened person to a service, with consent and a need-to-know data set."""

    __tablename__ = "service_referral"
    __table_args__ = (NO_ROWID,)
    screening_id: Mapped[str | None] = mapped_column(ID, ForeignKey("screening.id"))
    provider_id: Mapped[str] = mapped_column(ID, ForeignKey("service_provider.id"), index=True)
    recipient_organisation_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("organisation.id"), index=True)
    consent: Mapped[str] = mapped_column(String(20))
    override_reason: Mapped[str | None] = mapped_column(Text)
    shared_fields: Mapped[str] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="sent")
    status_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Partner(IdMixin, Base):
    """Another Maillon instance: its public keys, exchanged out of band."""

    __tablename__ = "partner"
    __table_args__ = (NO_ROWID,)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    signing_key: Mapped[str] = mapped_column(String(64), unique=True)
    encryption_key: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")


class TransnationalPackage(IdMixin, Base):
    """A package sent to or received from a partner: a referral, its receipt, its feedback."""

    __tablename__ = "transnational_package"
    __table_args__ = (NO_ROWID,)
    package_id: Mapped[str] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(20))
    partner_id: Mapped[str] = mapped_column(ID, ForeignKey("partner.id"))
    referral_id: Mapped[str | None] = mapped_column(ID, ForeignKey("service_referral.id"))
    about_package_id: Mapped[str | None] = mapped_column(String(64))
    fields: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str | None] = mapped_column(String(20))
    status_note: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
