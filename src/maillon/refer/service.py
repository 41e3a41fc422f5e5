"""National referral workflow instances, the services directory and referrals with consent.

The caller owns the transaction (see :func:`maillon.identify.context.write_scope`); every
workflow transition and every referral decision is written to the audit log in it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from maillon.core.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from maillon.core.ids import new_id
from maillon.core.timeutil import utcnow
from maillon.identify.context import Actor, Tools, audit
from maillon.identify.models import Screening
from maillon.identify.service import get_screening
from maillon.refer.models import NrmCase, NrmTransition, ServiceProvider, ServiceReferral
from maillon.refer.workflow import Workflow, get_workflow

SERVICE_TYPES = ("shelter", "medical", "psychological", "legal", "interpretation",
                 "child_protection")
CONSENT = ("given", "not_required_child", "override")
STATUSES = ("sent", "accepted", "rejected", "done")
NEXT_STATUS = {"sent": ("accepted", "rejected"), "accepted": ("done",)}
OPEN_STATUSES = ("sent", "accepted")

SHAREABLE_FIELDS: dict[str, str] = {
    "name": "Name or pseudonym",
    "birth_date": "Date of birth",
    "gender": "Gender",
    "nationality": "Nationality",
    "language": "Language spoken",
    "is_child": "Child",
    "needs": "Needs stated at referral",
    "recommendation": "Screening recommendation and positive dimensions",
    "indicators": "Indicators present",
    "evidence_notes": "Evidence notes",
}
"""Fields a referral may share with the recipient (need-to-know: the sender picks a subset)."""
DEFAULT_FIELDS = ("name", "language", "needs")


# --- workflow ------------------------------------------------------------------------------


@dataclass
class NrmView:
    id: str
    workflow_id: str
    workflow_version: str
    state: str
    state_title: str
    state_since: date
    deadline: date | None
    not_before: date | None
    owner_role: str
    owner: str | None
    is_child: bool
    screening_id: str | None
    organisation_id: str
    available: list[str]
    history: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _nrm_view(session: Session, wf: Workflow, row: NrmCase, *, history: bool = True
              ) -> NrmView:
    steps: list[dict[str, Any]] = []
    if history:
        for t in session.execute(select(NrmTransition).where(
                NrmTransition.nrm_case_id == row.id).order_by(NrmTransition.seq)).scalars():
            steps.append({"seq": t.seq, "transition": t.transition, "from": t.from_state,
                          "to": t.to_state, "on": t.on_date, "actor": t.actor,
                          "has_reason": t.reason is not None})
    state = wf.state(row.state)
    return NrmView(row.id, row.workflow_id, row.workflow_version, row.state, state.title,
                   row.state_since, row.deadline, row.not_before, state.owner, row.owner,
                   row.is_child, row.screening_id, row.organisation_id,
                   [] if state.terminal else [t.name for t in wf.available(row.state)], steps)


def open_nrm_case(session: Session, tools: Tools, actor: Actor, *, on: date,
                  screening_id: str | None = None, is_child: bool = False,
                  owner: str | None = None, workflow_id: str = "uk_nrm") -> NrmView:
    """Start a workflow instance in its initial state (``identified``)."""
    if actor.organisation_id is None:
        raise InvalidInput("a workflow case belongs to an organisation")
    wf = get_workflow(workflow_id)
    if screening_id is not None:
        scr = session.get(Screening, screening_id)
        if scr is None or scr.organisation_id != actor.organisation_id:
            raise NotFound(f"no screening {screening_id}")
        is_child = is_child or scr.is_child
    cid = new_id()
    row = NrmCase(id=cid, organisation_id=actor.organisation_id, created_by=actor.username,
                  updated_by=actor.username, workflow_id=wf.id, workflow_version=wf.version,
                  screening_id=screening_id, is_child=is_child, state=wf.initial,
                  state_since=on, deadline=wf.deadline_for(wf.initial, on),
                  not_before=wf.not_before_for(wf.initial, on), owner=owner or actor.username)
    session.add(row)
    session.add(NrmTransition(nrm_case_id=cid, seq=1, transition="open", from_state=None,
                              to_state=wf.initial, on_date=on, actor=actor.username))
    audit(session, tools, actor, action="create", resource="nrm_case", resource_id=cid,
          detail={"workflow": wf.id, "version": wf.version, "state": wf.initial})
    return _nrm_view(session, wf, row)


def load_nrm_case(session: Session, case_id: str, scope: ColumnElement[bool] | None = None
                  ) -> NrmCase:
    row = session.execute(select(NrmCase).where(
        NrmCase.id == case_id, scope if scope is not None else true())).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no workflow case {case_id}")
    return row


def get_nrm_case(session: Session, case_id: str, scope: ColumnElement[bool] | None = None
                 ) -> NrmView:
    row = load_nrm_case(session, case_id, scope)
    return _nrm_view(session, get_workflow(row.workflow_id), row)


def transition(session: Session, tools: Tools, actor: Actor, case_id: str, name: str, *,
               on: date, reason: str | None = None, owner: str | None = None,
               scope: ColumnElement[bool] | None = None) -> NrmView:
    """Take transition ``name`` on ``on``: refused (409/422) when the workflow forbids it."""
    row = load_nrm_case(session, case_id, scope)
    wf = get_workflow(row.workflow_id)
    if wf.state(row.state).terminal:
        raise Conflict(f"workflow case {case_id} is closed")
    if on < row.state_since:
        raise InvalidInput("a transition cannot be dated before the current state began",
                           [FieldError("before the current state", "on", value=str(on))])
    t = wf.check(row.state, name, on=on, not_before=row.not_before, reason=reason)
    seq = 1 + int(session.execute(select(func.max(NrmTransition.seq)).where(
        NrmTransition.nrm_case_id == case_id)).scalar_one() or 0)
    tid = new_id()
    session.add(NrmTransition(
        id=tid, nrm_case_id=case_id, seq=seq, transition=name, from_state=row.state,
        to_state=t.target, on_date=on, actor=actor.username,
        reason=tools.cipher.encrypt((reason or "").strip() or None,
                                    organisation_id=row.organisation_id, record_id=tid,
                                    field="nrm_transition.reason")))
    previous = row.state
    row.state, row.state_since = t.target, on
    row.deadline = wf.deadline_for(t.target, on)
    row.not_before = wf.not_before_for(t.target, on)
    row.last_reminder_on = None
    row.updated_by, row.updated_at = actor.username, utcnow()
    if owner:
        row.owner = owner
    audit(session, tools, actor, action="update", resource="nrm_case", resource_id=case_id,
          fields=("state",) + (("reason",) if reason else ()),
          detail={"transition": name, "from": previous, "to": t.target, "on": on.isoformat()})
    return _nrm_view(session, wf, row)


@dataclass(frozen=True)
class Due:
    case_id: str
    organisation_id: str
    state: str
    owner_role: str
    owner: str | None
    deadline: date
    days_late: int


def due_cases(session: Session, *, today: date, scope: ColumnElement[bool] | None = None
              ) -> tuple[list[Due], list[Due]]:
    """``(overdue, due_soon)``: open cases past their deadline, and those whose reminder day
    (``remind_before_working_days`` before the deadline) has come."""
    overdue: list[Due] = []
    soon: list[Due] = []
    rows = session.execute(select(NrmCase).where(
        NrmCase.deadline.is_not(None), scope if scope is not None else true())
        .order_by(NrmCase.deadline)).scalars()
    for row in rows:
        wf = get_workflow(row.workflow_id)
        state = wf.state(row.state)
        if state.terminal or row.deadline is None:
            continue
        due = Due(row.id, row.organisation_id, row.state, state.owner, row.owner,
                  row.deadline, (today - row.deadline).days)
        if today > row.deadline:
            overdue.append(due)
        elif today >= wf.remind_on(row.deadline):
            soon.append(due)
    return overdue, soon


# --- services directory --------------------------------------------------------------------


def add_provider(session: Session, tools: Tools, actor: Actor, *, name: str,
                 service_type: str, capacity: int | None = None,
                 organisation_id: str | None = None, country: str | None = None,
                 area: str | None = None, accepts_children: bool = False,
                 contact: str | None = None) -> str:
    errors = []
    if not name.strip():
        errors.append(FieldError("required", "name"))
    if service_type not in SERVICE_TYPES:
        errors.append(FieldError(f"one of {', '.join(SERVICE_TYPES)}", "service_type",
                                 value=service_type))
    if capacity is not None and capacity < 0:
        errors.append(FieldError("zero or more", "capacity", value=str(capacity)))
    if errors:
        raise InvalidInput("the service is not valid", errors)
    if session.execute(select(ServiceProvider.id).where(
            ServiceProvider.name == name.strip())).first():
        raise Conflict(f"a service named {name!r} exists")
    pid = new_id()
    session.add(ServiceProvider(id=pid, name=name.strip(), service_type=service_type,
                                capacity=capacity, organisation_id=organisation_id,
                                country=(country or "").upper()[:2] or None, area=area,
                                accepts_children=accepts_children, contact=contact))
    audit(session, tools, actor, action="create", resource="service_provider",
          resource_id=pid, detail={"service_type": service_type})
    return pid


def in_use(session: Session, provider_id: str) -> int:
    return int(session.execute(select(func.count()).select_from(ServiceReferral).where(
        ServiceReferral.provider_id == provider_id,
        ServiceReferral.status == "accepted")).scalar_one())


def list_providers(session: Session, *, service_type: str | None = None
                   ) -> list[dict[str, Any]]:
    """Active services with capacity and places in use (accepted, not yet done, referrals)."""
    used = (select(ServiceReferral.provider_id, func.count().label("n"))
            .where(ServiceReferral.status == "accepted")
            .group_by(ServiceReferral.provider_id).subquery())
    stmt = (select(ServiceProvider, func.coalesce(used.c.n, 0))
            .outerjoin(used, used.c.provider_id == ServiceProvider.id)
            .where(ServiceProvider.active.is_(True)).order_by(ServiceProvider.name))
    if service_type:
        stmt = stmt.where(ServiceProvider.service_type == service_type)
    out = []
    for p, n in session.execute(stmt).all():
        out.append({"id": p.id, "name": p.name, "service_type": p.service_type,
                    "capacity": p.capacity, "in_use": int(n),
                    "available": None if p.capacity is None else max(0, p.capacity - int(n)),
                    "country": p.country, "area": p.area, "accepts_children": p.accepts_children,
                    "has_account": p.organisation_id is not None, "contact": p.contact})
    return out


# --- referrals -----------------------------------------------------------------------------


def build_data_set(view: Any, fields: Sequence[str], needs: str | None) -> dict[str, Any]:
    """The referral's data set: only the chosen ``fields`` of the screening ``view``."""
    positive = [d["code"] for d in view.result.get("dimensions", []) if d.get("positive")]
    present = sorted(c for c, a in view.answers.items() if a.get("present"))
    notes = {c: a["note"] for c, a in view.answers.items() if a.get("note")}
    everything: dict[str, Any] = {
        "name": view.subject.get("label"), "birth_date": view.subject.get("birth_date"),
        "gender": view.subject.get("gender"), "nationality": view.subject.get("nationality"),
        "language": view.subject.get("language"), "is_child": view.is_child,
        "needs": (needs or "").strip() or None,
        "recommendation": {"recommendation": view.recommendation,
                           "framework": f"{view.framework_id} {view.framework_version}",
                           "positive_dimensions": positive},
        "indicators": present, "evidence_notes": notes,
    }
    return {f: everything[f] for f in fields}


def create_referral(
    session: Session, tools: Tools, actor: Actor, *, screening_id: str, provider_id: str,
    fields: Sequence[str], consent: str, needs: str | None = None,
    override_reason: str | None = None, may_override: bool = False,
    scope: ColumnElement[bool] | None = None,
) -> str:
    """Refer the screened person to a service.

    Consent gate: ``given`` (recorded consent), ``not_required_child`` (only for a child) or
    ``override`` (only with ``may_override`` and a reason; audited as such). The recipient's
    copy holds only ``fields``, encrypted with the recipient organisation's key.
    """
    errors = []
    unknown = [f for f in fields if f not in SHAREABLE_FIELDS]
    if unknown:
        errors += [FieldError("not a shareable field", "fields", value=f) for f in unknown]
    if not fields:
        errors.append(FieldError("choose at least one field to share", "fields"))
    if consent not in CONSENT:
        errors.append(FieldError("consent is required before referring: " + ", ".join(CONSENT),
                                 "consent", value=consent or ""))
    if errors:
        raise InvalidInput("the referral is not valid", errors)
    provider = session.get(ServiceProvider, provider_id)
    if provider is None or not provider.active:
        raise NotFound(f"no service {provider_id}")
    view = get_screening(session, tools, actor, screening_id, scope=scope, audited=False)
    if consent == "not_required_child" and not view.is_child:
        raise InvalidInput("consent is required for an adult",
                           [FieldError("the person is not a child", "consent", value=consent)])
    if consent == "override":
        if not may_override:
            raise PermissionDenied("not allowed to refer without consent")
        if not (override_reason or "").strip():
            raise InvalidInput("an override needs a reason",
                               [FieldError("required with an override", "override_reason")])
    ordered = [f for f in SHAREABLE_FIELDS if f in set(fields)]
    data = build_data_set(view, ordered, needs)
    recipient = provider.organisation_id or actor.organisation_id
    rid = new_id()
    session.add(ServiceReferral(
        id=rid, organisation_id=view.organisation_id, created_by=actor.username,
        updated_by=actor.username, screening_id=screening_id, provider_id=provider_id,
        recipient_organisation_id=provider.organisation_id, consent=consent,
        override_reason=tools.cipher.encrypt(
            (override_reason or "").strip() or None, organisation_id=view.organisation_id,
            record_id=rid, field="service_referral.override_reason"),
        shared_fields=",".join(ordered),
        payload=tools.cipher.encrypt(json.dumps(data, ensure_ascii=False),
                                     organisation_id=recipient, record_id=rid,
                                     field="service_referral.payload"),
    ))
    audit(session, tools, actor, action="create", resource="service_referral",
          resource_id=rid, fields=tuple(ordered),
          detail={"provider": provider_id, "consent": consent, "screening": screening_id})
    if consent == "override":
        audit(session, tools, actor, action="consent_override", resource="service_referral",
              resource_id=rid, fields=("override_reason",))
    return rid


@dataclass
class ReferralView:
    id: str
    provider: str
    service_type: str
    status: str
    consent: str
    shared_fields: list[str]
    data: dict[str, Any] | None
    created_at: datetime
    created_by: str
    status_note: str | None
    decided_by: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ref_view(tools: Tools, row: ServiceReferral, provider: ServiceProvider, *,
              with_data: bool, reader_org: str | None) -> ReferralView:
    data = None
    if with_data and row.payload is not None:
        key_org = row.recipient_organisation_id or row.organisation_id
        if reader_org == key_org:
            data = json.loads(tools.cipher.decrypt(row.payload, organisation_id=key_org,
                                                   record_id=row.id,
                                                   field="service_referral.payload"))
    return ReferralView(row.id, provider.name, provider.service_type, row.status, row.consent,
                        row.shared_fields.split(",") if row.shared_fields else [], data,
                        row.created_at, row.created_by, row.status_note, row.decided_by)


def outgoing_referrals(session: Session, tools: Tools, *, scope: ColumnElement[bool],
                       screening_id: str | None = None) -> list[ReferralView]:
    """Referrals the caller's organisation sent (no data set: the sender has the screening)."""
    stmt = (select(ServiceReferral, ServiceProvider)
            .join(ServiceProvider, ServiceProvider.id == ServiceReferral.provider_id)
            .where(scope).order_by(ServiceReferral.created_at.desc()))
    if screening_id:
        stmt = stmt.where(ServiceReferral.screening_id == screening_id)
    return [_ref_view(tools, r, p, with_data=False, reader_org=None)
            for r, p in session.execute(stmt).all()]


def incoming_referrals(session: Session, tools: Tools, actor: Actor) -> list[ReferralView]:
    """Referrals addressed to the actor's organisation, with only the permitted fields."""
    stmt = (select(ServiceReferral, ServiceProvider)
            .join(ServiceProvider, ServiceProvider.id == ServiceReferral.provider_id)
            .where(ServiceReferral.recipient_organisation_id == actor.organisation_id)
            .order_by(ServiceReferral.created_at.desc()))
    views = [_ref_view(tools, r, p, with_data=True, reader_org=actor.organisation_id)
             for r, p in session.execute(stmt).all()]
    for v in views:
        audit(session, tools, actor, action="read", resource="service_referral",
              resource_id=v.id, fields=tuple(v.shared_fields))
    return views


def set_referral_status(session: Session, tools: Tools, actor: Actor, referral_id: str,
                        status: str, *, note: str | None = None) -> ReferralView:
    """The recipient accepts, rejects or completes a referral addressed to it."""
    row = session.execute(select(ServiceReferral).where(and_(
        ServiceReferral.id == referral_id,
        ServiceReferral.recipient_organisation_id == actor.organisation_id))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no referral {referral_id} addressed to your organisation")
    if status not in NEXT_STATUS.get(row.status, ()):
        raise Conflict(f"a referral that is {row.status} cannot become {status}")
    provider = session.get(ServiceProvider, row.provider_id)
    if provider is None:  # pragma: no cover - foreign key
        raise NotFound(f"no service {row.provider_id}")
    if status == "accepted" and provider.capacity is not None and in_use(
            session, provider.id) >= provider.capacity:
        raise Conflict(f"{provider.name} has no free place (capacity {provider.capacity})")
    row.status, row.status_note = status, (note or "").strip()[:500] or None
    row.decided_by, row.decided_at = actor.username, utcnow()
    audit(session, tools, actor, action="update", resource="service_referral",
          resource_id=referral_id, fields=("status",), detail={"status": status})
    return _ref_view(tools, row, provider, with_data=False, reader_org=None)
