"""The wrapped data keys of envelope encryption (see :mod:`maillon.store.crypto`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from maillon.core.timeutil import utcnow
from maillon.store.base import ID, Base, IdMixin


class DataKey(IdMixin, Base):
    """One data-encryption key (DEK) of one organisation, wrapped under a KEK.

    ``wrapped`` is ``nonce (12 bytes) || AES-256-GCM(KEK, DEK)`` with associated data naming the
    organisation and version, so a wrapped key copied to another row does not unwrap. The KEK
    itself is never stored here: ``kek_version`` only says which one the key provider must
    supply. ``organisation_id`` NULL is the global key (records with no owning organisation).
    The newest ``version`` of an organisation encrypts; older ones only decrypt, and
    ``retired_at`` is set when a newer version replaced them (records still to re-encrypt).
    Deleting every row of an organisation makes its encrypted fields unreadable for good.
    """

    __tablename__ = "data_key"
    __table_args__ = (
        UniqueConstraint("organisation_id", "version"),
        # NULLs are distinct in a unique constraint, so the global key needs its own index.
        Index(
            "uq_data_key_global_version",
            "version",
            unique=True,
            sqlite_where=text("organisation_id IS NULL"),
            postgresql_where=text("organisation_id IS NULL"),
        ),
    )
    organisation_id: Mapped[str | None] = mapped_column(ID, ForeignKey("organisation.id"))
    version: Mapped[int] = mapped_column(Integer)
    kek_version: Mapped[int] = mapped_column(Integer)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
