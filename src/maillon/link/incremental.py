"""Incremental ``maillon link run``: score only the records that are new or changed.

A full run trains the model, scores every blocked pair and saves the trained model in its
``link_run`` row. The next run, when few records are new or changed (at most
:data:`MAX_FRESH_SHARE` of them, or always with ``mode="incremental"``), reuses that model and
scores only the blocked pairs that involve a **fresh** person:

* a person without a cluster yet (new since the last run);
* a person whose row was updated since the last run started (``person.updated_at``: a
  re-import that changed names, birth date, identity number...), or one of whose trafficking
  events was (``trafficking_event.updated_at``);
* both persons of a pair a reviewer decided since the last run started.

Everybody else keeps the previous run's links: the unchanged members of each previous cluster
stay linked to each other (a fresh member is taken out and re-attached by its own scores).
The components of those links and of the new scores then go through the same stable-id rules
as a full run (:mod:`maillon.link.stable`): a new record that matches a cluster joins it and
the cluster keeps its id; one that bridges two clusters merges them (oldest id survives).

What an incremental run cannot do is split a cluster because the model changed its mind
about two unchanged records: ``--full`` (``mode="full"``) retrains and re-scores everything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, or_, select

from maillon.link.models import LinkReview, LinkRun, PersonCluster
from maillon.store import models as m

MAX_FRESH_SHARE = 0.2
"""``mode="auto"`` re-trains and re-scores everything when more than this share of the persons
is fresh (the model may have to learn from them)."""


@dataclass(frozen=True)
class LastRun:
    """The latest finished run that saved a trained model."""

    started_at: datetime
    model: dict[str, Any]


def last_run(conn: Connection) -> LastRun | None:
    """The latest finished run with a saved model, or ``None`` (then a run is full)."""
    row = conn.execute(
        select(LinkRun.started_at, LinkRun.model)
        .where(LinkRun.finished_at.is_not(None), LinkRun.model.is_not(None))
        .order_by(LinkRun.started_at.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return LastRun(started_at=row[0], model=json.loads(str(row[1])))


def fresh_persons(conn: Connection, since: datetime, person_ids: Iterable[str]) -> set[str]:
    """Persons of ``person_ids`` that are fresh since ``since`` (module docstring)."""
    ids = set(person_ids)
    clustered = {pid for (pid,) in conn.execute(select(PersonCluster.person_id))}
    fresh = ids - clustered
    fresh |= {pid for (pid,) in conn.execute(
        select(m.Person.id).where(m.Person.updated_at >= since))}
    ev = m.TraffickingEvent
    changed_cases: set[str] = set()
    for pid, case_id in conn.execute(
            select(ev.person_id, ev.case_id).where(ev.updated_at >= since)):
        if pid is not None:
            fresh.add(pid)
        else:
            changed_cases.add(case_id)
    if changed_cases:
        for (pid,) in conn.execute(select(m.Person.id).where(
                m.Person.case_id.in_(sorted(changed_cases)))):
            fresh.add(pid)
    for a, b in conn.execute(
            select(LinkReview.person_id_l, LinkReview.person_id_r)
            .where(LinkReview.decided_at >= since,
                   or_(LinkReview.status == "accepted", LinkReview.status == "rejected"))):
        fresh.update((a, b))
    return fresh & ids


def kept_links(previous: Mapping[str, str], fresh: set[str], present: Iterable[str]
               ) -> pd.DataFrame:
    """Pairs (probability 1) that keep each previous cluster's unchanged members together:
    each member is linked to the cluster's smallest unchanged member."""
    present_set = set(present)
    members: dict[str, list[str]] = {}
    for pid, cid in previous.items():
        if pid in present_set and pid not in fresh:
            members.setdefault(cid, []).append(pid)
    left: list[str] = []
    right: list[str] = []
    for group in members.values():
        if len(group) > 1:
            group.sort()
            left += [group[0]] * (len(group) - 1)
            right += group[1:]
    return pd.DataFrame({"unique_id_l": pd.Series(left, dtype=object),
                         "unique_id_r": pd.Series(right, dtype=object),
                         "match_probability": np.ones(len(left))})


def best_within(assignment: Mapping[str, str], scored: pd.DataFrame,
                previous_best: Mapping[str, float | None], fresh: set[str]
                ) -> dict[str, float]:
    """Each person's highest probability with another person of its cluster: from this
    run's scores and, for unchanged persons, the previous run's value."""
    best: dict[str, float] = {pid: float(p) for pid, p in previous_best.items()
                              if p is not None and pid not in fresh and pid in assignment}
    for a, b, p in zip(scored["unique_id_l"], scored["unique_id_r"],
                       scored["match_probability"], strict=True):
        if assignment.get(a) is not None and assignment.get(a) == assignment.get(b):
            for pid in (a, b):
                if float(p) > best.get(pid, -1.0):
                    best[pid] = float(p)
    return best
