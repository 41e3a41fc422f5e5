"""Reading cases back: the filtered case list and one case with everything attached.

Functions take an open :class:`~sqlalchemy.orm.Session` (the caller owns the transaction) and
return plain pydantic-free dataclasses, so the CLI, the JSON API and the HTML pages share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, TypeVarTuple

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from maillon.core.errors import NotFound
from maillon.store import models as m
from maillon.store.base import table_of
from maillon.store.crypto import FieldCipher
from maillon.store.sqljson import as_date, json_rows, loads_rows

_Ts = TypeVarTuple("_Ts")


@dataclass(frozen=True)
class CaseFilter:
    """Filters of the case list; ``None`` means no filter.

    ``q`` matches the source case id, a person's record id, or a person's whole given or family
    name (names are encrypted: the match uses their blind indexes, ``name_keys`` from
    :func:`search_keys`, so it ignores case and spacing but not spelling; names only when
    ``names`` is true, i.e. the caller may see them); ``scope`` is
    the caller's record scope as a SQL condition on ``Case`` (see ``maillon.auth.api``);
    ``exploitation`` is an ``exploitation_type`` code; ``country`` an ISO alpha-2 code matched
    against exploitation events; ``year`` the registration year.
    """

    organisation: str | None = None
    status: str | None = None
    exploitation: str | None = None
    country: str | None = None
    year: int | None = None
    q: str | None = None
    scope: ColumnElement[bool] | None = None
    names: bool = True
    name_keys: tuple[str, str] | None = None


@dataclass
class CaseSummary:
    id: str
    source_record_id: str | None
    organisation: str
    status: str | None
    registration_date: date | None
    victims: int
    perpetrators: int
    exploitation: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)


@dataclass
class PersonView:
    id: str
    source_record_id: str | None
    role: str
    given_name: str | None
    middle_name: str | None
    family_name: str | None
    birth_date: str | None
    gender: str | None
    age_band: str | None
    codes: dict[str, list[str]]
    victim: dict[str, Any] | None
    perpetrator: dict[str, Any] | None


@dataclass
class CaseDetail:
    summary: CaseSummary
    closure_reason: str | None
    case_owner: str | None
    persons: list[PersonView]
    events: list[dict[str, Any]]
    referrals: list[dict[str, Any]]
    support_plans: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    provenance: dict[str, Any]


def _filtered(stmt: Select[*_Ts], flt: CaseFilter) -> Select[*_Ts]:
    case = m.Case
    if flt.scope is not None:
        stmt = stmt.where(flt.scope)
    if flt.organisation:
        stmt = stmt.where(
            case.organisation_id.in_(
                select(m.Organisation.id).where(
                    or_(m.Organisation.code == flt.organisation,
                        m.Organisation.name == flt.organisation,
                        m.Organisation.id == flt.organisation)
                )
            )
        )
    if flt.status:
        stmt = stmt.where(case.status == flt.status)
    if flt.year:
        stmt = stmt.where(
            case.registration_date >= date(flt.year, 1, 1),
            case.registration_date <= date(flt.year, 12, 31),
        )
    if flt.exploitation:
        stmt = stmt.where(
            case.id.in_(
                select(m.Person.case_id)
                .join(m.PersonCode, m.PersonCode.person_id == m.Person.id)
                .where(m.PersonCode.vocabulary == "exploitation_type",
                       m.PersonCode.code == flt.exploitation)
            )
        )
    if flt.country:
        stmt = stmt.where(
            case.id.in_(
                select(m.TraffickingEvent.case_id).where(
                    m.TraffickingEvent.event_type == "Exploitation",
                    m.TraffickingEvent.country == flt.country.upper(),
                )
            )
        )
    if flt.q:
        text = flt.q.strip()
        if not flt.names or flt.name_keys is None:
            return stmt.where(case.source_record_id == text)
        given_key, family_key = flt.name_keys
        stmt = stmt.where(
            or_(
                case.source_record_id == text,
                case.id.in_(
                    select(m.Person.case_id).where(
                        or_(m.Person.family_name_bidx == family_key,
                            m.Person.given_name_bidx == given_key,
                            m.Person.source_record_id == text)
                    )
                ),
            )
        )
    return stmt


def search_keys(cipher: FieldCipher, text: str) -> tuple[str, str]:
    """Blind indexes of ``text`` as a given name and as a family name, for ``name_keys``."""
    return (cipher.blind_index(text, field="person.given_name"),
            cipher.blind_index(text, field="person.family_name"))


def count_cases(session: Session, flt: CaseFilter) -> int:
    stmt = _filtered(select(func.count()).select_from(m.Case), flt)
    return int(session.connection().execute(stmt).scalar_one())


def _child_rows(*columns: Any, where: ColumnElement[bool], joined: Any = None) -> Any:
    """The ``columns`` of the rows matching ``where`` (a condition on ``case_file``'s row of the
    enclosing statement) as one JSON value: see :func:`~maillon.store.sqljson.json_rows`."""
    stmt = select(json_rows(*columns)).where(where)
    if joined is not None:
        stmt = stmt.select_from(joined)
    return stmt.correlate(table_of(m.Case)).scalar_subquery()


@cache
def _summary_read() -> Select[Any]:
    """The per-page look-up of :func:`list_cases`, built once: for each case id in ``ids``, its
    persons' roles, exploitation types and exploitation countries, in one statement (three
    before, each a round trip on PostgreSQL; see :func:`_case_read`)."""
    case, person = table_of(m.Case), table_of(m.Person)
    code, event = table_of(m.PersonCode), table_of(m.TraffickingEvent)
    ids: BindParameter[list[str]] = bindparam("ids", expanding=True)
    of_case = person.c.case_id == case.c.id
    return select(
        case.c.id,
        _child_rows(person.c.role, where=of_case),
        _child_rows(code.c.code, where=of_case & (code.c.vocabulary == "exploitation_type"),
                    joined=code.join(person, person.c.id == code.c.person_id)),
        _child_rows(event.c.country, where=(event.c.case_id == case.c.id)
                    & (event.c.event_type == "Exploitation") & event.c.country.is_not(None)),
    ).where(case.c.id.in_(ids))


def list_cases(
    session: Session, flt: CaseFilter, *, limit: int = 50, offset: int = 0
) -> list[CaseSummary]:
    """One page of cases, newest registration first, with counts and exploitation types."""
    case = m.Case
    stmt = _filtered(
        select(case.id, case.source_record_id, case.status, case.registration_date,
               m.Organisation.name)
        .join(m.Organisation, m.Organisation.id == case.organisation_id),
        flt,
    ).order_by(case.registration_date.desc().nulls_last(), case.id).limit(limit).offset(offset)
    conn = session.connection()
    rows = conn.execute(stmt).all()
    ids = [row[0] for row in rows]
    found: dict[str, tuple[list[str], list[str], list[str]]] = {}
    if ids:
        for cid, roles, exploitation, countries in conn.execute(_summary_read(), {"ids": ids}):
            found[cid] = ([r for r, in loads_rows(roles)],
                          sorted({c for c, in loads_rows(exploitation)}),
                          sorted({c for c, in loads_rows(countries)}))
    summaries = []
    for cid, source_id, status, registered, org in rows:
        roles, exploitation, countries = found.get(cid, ([], [], []))
        summaries.append(CaseSummary(
            id=cid, source_record_id=source_id, organisation=org, status=status,
            registration_date=registered, victims=roles.count("Victim"),
            perpetrators=roles.count("Perpetrator"), exploitation=exploitation,
            countries=countries,
        ))
    return summaries


@cache
def _case_read() -> Select[Any]:
    """The one statement of :func:`get_case`, built once with a bound ``case_id``.

    The case row with its organisation's name, then one JSON column per kind of child row
    (:func:`~maillon.store.sqljson.json_rows`): persons (outer-joined with their victim and
    perpetrator context), their codes, the events, referrals, support plans and consents.
    Seven statements per read became one: on PostgreSQL every statement is a round trip and
    work for the driver and the server, which under load cost more than the rows themselves.
    The statement object is kept so that SQLAlchemy computes its cache key once.
    """
    case, org, person = table_of(m.Case), table_of(m.Organisation), table_of(m.Person)
    victim, perp = table_of(m.VictimContext), table_of(m.PerpetratorContext)
    code, event, ref = table_of(m.PersonCode), table_of(m.TraffickingEvent), table_of(m.Referral)
    plan, consent = table_of(m.SupportPlan), table_of(m.Consent)
    of_case = person.c.case_id == case.c.id
    case_id: BindParameter[str] = bindparam("case_id")
    return (
        select(
            case.c.id, case.c.source_record_id, case.c.organisation_id, case.c.status,
            case.c.registration_date, case.c.closure_reason, case.c.case_owner,
            case.c.import_batch_id, case.c.created_at, case.c.created_by, case.c.updated_at,
            case.c.updated_by, org.c.name,
            _child_rows(
                person.c.id, person.c.source_record_id, person.c.role, person.c.organisation_id,
                person.c.given_name, person.c.middle_name, person.c.family_name,
                person.c.birth_date, person.c.birth_date_precision, person.c.gender,
                person.c.age_band, victim.c.person_id, victim.c.trafficking_status,
                victim.c.status_decided_by, victim.c.relationship_to_trafficker,
                victim.c.age_when_trafficked, perp.c.person_id, perp.c.entity_type,
                perp.c.age_at_offence, perp.c.role_details, where=of_case,
                joined=person.outerjoin(victim, victim.c.person_id == person.c.id)
                .outerjoin(perp, perp.c.person_id == person.c.id),
            ).label("persons"),
            _child_rows(
                code.c.person_id, code.c.vocabulary, code.c.code, where=of_case,
                joined=code.join(person, person.c.id == code.c.person_id),
            ).label("codes"),
            _child_rows(
                event.c.id, event.c.organisation_id, event.c.event_type, event.c.country,
                event.c.admin_area, event.c.city, event.c.date_from, event.c.date_to,
                event.c.place, where=event.c.case_id == case.c.id,
            ).label("events"),
            _child_rows(
                ref.c.id, ref.c.organisation_id, ref.c.direction, ref.c.other_organisation,
                ref.c.referral_date, ref.c.reason, ref.c.details,
                where=ref.c.case_id == case.c.id,
            ).label("referrals"),
            _child_rows(
                plan.c.person_id, plan.c.plan_type, plan.c.planned_end_date,
                plan.c.actual_end_date, plan.c.id, where=plan.c.case_id == case.c.id,
            ).label("plans"),
            _child_rows(
                consent.c.person_id, consent.c.scope, consent.c.given, consent.c.decided_on,
                consent.c.id, where=of_case,
                joined=consent.join(person, person.c.id == consent.c.person_id),
            ).label("consents"),
        )
        .join(org, org.c.id == case.c.organisation_id)
        .where(case.c.id == case_id)
    )


_SCOPED_READS: dict[int, tuple[ColumnElement[bool], Select[Any]]] = {}
_SCOPED_READS_MAX = 4096


def _scoped_case_read(scope: ColumnElement[bool]) -> Select[Any]:
    """The case statement restricted to ``scope``, kept per scope object.

    Callers that pass the same condition object for the same caller (the web layer memoises
    it per principal) get the same statement back, so SQLAlchemy computes its cache key once
    instead of walking the whole statement on every read. Keyed by ``id`` with the object
    itself kept and compared by identity: SQL expressions overload ``==``.
    """
    found = _SCOPED_READS.get(id(scope))
    if found is not None and found[0] is scope:
        return found[1]
    stmt = _case_read().where(scope)
    if len(_SCOPED_READS) >= _SCOPED_READS_MAX:
        _SCOPED_READS.clear()
    _SCOPED_READS[id(scope)] = (scope, stmt)
    return stmt


def get_case(
    session: Session, case_id: str, *, cipher: FieldCipher,
    scope: ColumnElement[bool] | None = None,
) -> CaseDetail:
    """One case with its persons, events, referrals, support plans and consents, decrypted.

    A case outside ``scope`` is :class:`NotFound`, exactly like a case that does not exist.
    The caller decides how much of the decrypted personal data to show (and audits it).
    """
    conn = session.connection()
    stmt = _case_read() if scope is None else _scoped_case_read(scope)
    case = conn.execute(stmt, {"case_id": case_id}).first()
    if case is None:
        raise NotFound(f"no case {case_id!r}")
    # Child rows come unordered (see maillon.store.sqljson): sorted here, ties by id.
    persons = sorted(loads_rows(case.persons), key=lambda p: (p[2], p[0]))
    codes: dict[str, dict[str, list[str]]] = {p[0]: {} for p in persons}
    for pid, vocabulary, code in sorted(loads_rows(case.codes), key=lambda c: (c[2], c[1])):
        codes[pid].setdefault(vocabulary, []).append(code)
    decrypt = cipher.decrypt

    def clear(token: str | None, org: str, record: str, name: str) -> str | None:
        if token is None:
            return None
        return decrypt(token, organisation_id=org, record_id=record, field=name)

    views = []
    for (pid, source_id, role, org_id, given, middle, family, birth, precision, gender,
         age_band, victim_of, status, decided_by, relationship, age_trafficked,
         perpetrator_of, entity_type, age_at_offence, role_details) in persons:
        victim = None if victim_of is None else {
            "trafficking_status": status, "status_decided_by": decided_by,
            "relationship_to_trafficker": relationship, "age_when_trafficked": age_trafficked,
        }
        perpetrator = None if perpetrator_of is None else {
            "entity_type": entity_type, "age_at_offence": age_at_offence,
            "role_details": clear(role_details, org_id, pid, "perpetrator_context.role_details"),
        }
        views.append(PersonView(
            id=pid, source_record_id=source_id, role=role,
            given_name=clear(given, org_id, pid, "person.given_name"),
            middle_name=clear(middle, org_id, pid, "person.middle_name"),
            family_name=clear(family, org_id, pid, "person.family_name"),
            birth_date=_shown_birth(clear(birth, org_id, pid, "person.birth_date"), precision),
            gender=gender, age_band=age_band, codes=codes[pid],
            victim=victim, perpetrator=perpetrator,
        ))
    events: list[dict[str, Any]] = [
        {"event_type": e_type, "country": country, "admin_area": admin, "city": city,
         "date_from": as_date(start), "date_to": as_date(end),
         "place": clear(place, org_id, eid, "trafficking_event.place")}
        for eid, org_id, e_type, country, admin, city, start, end, place
        in sorted(loads_rows(case.events), key=lambda e: (e[6] is None, e[6] or "", e[0]))
    ]
    referrals = [
        {"direction": direction, "other_organisation": other, "referral_date": as_date(when),
         "reason": reason, "details": clear(details, org_id, rid, "referral.details")}
        for rid, org_id, direction, other, when, reason, details
        in sorted(loads_rows(case.referrals), key=lambda r: (r[4] is None, r[4] or "", r[0]))
    ]
    plans = [
        {"person_id": pid, "plan_type": kind, "planned_end_date": as_date(planned),
         "actual_end_date": as_date(actual)}
        for pid, kind, planned, actual, _ in sorted(loads_rows(case.plans),
                                                    key=lambda p: (p[0], p[4]))
    ]
    consents = [
        {"person_id": pid, "scope": scope_code, "given": bool(given),
         "decided_on": as_date(decided)}
        for pid, scope_code, given, decided, _ in sorted(loads_rows(case.consents),
                                                         key=lambda c: (c[0], c[4]))
    ]
    exploitation = sorted({c for p in views for c in p.codes.get("exploitation_type", [])})
    return CaseDetail(
        summary=CaseSummary(
            id=case.id, source_record_id=case.source_record_id, organisation=case.name,
            status=case.status, registration_date=case.registration_date,
            victims=sum(p.role == "Victim" for p in views),
            perpetrators=sum(p.role == "Perpetrator" for p in views),
            exploitation=exploitation,
            countries=sorted({e["country"] for e in events
                              if e["event_type"] == "Exploitation" and e["country"]}),
        ),
        closure_reason=clear(case.closure_reason, case.organisation_id, case.id,
                             "case_file.closure_reason"),
        case_owner=clear(case.case_owner, case.organisation_id, case.id, "case_file.case_owner"),
        persons=views,
        events=events,
        referrals=referrals,
        support_plans=plans,
        consents=consents,
        provenance={"source_record_id": case.source_record_id,
                    "import_batch_id": case.import_batch_id, "created_at": case.created_at,
                    "created_by": case.created_by, "updated_at": case.updated_at,
                    "updated_by": case.updated_by},
    )


def _shown_birth(iso: str | None, precision: str | None) -> str | None:
    """``1994-01-01`` known to the year is shown as ``1994``, to the month as ``1994-01``."""
    if iso is None:
        return None
    return {"year": iso[:4], "month": iso[:7]}.get(precision or "day", iso)
