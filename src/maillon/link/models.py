"""Tables of the link capability: stable person clusters, their history, runs and reviews.

* ``link_cluster``: one row per cluster id ever issued; ``retired_at`` is set when the cluster
  was merged into an older one or lost all its persons. Ids are never reused.
* ``person_cluster``: the current cluster of every linked person (one row per person).
* ``link_cluster_event``: merge and split history (``kind`` ``merge``: ``other_cluster_id``
  was absorbed by ``cluster_id``; ``split``: ``other_cluster_id`` was created from part of
  ``cluster_id``), with the run that caused it.
* ``link_run``: one row per ``maillon link run`` (counts, threshold, who ran it; ``mode``
  ``full`` or ``incremental``, ``scored`` the persons whose pairs were scored, ``model`` the
  trained Splink model as JSON (parameters and SQL only, no values), which incremental runs
  reuse).
* ``link_review``: uncertain pairs for reviewers, with the waterfall of match weights as JSON
  (comparison labels and numbers only, never names) and the decision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from maillon.core.timeutil import utcnow
from maillon.store.base import ID, Base, IdMixin


class LinkRun(IdMixin, Base):
    __tablename__ = "link_run"
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    threshold: Mapped[float] = mapped_column(Float)
    persons: Mapped[int] = mapped_column(Integer, default=0)
    pairs: Mapped[int] = mapped_column(Integer, default=0)
    clusters: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    split: Mapped[int] = mapped_column(Integer, default=0)
    labels_used: Mapped[int] = mapped_column(Integer, default=0)
    mode: Mapped[str | None] = mapped_column(String(12))
    scored: Mapped[int | None] = mapped_column(Integer)
    model: Mapped[str | None] = mapped_column(Text)


class LinkCluster(Base):
    __tablename__ = "link_cluster"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_run_id: Mapped[str | None] = mapped_column(ID, ForeignKey("link_run.id"))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    size: Mapped[int] = mapped_column(Integer, default=0)


class PersonCluster(Base):
    __tablename__ = "person_cluster"
    person_id: Mapped[str] = mapped_column(
        ID, ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    cluster_id: Mapped[str] = mapped_column(ID, ForeignKey("link_cluster.id"), index=True)
    match_probability: Mapped[float | None] = mapped_column(Float)
    run_id: Mapped[str] = mapped_column(ID, ForeignKey("link_run.id"))


class LinkClusterEvent(IdMixin, Base):
    __tablename__ = "link_cluster_event"
    run_id: Mapped[str] = mapped_column(ID, ForeignKey("link_run.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(10))
    cluster_id: Mapped[str] = mapped_column(ID, ForeignKey("link_cluster.id"), index=True)
    other_cluster_id: Mapped[str] = mapped_column(ID, ForeignKey("link_cluster.id"))
    persons: Mapped[int] = mapped_column(Integer, default=0)


class LinkReview(IdMixin, Base):
    __tablename__ = "link_review"
    __table_args__ = (UniqueConstraint("person_id_l", "person_id_r"),)
    person_id_l: Mapped[str] = mapped_column(ID, ForeignKey("person.id", ondelete="CASCADE"))
    person_id_r: Mapped[str] = mapped_column(ID, ForeignKey("person.id", ondelete="CASCADE"))
    match_probability: Mapped[float] = mapped_column(Float)
    match_weight: Mapped[float] = mapped_column(Float)
    waterfall: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[str] = mapped_column(ID, ForeignKey("link_run.id"))
