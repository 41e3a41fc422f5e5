"""Declarative base, naming conventions and the provenance columns every record carries."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import DateTime, ForeignKey, MetaData, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from maillon.core.ids import new_id
from maillon.core.timeutil import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(32)
"""Column type of every primary key: see :mod:`maillon.core.ids`."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class IdMixin:
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)


class Provenance:
    """Who the record came from and who touched it.

    ``organisation_id`` is the organisation that recorded it (and owns it for access control);
    ``source_record_id`` is that organisation's own identifier (e.g. ``POL-000123``), unique per
    organisation, which is what makes a re-import update instead of duplicate. These columns
    carry no index of their own: every index costs a B-tree insert per row on bulk import, and
    look-ups by organisation go through the (organisation_id, source_record_id) unique keys.
    """

    @declared_attr
    def organisation_id(cls) -> Mapped[str]:  # noqa: N805
        return mapped_column(ID, ForeignKey("organisation.id"), nullable=False)

    source_record_id: Mapped[str | None] = mapped_column(String(200))

    @declared_attr
    def import_batch_id(cls) -> Mapped[str | None]:  # noqa: N805
        return mapped_column(ID, ForeignKey("import_batch.id"))

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    updated_by: Mapped[str] = mapped_column(String(100), default="system")


def table_of(model: type[Base]) -> Table:
    """The Core :class:`~sqlalchemy.Table` of a mapped class, typed for bulk statements."""
    return cast(Table, model.__table__)
