"""Screenings and hotline calls: record, read (decrypted, in the caller's scope), list.

Functions take the caller's session (the caller owns the transaction, see
:func:`maillon.identify.context.write_scope`), the :class:`Tools` (cipher, audit log) and the
:class:`Actor`. Every write and every read of personal content is audited (field names only).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from maillon.core.errors import FieldError, InvalidInput, NotFound
from maillon.core.ids import new_id
from maillon.core.timeutil import utcnow
from maillon.identify.context import Actor, Tools, audit
from maillon.identify.delphi import evaluate
from maillon.identify.frameworks import Framework, get_framework
from maillon.identify.models import HotlineCall, Screening

CHILD_AGE = 18
CALLER_TYPES = ("victim", "witness", "relative", "professional", "anonymous", "other")
CHANNELS = ("phone", "text", "email", "chat", "in_person")
MAX_NOTE = 2000


@dataclass(frozen=True)
class Subject:
    """Who is screened. ``label`` is a name or a pseudonym; the rest is optional."""

    label: str
    birth_date: date | None = None
    gender: str | None = None
    nationality: str | None = None
    language: str | None = None
    age_uncertain: bool = False


@dataclass(frozen=True)
class Answer:
    present: bool
    note: str = ""


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def is_child(subject: Subject, on: date) -> bool:
    """Child path when under 18 on the screening day, or when the age is uncertain and there
    are reasons to believe the person is a child (presumption of minority, Directive
    2011/36/EU art. 13(2)). An adult birth date wins over the uncertainty flag."""
    if subject.birth_date is not None:
        return age_on(subject.birth_date, on) < CHILD_AGE
    return subject.age_uncertain


@dataclass
class ScreeningView:
    id: str
    framework_id: str
    framework_version: str
    framework_title: str
    locale: str
    subject: dict[str, Any]
    is_child: bool
    child_act: bool
    answers: dict[str, dict[str, Any]]
    result: dict[str, Any]
    recommendation: str
    screener: str
    screened_at: datetime
    organisation_id: str
    place: str | None = None
    hotline_call_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _enc(tools: Tools, value: str | None, org: str | None, rid: str, name: str) -> str | None:
    return tools.cipher.encrypt(value, organisation_id=org, record_id=rid, field=name)


def _dec(tools: Tools, value: str | None, org: str | None, rid: str, name: str) -> str | None:
    return tools.cipher.decrypt(value, organisation_id=org, record_id=rid, field=name)


def usable_framework(framework_id: str) -> Framework:
    fw = get_framework(framework_id)
    if not fw.complete:
        raise InvalidInput(
            f"framework {fw.id} is incomplete ({fw.to_complete}); choose another",
            [FieldError("framework is incomplete", "framework_id", value=framework_id)])
    return fw


def check_answers(fw: Framework, answers: Mapping[str, Answer]) -> None:
    errors = [FieldError("not an indicator of this framework", "answers", value=code)
              for code in answers if fw.indicator(code) is None]
    errors += [FieldError(f"evidence note longer than {MAX_NOTE} characters", code)
               for code, a in answers.items() if len(a.note) > MAX_NOTE]
    if errors:
        raise InvalidInput("the answers do not match the framework", errors)


def record_screening(
    session: Session, tools: Tools, actor: Actor, *, framework_id: str, subject: Subject,
    answers: Mapping[str, Answer], child_act: bool = False, locale: str = "en",
    place: str | None = None, hotline_call_id: str | None = None, on: datetime | None = None,
) -> ScreeningView:
    """Evaluate the answers under the framework and store the screening with its result."""
    if not subject.label.strip():
        raise InvalidInput("a name or pseudonym is required",
                           [FieldError("required", "subject_label")])
    if actor.organisation_id is None:
        raise InvalidInput("a screening belongs to an organisation")
    fw = usable_framework(framework_id)
    check_answers(fw, answers)
    when = on or utcnow()
    child = is_child(subject, when.date())
    rec = evaluate(fw, [c for c, a in answers.items() if a.present], child=child,
                   act=child_act)
    org, sid = actor.organisation_id, new_id()
    answers_json = json.dumps({c: {"present": a.present, "note": a.note.strip()}
                               for c, a in answers.items() if a.present or a.note.strip()},
                              ensure_ascii=False, sort_keys=True)
    row = Screening(
        id=sid, organisation_id=org, created_by=actor.username, updated_by=actor.username,
        framework_id=fw.id, framework_version=fw.version, locale=locale,
        subject_label=_enc(tools, subject.label.strip(), org, sid, "screening.subject_label"),
        subject_birth_date=_enc(tools, subject.birth_date.isoformat()
                                if subject.birth_date else None, org, sid,
                                "screening.subject_birth_date"),
        subject_gender=subject.gender or None,
        subject_nationality=(subject.nationality or "").upper()[:2] or None,
        subject_language=subject.language or None, is_child=child, child_act=child_act,
        answers=_enc(tools, answers_json, org, sid, "screening.answers"),
        result=_enc(tools, json.dumps(rec.as_dict(), ensure_ascii=False), org, sid,
                    "screening.result"),
        recommendation=rec.recommendation, place=place or None,
        hotline_call_id=hotline_call_id, screened_at=when,
    )
    session.add(row)
    audit(session, tools, actor, action="create", resource="screening", resource_id=sid,
          fields=("subject_label", "subject_birth_date", "answers", "result"),
          detail={"framework": fw.id, "version": fw.version,
                  "recommendation": rec.recommendation})
    return _view(tools, row, fw)


def _view(tools: Tools, row: Screening, fw: Framework | None = None) -> ScreeningView:
    org, sid = row.organisation_id, row.id
    birth = _dec(tools, row.subject_birth_date, org, sid, "screening.subject_birth_date")
    answers = json.loads(_dec(tools, row.answers, org, sid, "screening.answers") or "{}")
    result = json.loads(_dec(tools, row.result, org, sid, "screening.result") or "{}")
    try:
        title = (fw or get_framework(row.framework_id)).title
    except NotFound:
        title = row.framework_id
    return ScreeningView(
        id=sid, framework_id=row.framework_id, framework_version=row.framework_version,
        framework_title=title, locale=row.locale,
        subject={"label": _dec(tools, row.subject_label, org, sid, "screening.subject_label"),
                 "birth_date": birth, "gender": row.subject_gender,
                 "nationality": row.subject_nationality, "language": row.subject_language},
        is_child=row.is_child, child_act=row.child_act, answers=answers, result=result,
        recommendation=row.recommendation or "", screener=row.created_by,
        screened_at=row.screened_at, organisation_id=org, place=row.place,
        hotline_call_id=row.hotline_call_id,
    )


def load_screening(session: Session, screening_id: str,
                   scope: ColumnElement[bool] | None = None) -> Screening:
    row = session.execute(select(Screening).where(
        Screening.id == screening_id, scope if scope is not None else true())
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no screening {screening_id}")
    return row


def get_screening(session: Session, tools: Tools, actor: Actor, screening_id: str, *,
                  scope: ColumnElement[bool] | None = None, audited: bool = True
                  ) -> ScreeningView:
    """One screening, decrypted; outside ``scope`` it is :class:`NotFound`. The read is
    audited (in the session's transaction: commit it)."""
    row = load_screening(session, screening_id, scope)
    view = _view(tools, row)
    if audited:
        audit(session, tools, actor, action="read", resource="screening",
              resource_id=screening_id, fields=("subject_label", "answers"))
    return view


@dataclass(frozen=True)
class ScreeningSummary:
    id: str
    framework_id: str
    framework_version: str
    recommendation: str
    is_child: bool
    screener: str
    screened_at: datetime


def list_screenings(session: Session, *, scope: ColumnElement[bool] | None = None,
                    limit: int = 100) -> list[ScreeningSummary]:
    """Newest first, no personal content (no decryption, no audit)."""
    rows = session.execute(
        select(Screening).where(scope if scope is not None else true())
        .order_by(Screening.screened_at.desc()).limit(limit)).scalars()
    return [ScreeningSummary(r.id, r.framework_id, r.framework_version, r.recommendation or "",
                             r.is_child, r.created_by, r.screened_at) for r in rows]



# --- hotline -------------------------------------------------------------------------------


def record_hotline_call(
    session: Session, tools: Tools, actor: Actor, *, caller_type: str, summary: str,
    channel: str = "phone", language: str | None = None, country: str | None = None,
    exploitation_type: str | None = None, urgent: bool = False, contact: str | None = None,
) -> str:
    """A minimal record of a call; returns its id."""
    errors = []
    if caller_type not in CALLER_TYPES:
        errors.append(FieldError(f"one of {', '.join(CALLER_TYPES)}", "caller_type",
                                 value=caller_type))
    if channel not in CHANNELS:
        errors.append(FieldError(f"one of {', '.join(CHANNELS)}", "channel", value=channel))
    if not summary.strip():
        errors.append(FieldError("required", "summary"))
    if len(summary) > 4000:
        errors.append(FieldError("at most 4000 characters", "summary"))
    if errors:
        raise InvalidInput("the call record is not valid", errors)
    if actor.organisation_id is None:
        raise InvalidInput("a call belongs to an organisation")
    org, cid = actor.organisation_id, new_id()
    session.add(HotlineCall(
        id=cid, organisation_id=org, created_by=actor.username, updated_by=actor.username,
        channel=channel, caller_type=caller_type, language=language or None,
        country=(country or "").upper()[:2] or None, exploitation_type=exploitation_type or None,
        urgent=urgent, summary=_enc(tools, summary.strip(), org, cid, "hotline_call.summary"),
        contact=_enc(tools, (contact or "").strip() or None, org, cid, "hotline_call.contact"),
    ))
    audit(session, tools, actor, action="create", resource="hotline_call", resource_id=cid,
          fields=("summary", "contact"), detail={"urgent": urgent, "caller_type": caller_type})
    return cid


def list_hotline_calls(session: Session, *, scope: ColumnElement[bool] | None = None,
                       limit: int = 100) -> list[dict[str, Any]]:
    rows = session.execute(select(HotlineCall).where(scope if scope is not None else true())
                           .order_by(HotlineCall.received_at.desc()).limit(limit)).scalars()
    return [{"id": r.id, "received_at": r.received_at, "caller_type": r.caller_type,
             "channel": r.channel, "urgent": r.urgent, "status": r.status,
             "country": r.country, "created_by": r.created_by} for r in rows]
