"""Pseudonymised extracts for a recipient under a sharing agreement, behind a consent gate.

One row per person: the person's pseudonym in the agreement's domain
(:mod:`maillon.store.pseudonym`: stable within the agreement, unlinkable across agreements),
then only coded, non-direct identifiers: role, gender, birth year, age band, citizenship,
forms of exploitation, case status and registration year, recording organisation. No name,
birth date, contact or identity number ever enters an extract.

Consent gate: a person is included only when their most recent decision for the sharing scope
(``consent_scope`` code, ``InformationSharing`` by default) is a ``given`` consent. An operator
may override the gate with a written reason (for instance a legal obligation to report); the
override and the number of persons it added are audited by the caller.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from maillon.core.errors import InvalidInput
from maillon.store import models as m
from maillon.store.keys import KeyProvider
from maillon.store.pseudonym import domain_key_for, pseudonym
from maillon.vocab import api as vocab

COLUMNS = ("pseudonym", "role", "gender", "birth_year", "age_band", "citizenship",
           "exploitation_type", "case_status", "registration_year", "organisation")
"""The extract's header, in order. Multi-valued cells are ``;``-separated codes."""


@dataclass(frozen=True)
class ExtractResult:
    """``included`` persons written; ``without_consent`` left out (or added by the override)."""

    path: Path
    included: int
    without_consent: int
    overridden: bool


def _consented(conn: Connection, scope: str) -> set[str]:
    """Ids of persons whose latest decision for ``scope`` gives consent."""
    latest: dict[str, tuple[str, str, bool]] = {}
    rows = conn.execute(select(m.Consent.person_id, m.Consent.decided_on, m.Consent.created_at,
                               m.Consent.given).where(m.Consent.scope == scope))
    for person_id, decided, created, given in rows:
        key = (decided.isoformat() if decided else "", created.isoformat() if created else "")
        if person_id not in latest or key > latest[person_id][:2]:
            latest[person_id] = (*key, bool(given))
    return {pid for pid, (_, _, given) in latest.items() if given}


def make_extract(
    conn: Connection,
    keys: KeyProvider,
    *,
    agreement: str,
    output: Path,
    scope: str = "InformationSharing",
    organisation_id: str | None = None,
    override_reason: str | None = None,
) -> ExtractResult:
    """Write the extract for ``agreement`` to ``output`` (CSV, UTF-8); see the module doc.

    ``organisation_id`` limits it to one organisation's records (the CLI's ``--organisation``).
    """
    if scope not in {c.code for c in vocab.get("consent_scope").codes}:
        raise InvalidInput("unknown consent scope", [])
    if override_reason is not None and len(override_reason.strip()) < 10:
        raise InvalidInput("an override needs a reason of at least 10 characters", [])
    domain = domain_key_for(keys, agreement)
    query = (select(m.Person.id, m.Person.role, m.Person.gender, m.Person.birth_year,
                    m.Person.age_band, m.Case.status, m.Case.registration_date,
                    m.Organisation.code)
             .join(m.Case, m.Case.id == m.Person.case_id, isouter=True)
             .join(m.Organisation, m.Organisation.id == m.Person.organisation_id)
             .order_by(m.Person.id))
    if organisation_id is not None:
        query = query.where(m.Person.organisation_id == organisation_id)
    persons = conn.execute(query).all()
    codes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for pid, vocabulary, code in conn.execute(
        select(m.PersonCode.person_id, m.PersonCode.vocabulary, m.PersonCode.code)
        .where(m.PersonCode.vocabulary.in_(("citizenship", "exploitation_type")))
        .order_by(m.PersonCode.person_id, m.PersonCode.vocabulary, m.PersonCode.code)
    ):
        codes[(pid, vocabulary)].append(code)
    consented = _consented(conn, scope)
    rows, left_out = [], 0
    for pid, role, gender, year, band, status, registered, org in persons:
        if pid not in consented:
            left_out += 1
            if override_reason is None:
                continue
        rows.append((pseudonym(pid, domain_key=domain), role, gender or "", year or "",
                     band or "", ";".join(codes[(pid, "citizenship")]),
                     ";".join(codes[(pid, "exploitation_type")]), status or "",
                     registered.year if registered else "", org))
    rows.sort()  # pseudonym order: the row order reveals nothing about record ids
    with output.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return ExtractResult(output, len(rows), left_out, override_reason is not None)
