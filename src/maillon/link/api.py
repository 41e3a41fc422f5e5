"""Public names of the link capability (record linkage of persons, stable clusters, review)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Console
from sqlalchemy import Connection, select
from sqlalchemy.orm import aliased

from maillon.core.settings import Settings
from maillon.link.dedupe import DedupeReport, dedupe_file
from maillon.link.defaults import DEFAULT_THRESHOLD, REVIEW_BAND
from maillon.link.engine import LinkResult, link
from maillon.link.prepare import INPUT_COLUMNS, prepare, read_records
from maillon.link.service import RunReport, decide, run
from maillon.store import models as m
from maillon.store.api import Store

__all__ = [
    "DEFAULT_THRESHOLD",
    "INPUT_COLUMNS",
    "REVIEW_BAND",
    "DedupeReport",
    "LinkResult",
    "LinkedPerson",
    "RunReport",
    "decide",
    "dedupe_file",
    "demo_link",
    "link",
    "linked_persons",
    "prepare",
    "read_records",
    "run",
]


@dataclass(frozen=True)
class LinkedPerson:
    """Another record of the same person (same stable cluster), with where it comes from."""

    person_id: str
    cluster_id: str
    organisation: str
    case_id: str | None
    source_record_id: str | None
    match_probability: float | None


def linked_persons(conn: Connection, person_ids: Iterable[str]
                   ) -> dict[str, list[LinkedPerson]]:
    """For each of ``person_ids``: the OTHER persons of its cluster (ids and provenance only;
    the caller applies its own scope and visibility before showing anything about them)."""
    from maillon.link.models import PersonCluster

    ids = list(person_ids)
    if not ids:
        return {}
    mine, other = aliased(PersonCluster), aliased(PersonCluster)
    rows = conn.execute(
        select(mine.person_id, other.person_id, other.cluster_id, m.Organisation.name,
               m.Person.case_id, m.Person.source_record_id, other.match_probability)
        .join(other, (other.cluster_id == mine.cluster_id) & (other.person_id != mine.person_id))
        .join(m.Person, m.Person.id == other.person_id)
        .join(m.Organisation, m.Organisation.id == m.Person.organisation_id)
        .where(mine.person_id.in_(ids))
        .order_by(mine.person_id, m.Organisation.name, other.person_id)
    ).all()
    out: dict[str, list[LinkedPerson]] = {pid: [] for pid in ids}
    for pid, oid, cid, org, case_id, src, prob in rows:
        out[pid].append(LinkedPerson(oid, cid, org, case_id, src, prob))
    return out


def demo_link(store: Store, settings: Settings, console: Console) -> RunReport:
    """Link the demo data (``make run``) as the operator and print a one-line summary."""
    import logging

    from maillon.auth.context import Security, operator_name

    logging.getLogger("splink").setLevel(logging.ERROR)
    security = Security.open(settings)
    with security.audit.audit_scope(store.engine) as conn:
        report = run(conn, keys=security.keys, audit=security.audit,
                     actor=operator_name(settings), source="demo")
    console.print(
        f"Linked {report.persons} person records into {report.clusters} persons "
        f"({report.linked_clusters} recorded more than once); {report.review_pending} "
        f"uncertain pairs to review at /link/review.")
    return report
