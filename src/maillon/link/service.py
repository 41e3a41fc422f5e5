"""``maillon link run``: link the store's persons and keep stable clusters (see stable.py).

Names and birth dates are decrypted in memory (FieldCipher), handed to Splink on an in-memory
DuckDB database, and never written anywhere in clear: the tables written here hold ids,
probabilities and comparison labels only. Each run is one transaction with its audit entry.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, delete, insert, select, update

from maillon.core.ids import new_id
from maillon.core.timeutil import utcnow
from maillon.link.context import store_columns
from maillon.link.defaults import DEFAULT_THRESHOLD, REVIEW_BAND
from maillon.link.graph import LinkResult, cluster
from maillon.link.incremental import (
    MAX_FRESH_SHARE,
    best_within,
    fresh_persons,
    kept_links,
    last_run,
)
from maillon.link.models import (
    LinkCluster,
    LinkClusterEvent,
    LinkReview,
    LinkRun,
    PersonCluster,
)
from maillon.link.prepare import INPUT_COLUMNS, prepare
from maillon.link.stable import reassign
from maillon.store import models as m
from maillon.store.audit import AuditLog
from maillon.store.base import table_of
from maillon.store.crypto import FieldCipher
from maillon.store.keys import KeyProvider

log = logging.getLogger(__name__)

REVIEW_LIMIT = 5000
CLUSTER = table_of(LinkCluster)
PERSON_CLUSTER = table_of(PersonCluster)
EVENT = table_of(LinkClusterEvent)
REVIEW = table_of(LinkReview)
RUN = table_of(LinkRun)


@dataclass(frozen=True)
class RunReport:
    run_id: str
    persons: int
    pairs: int
    clusters: int
    linked_clusters: int
    created: int
    merged: int
    split: int
    review_pending: int
    labels_used: int
    mode: str
    scored: int
    timings: dict[str, float]


def _birth_text(clear: str | None, precision: str | None, year: int | None) -> str | None:
    if clear:
        if precision == "year":
            return clear[:4]
        if precision == "month":
            return clear[:7]
        return clear
    return str(year) if year else None


def load_records(conn: Connection, cipher: FieldCipher) -> pa.Table:
    """The store's persons as linkage input (clear text, in memory only)."""
    p = m.Person
    rows = conn.execute(
        select(p.id, p.organisation_id, m.Organisation.code, p.given_name, p.family_name,
               p.birth_date, p.birth_date_precision, p.birth_year, p.gender)
        .join(m.Organisation, m.Organisation.id == p.organisation_id)
        .order_by(p.id)
    ).all()
    cits: dict[str, list[str]] = {}
    for pid, code in conn.execute(
        select(m.PersonCode.person_id, m.PersonCode.code)
        .where(m.PersonCode.vocabulary == "citizenship")
    ):
        cits.setdefault(pid, []).append(code)
    cols: dict[str, list[str | None]] = {c: [] for c in INPUT_COLUMNS}
    for pid, org, code, given, family, birth, precision, year, gender in rows:
        def clear(token: str | None, name: str, pid: str = pid, org: str = org) -> str | None:
            return cipher.decrypt(token, organisation_id=org, record_id=pid, field=name)

        cols["record_id"].append(pid)
        cols["source"].append(code)
        cols["given_name"].append(clear(given, "person.given_name"))
        cols["family_name"].append(clear(family, "person.family_name"))
        cols["birth_date"].append(
            _birth_text(clear(birth, "person.birth_date"), precision, year))
        cols["sex"].append(gender)
        cols["citizenship"].append(";".join(sorted(cits.get(pid, []))) or None)
    return pa.table({c: pa.array(v, pa.string()) for c, v in cols.items()})


def decisions(conn: Connection) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Reviewed pairs: (accepted, rejected), each pair ordered ``(smaller id, larger id)``."""
    acc: set[tuple[str, str]] = set()
    rej: set[tuple[str, str]] = set()
    for a, b, status in conn.execute(
        select(LinkReview.person_id_l, LinkReview.person_id_r, LinkReview.status)
        .where(LinkReview.status.in_(("accepted", "rejected")))
    ):
        (acc if status == "accepted" else rej).add((min(a, b), max(a, b)))
    return acc, rej


def apply_decisions(pairs: pd.DataFrame, accepted: Iterable[tuple[str, str]],
                    rejected: set[tuple[str, str]]) -> pd.DataFrame:
    """Reviewer labels override the model: accepted pairs link (p = 1), rejected never do."""
    keys = list(zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True))
    keep = [k not in rejected for k in keys]
    out = pairs.loc[keep, ["unique_id_l", "unique_id_r", "match_probability"]]
    forced = pd.DataFrame([{"unique_id_l": a, "unique_id_r": b, "match_probability": 1.0}
                           for a, b in accepted])
    return pd.concat([out, forced], ignore_index=True) if len(forced) else out


def waterfall(row: pd.Series, labels: dict[str, dict[int, str]], prior_weight: float
              ) -> list[dict[str, Any]]:
    """Per-comparison match weights of one scored pair (labels and numbers, no values)."""
    steps: list[dict[str, Any]] = [{"comparison": "prior", "level": "", "weight":
                                    round(prior_weight, 3)}]
    for name, levels in labels.items():
        gamma = int(row[f"gamma_{name}"])
        weight = float(row.get(f"mw_{name}", 0.0) or 0.0)
        tf = row.get(f"mw_tf_adj_{name}")
        if tf is not None and not pd.isna(tf):
            weight += float(tf)
        steps.append({"comparison": name, "level": levels.get(gamma, str(gamma)),
                      "weight": round(weight, 3)})
    return steps


def _level_labels(linker: Any) -> dict[str, dict[int, str]]:
    return {
        c.output_column_name: {lv.comparison_vector_value: str(lv.label_for_charts)
                               for lv in c.comparison_levels}
        for c in linker._settings_obj.comparisons
    }


Mode = Literal["auto", "full", "incremental"]


def run(conn: Connection, *, keys: KeyProvider, audit: AuditLog, actor: str,
        threshold: float = DEFAULT_THRESHOLD, seed: int = 0, source: str = "cli",
        linker: Callable[..., LinkResult] | None = None, mode: Mode = "auto") -> RunReport:
    """Link the persons in the store, in the caller's transaction on ``conn``.

    Writes ``person_cluster`` (stable ids), ``link_cluster``, merge/split events, the review
    queue and a ``link_run`` row; appends one audit entry (counts only). ``mode``: ``full``
    trains and scores everything; ``incremental`` reuses the last run's model and scores only
    pairs involving new or changed persons (:mod:`maillon.link.incremental`; full when no
    run saved a model yet); ``auto`` is incremental when at most
    :data:`~maillon.link.incremental.MAX_FRESH_SHARE` of the persons are fresh. ``linker``
    replaces :func:`maillon.link.engine.link` (tests script their pairs with it).
    """
    from maillon.link.engine import link, same_shape
    from maillon.link.model import person_settings

    linker = linker or link

    cipher = FieldCipher(keys, conn)
    run_id = new_id()
    now = utcnow()
    conn.execute(insert(RUN).values(id=run_id, started_at=now, actor=actor, threshold=threshold,
                                    persons=0, pairs=0, clusters=0, created=0, merged=0,
                                    split=0, labels_used=0))
    table = load_records(conn, cipher)
    accepted, rejected = decisions(conn)
    previous = dict(conn.execute(select(PersonCluster.person_id, PersonCluster.cluster_id)).all())
    fresh: set[str] | None = None
    model_json: str | None = None
    if table.num_rows == 0:
        result_pairs = pd.DataFrame(columns=["unique_id_l", "unique_id_r", "match_probability"])
        timings: dict[str, float] = {}
        ids: list[str] = []
        review_rows: pd.DataFrame = result_pairs
        labels: dict[str, dict[int, str]] = {}
        prior = 0.0
    else:
        df = prepare(table)
        del table
        ids = df["unique_id"].tolist()
        for name, values in store_columns(conn, ids).items():
            df[name] = values
        last = last_run(conn) if mode != "full" else None
        trained: dict[str, Any] | None = None
        if last is not None and same_shape(last.model, person_settings(store=True)):
            # (a model saved by another version of the model is not reused: full run)
            candidates = fresh_persons(conn, last.started_at, ids)
            if mode == "incremental" or len(candidates) <= MAX_FRESH_SHARE * len(ids):
                fresh, trained = candidates, last.model
        labels_df = pd.DataFrame(sorted(accepted), columns=["unique_id_l", "unique_id_r"])
        if fresh is not None:
            df["fresh"] = [1 if pid in fresh else 0 for pid in ids]
        settings = person_settings(waterfall=True, store=True, fresh_only=fresh is not None)
        result = linker(df, settings=settings, threshold=threshold,
                        min_probability=REVIEW_BAND[0], seed=seed, trained=trained,
                        labels=labels_df if len(labels_df) and trained is None else None)
        del df
        # saved by every run (an incremental one passes on the model it reused), so that the
        # next run counts as fresh only what changed after this one
        model_json = (_saved_model(result.linker) if trained is None
                      else json.dumps(trained, sort_keys=True))
        timings = result.timings
        review_rows = result.pairs
        labels = _level_labels(result.linker)
        prior = float(result.linker._settings_obj._probability_two_random_records_match)
        result_pairs = apply_decisions(result.pairs, accepted, rejected)
    import math

    prior_weight = math.log2(prior / (1 - prior)) if 0 < prior < 1 else 0.0
    if not ids:
        assignment: dict[str, str] = {}
        best: dict[str, float] = {}
    elif fresh is None:
        assignment, best = cluster(ids, result_pairs, threshold)
    else:
        kept = kept_links(previous, fresh, ids)
        assignment, _ = cluster(ids, pd.concat([kept, result_pairs], ignore_index=True),
                                threshold)
        previous_best = dict(conn.execute(
            select(PersonCluster.person_id, PersonCluster.match_probability)).all())
        best = best_within(assignment, result_pairs, previous_best, fresh)
    comps: dict[str, list[str]] = {}
    for pid, head in assignment.items():
        comps.setdefault(head, []).append(pid)
    age: dict[str, tuple[object, str]] = {
        cid: (created, cid)
        for cid, created in conn.execute(select(LinkCluster.id, LinkCluster.created_at))
    }
    re = reassign(list(comps.values()), previous, age, new_id)
    sizes: dict[str, int] = {}
    for cid in re.cluster.values():
        sizes[cid] = sizes.get(cid, 0) + 1
    if re.created:
        conn.execute(insert(CLUSTER), [
            {"id": cid, "created_at": now, "created_run_id": run_id, "retired_at": None,
             "size": sizes.get(cid, 0)} for cid in re.created])
    kept = [c for c in sizes if c not in set(re.created)]
    for cid in kept:
        conn.execute(update(CLUSTER).where(CLUSTER.c.id == cid).values(size=sizes[cid],
                                                                       retired_at=None))
    if re.retired:
        conn.execute(update(CLUSTER).where(CLUSTER.c.id.in_(re.retired))
                     .values(retired_at=now, size=0))
    conn.execute(delete(PERSON_CLUSTER))
    if re.cluster:
        conn.execute(insert(PERSON_CLUSTER), [
            {"person_id": pid, "cluster_id": cid, "match_probability": best.get(pid),
             "run_id": run_id} for pid, cid in re.cluster.items()])
    if re.events:
        conn.execute(insert(EVENT), [
            {"id": new_id(), "run_id": run_id, "at": now, "kind": kind, "cluster_id": keep,
             "other_cluster_id": other, "persons": n} for kind, keep, other, n in re.events])
    pending = _queue(conn, review_rows, labels, prior_weight, accepted | rejected, run_id,
                     scope=fresh)
    merged = sum(1 for e in re.events if e[0] == "merge")
    split = sum(1 for e in re.events if e[0] == "split")
    linked = sum(1 for n in sizes.values() if n > 1)
    conn.execute(update(RUN).where(RUN.c.id == run_id).values(
        finished_at=utcnow(), persons=len(ids), pairs=len(result_pairs), clusters=len(sizes),
        created=len(re.created), merged=merged, split=split,
        labels_used=len(accepted) + len(rejected),
        mode="full" if fresh is None else "incremental",
        scored=len(ids) if fresh is None else len(fresh), model=model_json))
    report = RunReport(run_id=run_id, persons=len(ids), pairs=len(result_pairs),
                       clusters=len(sizes), linked_clusters=linked, created=len(re.created),
                       merged=merged, split=split, review_pending=pending,
                       labels_used=len(accepted) + len(rejected),
                       mode="full" if fresh is None else "incremental",
                       scored=len(ids) if fresh is None else len(fresh),
                       timings={k: round(v, 2) for k, v in timings.items()})
    audit.append(conn, actor=actor, action="link", resource="link_run", resource_id=run_id,
                 fields=("person.given_name", "person.family_name", "person.birth_date"),
                 source=source, detail={k: v for k, v in vars(report).items()
                                        if k not in ("run_id", "timings")})
    return report


def _saved_model(linker: Any) -> str | None:
    """The trained model as JSON for the next incremental run (``None`` if not a Splink one).

    Splink's model holds the settings (SQL, comparison labels) and the trained m, u and
    prior: no value of any record."""
    misc = getattr(linker, "misc", None)
    if misc is None:
        return None
    return json.dumps(misc.save_model_to_json(), sort_keys=True)


def _queue(conn: Connection, pairs: pd.DataFrame, labels: dict[str, dict[int, str]],
           prior_weight: float, decided: set[tuple[str, str]], run_id: str,
           scope: set[str] | None = None) -> int:
    """Replace the pending review items (those involving ``scope`` only, when given) with
    this run's pairs in the review band that nobody decided yet."""
    if scope is None:
        conn.execute(delete(REVIEW).where(REVIEW.c.status == "pending"))
    else:
        chunk = sorted(scope)
        for i in range(0, len(chunk), 500):
            part = chunk[i:i + 500]
            conn.execute(delete(REVIEW).where(
                REVIEW.c.status == "pending",
                REVIEW.c.person_id_l.in_(part) | REVIEW.c.person_id_r.in_(part)))
    if pairs.empty or "match_weight" not in pairs.columns:
        return 0
    lo, hi = REVIEW_BAND
    band = pairs[(pairs["match_probability"] >= lo) & (pairs["match_probability"] < hi)]
    band = band.sort_values("match_probability", kind="stable").head(REVIEW_LIMIT)
    rows = []
    for _, r in band.iterrows():
        key = (r["unique_id_l"], r["unique_id_r"])
        if key in decided:
            continue
        rows.append({
            "id": new_id(), "person_id_l": key[0], "person_id_r": key[1],
            "match_probability": float(r["match_probability"]),
            "match_weight": round(float(r["match_weight"]), 3),
            "waterfall": json.dumps(waterfall(r, labels, prior_weight)),
            "status": "pending", "decided_by": None, "decided_at": None, "run_id": run_id,
        })
    if rows:
        conn.execute(insert(REVIEW), rows)
    return len(rows)


def decide(conn: Connection, *, review_id: str, accept: bool, actor: str, audit: AuditLog,
           source: str, actor_organisation_id: str | None = None) -> None:
    """Store a reviewer's decision on a pair (used as a label by the next run) and audit it."""
    from maillon.core.errors import NotFound

    found = conn.execute(select(REVIEW.c.id).where(REVIEW.c.id == review_id)).first()
    if found is None:
        raise NotFound(f"no review item {review_id!r}")
    status = "accepted" if accept else "rejected"
    decided_at: datetime = utcnow()
    conn.execute(update(REVIEW).where(REVIEW.c.id == review_id).values(
        status=status, decided_by=actor, decided_at=decided_at))
    audit.append(conn, actor=actor, action="update", resource="link_review",
                 resource_id=review_id, fields=("status",), source=source,
                 detail={"status": status}, actor_organisation_id=actor_organisation_id)
