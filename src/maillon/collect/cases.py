"""Reading cases back: the filtered case list and one case with everything attached.

Functions take an open :class:`~sqlalchemy.orm.Session` (the caller owns the transaction) and
return plain pydantic-free dataclasses, so the CLI, the JSON API and the HTML pages share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from maillon.core.errors import NotFound
from maillon.store import models as m
from maillon.store.crypto import FieldCipher

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
    return int(session.execute(stmt).scalar_one())


def list_cases(
    session: Session, flt: CaseFilter, *, limit: int = 50, offset: int = 0
) -> list[CaseSummary]:
    """One page of cases, newest registration first, with counts and exploitation types."""
    stmt = _filtered(
        select(m.Case, m.Organisation.name).join(
            m.Organisation, m.Organisation.id == m.Case.organisation_id
        ),
        flt,
    ).order_by(m.Case.registration_date.desc().nulls_last(), m.Case.id).limit(limit).offset(offset)
    rows = session.execute(stmt).all()
    ids = [c.id for c, _ in rows]
    roles: dict[str | None, dict[str, int]] = {i: {} for i in ids}
    exploitation: dict[str | None, list[str]] = {i: [] for i in ids}
    countries: dict[str | None, list[str]] = {i: [] for i in ids}
    if ids:
        for case_id, role, n in session.execute(
            select(m.Person.case_id, m.Person.role, func.count())
            .where(m.Person.case_id.in_(ids)).group_by(m.Person.case_id, m.Person.role)
        ):
            roles[case_id][role] = n
        for case_id, code in session.execute(
            select(m.Person.case_id, m.PersonCode.code).distinct()
            .join(m.PersonCode, m.PersonCode.person_id == m.Person.id)
            .where(m.Person.case_id.in_(ids), m.PersonCode.vocabulary == "exploitation_type")
        ):
            exploitation[case_id].append(code)
        for case_id, country in session.execute(
            select(m.TraffickingEvent.case_id, m.TraffickingEvent.country).distinct()
            .where(m.TraffickingEvent.case_id.in_(ids),
                   m.TraffickingEvent.event_type == "Exploitation",
                   m.TraffickingEvent.country.is_not(None))
        ):
            countries[case_id].append(country or "")
    return [
        CaseSummary(
            id=c.id, source_record_id=c.source_record_id, organisation=org, status=c.status,
            registration_date=c.registration_date, victims=roles[c.id].get("Victim", 0),
            perpetrators=roles[c.id].get("Perpetrator", 0),
            exploitation=sorted(exploitation[c.id]), countries=sorted(countries[c.id]),
        )
        for c, org in rows
    ]


def _plain(obj: Any, *names: str) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names}


_PERSON_COLUMNS = (
    m.Person.id, m.Person.source_record_id, m.Person.role, m.Person.organisation_id,
    m.Person.given_name, m.Person.middle_name, m.Person.family_name, m.Person.birth_date,
    m.Person.birth_date_precision, m.Person.gender, m.Person.age_band,
    m.VictimContext.person_id, m.VictimContext.trafficking_status,
    m.VictimContext.status_decided_by, m.VictimContext.relationship_to_trafficker,
    m.VictimContext.age_when_trafficked,
    m.PerpetratorContext.person_id, m.PerpetratorContext.entity_type,
    m.PerpetratorContext.age_at_offence, m.PerpetratorContext.role_details,
)
"""One row per person with its victim and perpetrator context (outer-joined): a case read is a
handful of column selects, not one ORM entity load per table (it runs on every API read)."""


def get_case(
    session: Session, case_id: str, *, cipher: FieldCipher,
    scope: ColumnElement[bool] | None = None,
) -> CaseDetail:
    """One case with its persons, events, referrals, support plans and consents, decrypted.

    A case outside ``scope`` is :class:`NotFound`, exactly like a case that does not exist.
    The caller decides how much of the decrypted personal data to show (and audits it).
    """
    case_t = m.Case
    stmt = (
        select(case_t.id, case_t.source_record_id, case_t.organisation_id, case_t.status,
               case_t.registration_date, case_t.closure_reason, case_t.case_owner,
               case_t.import_batch_id, case_t.created_at, case_t.created_by,
               case_t.updated_at, case_t.updated_by, m.Organisation.name)
        .join(m.Organisation, m.Organisation.id == case_t.organisation_id)
        .where(case_t.id == case_id)
    )
    if scope is not None:
        stmt = stmt.where(scope)
    case = session.execute(stmt).first()
    if case is None:
        raise NotFound(f"no case {case_id!r}")
    persons = session.execute(
        select(*_PERSON_COLUMNS)
        .outerjoin(m.VictimContext, m.VictimContext.person_id == m.Person.id)
        .outerjoin(m.PerpetratorContext, m.PerpetratorContext.person_id == m.Person.id)
        .where(m.Person.case_id == case_id).order_by(m.Person.role, m.Person.id)
    ).all()
    pids = [p[0] for p in persons]
    codes: dict[str, dict[str, list[str]]] = {p: {} for p in pids}
    for pid, vocabulary, code in session.execute(
        select(m.PersonCode.person_id, m.PersonCode.vocabulary, m.PersonCode.code)
        .where(m.PersonCode.person_id.in_(pids)).order_by(m.PersonCode.code)
    ):
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
    event = m.TraffickingEvent
    events: list[dict[str, Any]] = [
        {"event_type": e_type, "country": country, "admin_area": admin, "city": city,
         "date_from": start, "date_to": end,
         "place": clear(place, org_id, eid, "trafficking_event.place")}
        for eid, org_id, e_type, country, admin, city, start, end, place in session.execute(
            select(event.id, event.organisation_id, event.event_type, event.country,
                   event.admin_area, event.city, event.date_from, event.date_to, event.place)
            .where(event.case_id == case_id).order_by(event.date_from.nulls_last())
        )
    ]
    ref = m.Referral
    referrals = [
        {"direction": direction, "other_organisation": other, "referral_date": when,
         "reason": reason, "details": clear(details, org_id, rid, "referral.details")}
        for rid, org_id, direction, other, when, reason, details in session.execute(
            select(ref.id, ref.organisation_id, ref.direction, ref.other_organisation,
                   ref.referral_date, ref.reason, ref.details).where(ref.case_id == case_id)
        )
    ]
    plan = m.SupportPlan
    plans = [
        dict(row._mapping) for row in session.execute(
            select(plan.person_id, plan.plan_type, plan.planned_end_date, plan.actual_end_date)
            .where(plan.case_id == case_id)
        )
    ]
    consent = m.Consent
    consents = [
        dict(row._mapping) for row in session.execute(
            select(consent.person_id, consent.scope, consent.given, consent.decided_on)
            .where(consent.person_id.in_(pids))
        )
    ] if pids else []
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
