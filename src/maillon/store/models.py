"""The case data model, after the Human Trafficking Case Data Standard (HTCDS) v2.0.

Tables follow the standard's sections: organisation (``org_``), person (``prs_``), victim context
(``vic_``), perpetrator context (``per_``, plus the demographics HTCDS users asked for), case
(``cas_``), historic trafficking events (``hte_``), referral, support plan (``spl_``) and consent
(``con_``). Multi-select picklists (methods of control, forms of exploitation, labour sectors,
citizenships, perpetrator roles...) live in one narrow table, :class:`PersonCode`, keyed by the
vocabulary name, so a new list needs no migration and statistics read one indexed table.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from maillon.core.timeutil import utcnow
from maillon.store.base import ID, Base, IdMixin, Provenance

NO_ROWID = {"sqlite_with_rowid": False}
"""On SQLite, tables keyed by a text id are stored as ``WITHOUT ROWID`` B-trees clustered on that
id: one B-tree fewer to update per inserted row than a rowid table plus a unique index on the
id (measured by ``bench/import_bench.py``). PostgreSQL ignores the option."""


class Organisation(IdMixin, Base):
    """A contributing organisation (police unit, NGO, inspectorate...). ``code`` is a short slug."""

    __tablename__ = "organisation"
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    org_type: Mapped[str | None] = mapped_column(String(60))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportBatch(IdMixin, Base):
    """One import of one file: what was read, with which profile, and how it ended.

    ``status`` is ``committed`` (all rows), ``partial`` (good rows committed, bad rows
    quarantined because the user chose to skip them) or ``rejected`` (nothing committed).
    """

    __tablename__ = "import_batch"
    organisation_id: Mapped[str | None] = mapped_column(ID, ForeignKey("organisation.id"))
    filename: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_format: Mapped[str] = mapped_column(String(20))
    profile: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100), default="system")


class QuarantineRow(IdMixin, Base):
    """A rejected input row, kept verbatim with its errors so the user can fix and re-submit it.

    ``raw`` is the row as JSON (source column -> text) and ``errors`` a JSON list of
    ``{"row", "field", "value", "reason"}``, both ENCRYPTED (a bad row may hold names in any
    column) with the installation-wide data key, bound to this row's id.
    """

    __tablename__ = "quarantine_row"
    batch_id: Mapped[str] = mapped_column(ID, ForeignKey("import_batch.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    raw: Mapped[str] = mapped_column(Text)
    errors: Mapped[str] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class Case(IdMixin, Provenance, Base):
    """A trafficking case as one organisation records it (HTCDS ``cas_``)."""

    __tablename__ = "case_file"
    __table_args__ = (
        UniqueConstraint("organisation_id", "source_record_id"),
        # the case search matches a source case id in every organisation the caller may see
        Index("ix_case_file_source_record_id", "source_record_id"),
        NO_ROWID,
    )
    status: Mapped[str | None] = mapped_column(String(40))
    registration_date: Mapped[date | None] = mapped_column(Date, index=True)
    closure_reason: Mapped[str | None] = mapped_column(Text)
    case_owner: Mapped[str | None] = mapped_column(Text)


class Person(IdMixin, Provenance, Base):
    """A person in a case: victim, perpetrator, witness (HTCDS ``prs_``).

    Names, birth date, identity number, email and phone are stored ENCRYPTED (tokens of
    :class:`maillon.store.crypto.FieldCipher`, bound to this row's id and the column); the
    ``*_bidx`` columns are blind indexes (keyed HMAC) for equality search. ``birth_date``
    encrypts the ISO text of the first day of what is known and ``birth_date_precision`` says how
    much is known (``year``, ``month`` or ``day``); ``birth_year`` stays in clear for statistics.
    ``age_band`` keeps an age band when the source gives no birth date (CTDC ``ageBroad``,
    e.g. ``18--20``).
    """

    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("organisation_id", "source_record_id"),
        # the case search: a record id, a given or a family name, each by its own index
        Index("ix_person_source_record_id", "source_record_id"),
        NO_ROWID,
    )
    case_id: Mapped[str | None] = mapped_column(ID, ForeignKey("case_file.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    given_name: Mapped[str | None] = mapped_column(Text)
    middle_name: Mapped[str | None] = mapped_column(Text)
    family_name: Mapped[str | None] = mapped_column(Text)
    birth_date: Mapped[str | None] = mapped_column(Text)
    birth_date_precision: Mapped[str | None] = mapped_column(String(5))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    given_name_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    family_name_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    identity_number_bidx: Mapped[str | None] = mapped_column(String(32))
    age_band: Mapped[str | None] = mapped_column(String(20))
    gender: Mapped[str | None] = mapped_column(String(40))
    identity_number: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    marital_status: Mapped[str | None] = mapped_column(String(40))
    primary_language: Mapped[str | None] = mapped_column(String(10))
    deceased: Mapped[bool | None] = mapped_column(Boolean)


class PersonCode(Base):
    """One value of a multi-select picklist for a person.

    ``vocabulary`` names the list (``methods_of_control``, ``exploitation_type``,
    ``labour_industry``, ``sexual_exploitation_type``, ``recruitment_method``,
    ``recruitment_website``, ``perpetrator_role``, ``citizenship``); ``code`` is its code.
    """

    __tablename__ = "person_code"
    __table_args__ = (
        Index("ix_person_code_vocab_code", "vocabulary", "code"),
        NO_ROWID,
    )
    person_id: Mapped[str] = mapped_column(
        ID, ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    vocabulary: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(80), primary_key=True)


class VictimContext(Base):
    """Victim-specific facts (HTCDS ``vic_``); one row per victim person."""

    __tablename__ = "victim_context"
    person_id: Mapped[str] = mapped_column(
        ID, ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    trafficking_status: Mapped[str | None] = mapped_column(String(60))
    status_decided_by: Mapped[str | None] = mapped_column(String(60))
    relationship_to_trafficker: Mapped[str | None] = mapped_column(String(40))
    age_when_trafficked: Mapped[int | None] = mapped_column(Integer)


class PerpetratorContext(Base):
    """Perpetrator-specific facts (HTCDS ``per_`` plus entity type and age at offence).

    Sex and nationality are the person's ``gender`` and ``citizenship`` codes.
    """

    __tablename__ = "perpetrator_context"
    person_id: Mapped[str] = mapped_column(
        ID, ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    entity_type: Mapped[str | None] = mapped_column(String(20))
    age_at_offence: Mapped[int | None] = mapped_column(Integer)
    role_details: Mapped[str | None] = mapped_column(Text)


class TraffickingEvent(IdMixin, Provenance, Base):
    """Where and when a stage of the trafficking happened (HTCDS ``hte_``).

    ``event_type`` is Recruitment, Transit or Exploitation; a single date is stored as
    ``date_from == date_to``.
    """

    __tablename__ = "trafficking_event"
    __table_args__ = (NO_ROWID,)
    case_id: Mapped[str] = mapped_column(
        ID, ForeignKey("case_file.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    admin_area: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(Text)
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)


class Referral(IdMixin, Provenance, Base):
    """An incoming or outgoing referral of a case (HTCDS referral block of ``cas_``)."""

    __tablename__ = "referral"
    __table_args__ = (NO_ROWID,)
    case_id: Mapped[str] = mapped_column(
        ID, ForeignKey("case_file.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(10))
    other_organisation: Mapped[str | None] = mapped_column(String(300))
    referral_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(60))
    details: Mapped[str | None] = mapped_column(Text)
    case_worker: Mapped[str | None] = mapped_column(Text)


class SupportPlan(IdMixin, Provenance, Base):
    """A support plan for a person (HTCDS ``spl_``)."""

    __tablename__ = "support_plan"
    __table_args__ = (NO_ROWID,)
    case_id: Mapped[str] = mapped_column(
        ID, ForeignKey("case_file.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    plan_type: Mapped[str] = mapped_column(String(60))
    objectives: Mapped[str | None] = mapped_column(Text)
    action_plan: Mapped[str | None] = mapped_column(Text)
    planned_end_date: Mapped[date | None] = mapped_column(Date)
    actual_end_date: Mapped[date | None] = mapped_column(Date)


class Consent(IdMixin, Provenance, Base):
    """A person's consent decision (HTCDS ``con_``) for one scope, with when it was given.

    ``scope`` is a ``consent_scope`` code; ``given`` False records a refusal or a withdrawal.
    """

    __tablename__ = "consent"
    __table_args__ = (NO_ROWID,)
    person_id: Mapped[str] = mapped_column(
        ID, ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(40))
    given: Mapped[bool] = mapped_column(Boolean)
    decided_on: Mapped[date | None] = mapped_column(Date)
