"""Tables of the statistics capability: imported GLOTIP figures and the register of releases.

``stats_glotip_figure`` holds published aggregate figures (UNODC GLOTIP), one row per figure, with
the source's own small-cell marker kept: ``value`` is NULL and ``below_threshold`` true where the
file says ``<5``. ``stats_release`` records every table Maillon produced for publication or
export: which table, filters, which disclosure-control method with its parameters, and a hash of
the output, so any published figure can be traced to how it was protected.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from maillon.core.timeutil import utcnow
from maillon.store.base import Base, IdMixin


class GlotipFigure(IdMixin, Base):
    """One figure of a GLOTIP-format file (columns as in ``data_glotip.xlsx``)."""

    __tablename__ = "stats_glotip_figure"
    __table_args__ = (Index("ix_stats_glotip_figure_ind_year", "indicator", "year"),)
    dataset: Mapped[str] = mapped_column(String(200))
    row_number: Mapped[int] = mapped_column(Integer)
    iso3: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(100))
    subregion: Mapped[str | None] = mapped_column(String(100))
    indicator: Mapped[str] = mapped_column(String(100))
    dimension: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(300))
    sex: Mapped[str] = mapped_column(String(20))
    age: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(40))
    value: Mapped[int | None] = mapped_column(Integer)
    below_threshold: Mapped[bool] = mapped_column(Boolean, default=False)
    raw_value: Mapped[str] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(100))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Release(IdMixin, Base):
    """One produced table (export or publication) and how it was protected."""

    __tablename__ = "stats_release"
    table_name: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(100))
    parameters: Mapped[str] = mapped_column(Text)
    filters: Mapped[str] = mapped_column(Text)
    output_format: Mapped[str] = mapped_column(String(20))
    cells: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
