"""The alert queue in the operational store: loading, listing, assignment, statuses, notes.

Permissions (``roles.yaml``, resource ``alert``): ``read`` to list and open alerts, ``update``
to assign, change the status or add a note, ``export`` for the goAML draft. Scopes are applied
in the SQL query (:func:`maillon.auth.permissions.scope_filter`): ``organisation`` = every alert
of the caller's organisation; ``own`` (analysts' ``update``) = alerts assigned to the caller or
not assigned yet. An alert of another organisation is "not found" (404), never "forbidden".

Statuses: ``new -> assigned -> investigating -> escalated -> reported``, and ``closed`` from any
open status; ``closed -> investigating`` reopens an alert. Escalating, closing and reopening need
a reason. The reason and the notes are free text that
may name persons, so they are stored encrypted with the organisation's data key
(``FieldCipher``, fields ``money_alert.status_reason`` and ``money_alert_note.body``). Every
change, every load, every read of a detail and every export is written to the audit log
(field names and ids only, never the text).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, select, update

from maillon.auth.permissions import Principal, allowed, require, scope_filter
from maillon.core.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from maillon.core.ids import new_id
from maillon.core.settings import Settings
from maillon.core.timeutil import utcnow
from maillon.money.models import STATUSES, MoneyAlert, MoneyAlertNote
from maillon.store.api import Store
from maillon.store.audit import AuditLog
from maillon.store.base import table_of
from maillon.store.crypto import FieldCipher

ALERT = table_of(MoneyAlert)
NOTE = table_of(MoneyAlertNote)
REASON_FIELD = "money_alert.status_reason"
NOTE_FIELD = "money_alert_note.body"
MAX_NOTE = 5000
MAX_ROWS_PER_INDICATOR = 25

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("assigned", "investigating", "closed"),
    "assigned": ("investigating", "closed"),
    "investigating": ("escalated", "closed"),
    "escalated": ("reported", "investigating", "closed"),
    "reported": ("closed",),
    "closed": ("investigating",),
}
"""Allowed status changes; ``closed -> investigating`` is a reopening (see :data:`REOPEN`)."""
NEEDS_REASON = ("escalated", "closed")
"""Statuses that need a reason to be entered (reopening needs one too)."""
REOPEN = ("closed", "investigating")
"""The reopening transition: needs a reason; the closing reason is kept as a note."""
REOPENED_NOTE = "Closing reason, kept when the alert was reopened: "


@dataclass
class Note:
    id: str
    author: str
    body: str
    created_at: datetime


@dataclass
class AlertView:
    id: str
    alert_ref: str
    dataset: str
    account_id: str
    accounts: list[str]
    score: float
    indicators: list[dict[str, Any]]
    status: str
    assigned_to: str | None
    created_at: datetime
    updated_at: datetime
    updated_by: str
    status_reason: str | None = None
    notes: list[Note] = field(default_factory=list)
    can_update: bool = False
    next_statuses: tuple[str, ...] = ()

    def as_dict(self, *, detail: bool = True) -> dict[str, Any]:
        body = asdict(self)
        if not detail:
            for key in ("status_reason", "notes", "indicators"):
                body.pop(key)
            body["indicators"] = [i["id"] for i in self.indicators]
        return body

    def as_alert(self) -> dict[str, Any]:
        """The alert as in ``alerts.jsonl`` (for goAML and the network graph)."""
        return {"alert_id": self.alert_ref, "account_id": self.account_id,
                "accounts": self.accounts, "score": self.score, "indicators": self.indicators}


@dataclass(frozen=True)
class LoadReport:
    loaded: int
    skipped: int
    organisation_id: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- loading ---------------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def evidence_rows(dataset_path: Path, alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The evidence transactions of ``alerts`` read from a dataset folder: txn_id -> row."""
    from maillon.money.model import Dataset

    ids = sorted({t for a in alerts for i in a.get("indicators", [])
                  for t in (i.get("evidence") or {}).get("transactions", [])[
                      :MAX_ROWS_PER_INDICATOR]})
    if not ids:
        return {}
    con = Dataset(dataset_path).connect()
    try:
        cur = con.execute(
            "SELECT txn_id, ts, src_account, dst_account, amount, currency, channel, mcc, "
            "merchant, city, country, counterparty_country FROM transactions "
            "WHERE txn_id IN (SELECT unnest(?))", [ids])
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        con.close()
    return {str(r[0]): {c: _jsonable(v) for c, v in zip(cols, r, strict=True)} for r in rows}


def _check_alert(n: int, alert: Any) -> list[FieldError]:
    problems = []
    if not isinstance(alert, dict):
        return [FieldError(row=n, field="alert", reason="not a JSON object")]
    for key, kind in (("alert_id", str), ("account_id", str), ("score", (int, float)),
                      ("indicators", list)):
        if not isinstance(alert.get(key), kind):
            problems.append(FieldError(row=n, field=key, value=str(alert.get(key))[:60],
                                       reason="missing or of the wrong type"))
    if isinstance(alert.get("alert_id"), str) and len(alert["alert_id"]) > 64:
        problems.append(FieldError(row=n, field="alert_id", reason="longer than 64 characters"))
    return problems


def read_alerts_file(path: Path) -> list[dict[str, Any]]:
    """Alerts of an ``alerts.jsonl`` file, every line checked; InvalidInput lists bad lines."""
    alerts: list[dict[str, Any]] = []
    problems: list[FieldError] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                alert = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(FieldError(row=n, field="line", reason=f"not JSON: {exc.msg}"))
                continue
            found = _check_alert(n, alert)
            problems.extend(found)
            if not found:
                alerts.append(alert)
    if problems:
        raise InvalidInput(f"{path.name}: {len(problems)} problems, nothing loaded", problems)
    return alerts


def load_alerts(conn: Connection, alerts: Iterable[dict[str, Any]], *, organisation_id: str,
                actor: str, audit: AuditLog, source: str = "cli", dataset: str = "",
                rows: dict[str, dict[str, Any]] | None = None) -> LoadReport:
    """Put scan alerts into ``organisation_id``'s queue as ``new``; an alert already there
    (same ``alert_id``) is skipped. ``rows`` (txn_id -> transaction) are copied into each
    indicator's evidence as ``rows`` so the detail page needs no access to the dataset."""
    existing = set(conn.execute(select(ALERT.c.alert_ref).where(
        ALERT.c.organisation_id == organisation_id)).scalars())
    now = utcnow()
    values = []
    skipped = 0
    for alert in alerts:
        ref = str(alert["alert_id"])
        if ref in existing:
            skipped += 1
            continue
        existing.add(ref)
        indicators = []
        for ind in alert["indicators"]:
            ind = dict(ind)
            ev = dict(ind.get("evidence") or {})
            if rows:
                ev["rows"] = [rows[t] for t in ev.get("transactions", [])[
                    :MAX_ROWS_PER_INDICATOR] if t in rows]
            ind["evidence"] = ev
            indicators.append(ind)
        values.append({
            "id": new_id(), "organisation_id": organisation_id, "alert_ref": ref,
            "dataset": dataset[:200], "account_id": str(alert["account_id"])[:200],
            "accounts": [str(a) for a in alert.get("accounts") or [alert["account_id"]]],
            "score": float(alert["score"]), "indicators": indicators, "status": "new",
            "assigned_to": None, "status_reason": None, "created_at": now, "created_by": actor,
            "updated_at": now, "updated_by": actor})
    if values:
        conn.execute(insert(ALERT), values)
    audit.append(conn, actor=actor, action="create", resource="alert", source=source,
                 detail={"loaded": len(values), "skipped": skipped, "dataset": dataset[:200]},
                 actor_organisation_id=organisation_id)
    return LoadReport(len(values), skipped, organisation_id)


# -- reading ---------------------------------------------------------------------------------

def _owner(principal: Principal) -> ColumnElement[str]:
    """The "own" column: an alert is the caller's when assigned to them or not yet assigned."""
    return func.coalesce(ALERT.c.assigned_to, principal.username)


def _visible(principal: Principal, action: str) -> ColumnElement[bool]:
    return scope_filter(principal, "alert", action, owner_column=_owner(principal),
                        organisation_column=ALERT.c.organisation_id)


def _view(row: Any, principal: Principal, *, can_update: bool) -> AlertView:
    return AlertView(
        id=row.id, alert_ref=row.alert_ref, dataset=row.dataset, account_id=row.account_id,
        accounts=list(row.accounts or []), score=row.score, indicators=list(row.indicators or []),
        status=row.status, assigned_to=row.assigned_to, created_at=row.created_at,
        updated_at=row.updated_at, updated_by=row.updated_by, can_update=can_update,
        next_statuses=TRANSITIONS.get(row.status, ()) if can_update else ())


@dataclass(frozen=True)
class AlertFilter:
    status: str | None = None
    assigned_to: str | None = None
    """a username, or ``-`` for unassigned alerts"""
    account: str | None = None
    indicator: str | None = None
    min_score: float | None = None
    limit: int = 100
    offset: int = 0


def list_alerts(conn: Connection, principal: Principal, flt: AlertFilter | None = None
                ) -> tuple[list[AlertView], int]:
    """The alerts the caller may read, best score first, and how many match in all."""
    require(principal, "alert", "read")
    flt = flt or AlertFilter()
    where = [_visible(principal, "read")]
    if flt.status:
        if flt.status not in STATUSES:
            raise InvalidInput("unknown status", [FieldError(field="status", value=flt.status,
                                                             reason=f"one of {STATUSES}")])
        where.append(ALERT.c.status == flt.status)
    if flt.assigned_to == "-":
        where.append(ALERT.c.assigned_to.is_(None))
    elif flt.assigned_to:
        where.append(ALERT.c.assigned_to == flt.assigned_to.lower())
    if flt.account:
        where.append(ALERT.c.account_id == flt.account)
    if flt.min_score is not None:
        where.append(ALERT.c.score >= flt.min_score)
    total = conn.execute(select(func.count()).select_from(ALERT).where(*where)).scalar_one()
    rows = conn.execute(select(ALERT, _visible(principal, "update").label("may_update"))
                        .where(*where)
                        .order_by(ALERT.c.score.desc(), ALERT.c.created_at, ALERT.c.id)
                        .limit(max(1, min(flt.limit, 500))).offset(max(0, flt.offset))).all()
    views = [_view(r, principal, can_update=bool(r.may_update)) for r in rows]
    if flt.indicator:  # JSON search is not portable: filter the page (ids are not personal)
        views = [v for v in views if any(i["id"] == flt.indicator for i in v.indicators)]
    return views, int(total)


def _row(conn: Connection, principal: Principal, alert_id: str) -> Any:
    require(principal, "alert", "read")
    row = conn.execute(select(ALERT, _visible(principal, "update").label("may_update"))
                       .where(ALERT.c.id == alert_id, _visible(principal, "read"))).first()
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return row


def get_alert(conn: Connection, principal: Principal, alert_id: str, *, cipher: FieldCipher,
              audit: AuditLog | None = None, source: str = "") -> AlertView:
    """One alert with its decrypted reason and notes; 404 outside the caller's scope."""
    row = _row(conn, principal, alert_id)
    view = _view(row, principal, can_update=bool(row.may_update))
    view.status_reason = cipher.decrypt(row.status_reason, organisation_id=row.organisation_id,
                                        record_id=row.id, field=REASON_FIELD)
    notes = conn.execute(select(NOTE).where(NOTE.c.alert_id == row.id)
                         .order_by(NOTE.c.created_at, NOTE.c.id)).all()
    view.notes = [Note(n.id, n.author, cipher.decrypt(n.body, organisation_id=row.organisation_id,
                                                      record_id=n.id, field=NOTE_FIELD),
                       n.created_at) for n in notes]
    if audit is not None:
        audit.append(conn, actor=principal.username, action="read", resource="alert",
                     resource_id=row.id, fields=(REASON_FIELD, NOTE_FIELD), source=source,
                     detail={"notes": len(notes)},
                     actor_organisation_id=principal.organisation_id)
    return view


# -- changing --------------------------------------------------------------------------------

def _updatable(conn: Connection, principal: Principal, alert_id: str) -> Any:
    row = _row(conn, principal, alert_id)  # 404 first: never reveal other organisations
    if not row.may_update:
        raise PermissionDenied("not allowed to change this alert")
    return row


def update_alert(conn: Connection, principal: Principal, alert_id: str, *,
                 status: str | None = None, assigned_to: str | None = None,
                 reason: str | None = None, cipher: FieldCipher, audit: AuditLog,
                 source: str = "") -> AlertView:
    """Assign and/or move an alert to another status (see :data:`TRANSITIONS`); audited.

    Assigning a ``new`` alert makes it ``assigned``; an analyst (``own`` scope) may only assign
    alerts to themselves. ``assigned_to=""`` un-assigns (organisation scope only).
    """
    scope = require(principal, "alert", "update")
    row = _updatable(conn, principal, alert_id)
    changes: dict[str, Any] = {}
    problems: list[FieldError] = []
    new_assignee = row.assigned_to
    if assigned_to is not None:
        new_assignee = assigned_to.strip().lower() or None
        if scope == "own" and new_assignee not in (principal.username, None):
            raise PermissionDenied("you may only assign alerts to yourself")
        if scope == "own" and new_assignee is None and row.assigned_to is not None:
            raise PermissionDenied("only a supervisor may un-assign an alert")
        if new_assignee is not None:
            from maillon.auth.models import User

            known = conn.execute(select(User.id).where(
                User.username == new_assignee,
                User.organisation_id == principal.organisation_id)).first()
            if known is None:
                problems.append(FieldError(field="assigned_to", value=new_assignee,
                                           reason="no such user in your organisation"))
        if new_assignee != row.assigned_to:
            changes["assigned_to"] = [row.assigned_to, new_assignee]
    new_status = row.status
    if status is not None and status != row.status:
        if status not in STATUSES:
            problems.append(FieldError(field="status", value=status,
                                       reason=f"one of {', '.join(STATUSES)}"))
        elif status not in TRANSITIONS[row.status]:
            problems.append(FieldError(field="status", value=status,
                                       reason=f"not allowed from {row.status}; allowed: "
                                              f"{', '.join(TRANSITIONS[row.status]) or 'none'}"))
        new_status = status
    elif new_assignee and row.status == "new" and "assigned_to" in changes:
        new_status = "assigned"
    if new_status in ("assigned", "investigating") and new_assignee is None:
        if new_status == "investigating" and "assigned_to" not in changes:
            new_assignee = principal.username  # whoever starts investigating takes it
            changes["assigned_to"] = [row.assigned_to, new_assignee]
        else:
            problems.append(FieldError(field="assigned_to", reason=f"{new_status} needs an "
                                                                   "assignee"))
    reason = (reason or "").strip()
    reopening = (row.status, new_status) == REOPEN
    if reopening and not reason:
        problems.append(FieldError(field="reason", reason="a reason is required to reopen "
                                                          "a closed alert"))
    elif new_status != row.status and new_status in NEEDS_REASON and not reason:
        problems.append(FieldError(field="reason", reason=f"a reason is required to mark "
                                                          f"an alert {new_status}"))
    if len(reason) > MAX_NOTE:
        problems.append(FieldError(field="reason", reason=f"longer than {MAX_NOTE} characters"))
    if problems:
        raise InvalidInput("the change is not valid", problems)
    if new_status != row.status:
        changes["status"] = [row.status, new_status]
    values: dict[str, Any] = {"status": new_status, "assigned_to": new_assignee,
                              "updated_at": utcnow(), "updated_by": principal.username}
    fields = [f"money_alert.{k}" for k in changes]
    if reason and (new_status in NEEDS_REASON or reopening) and "status" in changes:
        values["status_reason"] = cipher.encrypt(reason, organisation_id=row.organisation_id,
                                                 record_id=row.id, field=REASON_FIELD)
        fields.append(REASON_FIELD)
    if changes:
        conn.execute(update(ALERT).where(ALERT.c.id == row.id).values(**values))
        detail: dict[str, Any] = {**changes, "reopened": True} if reopening else changes
        audit.append(conn, actor=principal.username, action="update", resource="alert",
                     resource_id=row.id, fields=fields, source=source, detail=detail,
                     actor_organisation_id=principal.organisation_id,
                     old_values={REASON_FIELD: row.status_reason}
                     if REASON_FIELD in fields and row.status_reason else None)
        if reopening and row.status_reason:
            closing = cipher.decrypt(row.status_reason, organisation_id=row.organisation_id,
                                     record_id=row.id, field=REASON_FIELD)
            if closing:
                add_note(conn, principal, alert_id, (REOPENED_NOTE + closing)[:MAX_NOTE],
                         cipher=cipher, audit=audit, source=source)
    return get_alert(conn, principal, alert_id, cipher=cipher)


def add_note(conn: Connection, principal: Principal, alert_id: str, body: str, *,
             cipher: FieldCipher, audit: AuditLog, source: str = "") -> Note:
    """An encrypted note on an alert the caller may change; audited (no text in the log)."""
    require(principal, "alert", "update")
    row = _updatable(conn, principal, alert_id)
    body = (body or "").strip()
    if not body or len(body) > MAX_NOTE:
        raise InvalidInput("the note is not valid", [FieldError(
            field="body", reason=f"between 1 and {MAX_NOTE} characters")])
    note_id = new_id()
    now = utcnow()
    conn.execute(insert(NOTE).values(
        id=note_id, alert_id=row.id, author=principal.username, created_at=now,
        body=cipher.encrypt(body, organisation_id=row.organisation_id, record_id=note_id,
                            field=NOTE_FIELD)))
    conn.execute(update(ALERT).where(ALERT.c.id == row.id).values(
        updated_at=now, updated_by=principal.username))
    audit.append(conn, actor=principal.username, action="create", resource="alert_note",
                 resource_id=note_id, fields=(NOTE_FIELD,), source=source,
                 detail={"alert_id": row.id}, actor_organisation_id=principal.organisation_id)
    return Note(note_id, principal.username, body, now)


def export_goaml(conn: Connection, principal: Principal, alert_id: str, *,
                 cipher: FieldCipher, audit: AuditLog, source: str = "") -> bytes:
    """The goAML STR draft of an alert (``alert:export``); audited."""
    from maillon.money.goaml import goaml_xml

    require(principal, "alert", "export")
    view = get_alert(conn, principal, alert_id, cipher=cipher)
    rows = {r["txn_id"]: r for i in view.indicators
            for r in (i.get("evidence") or {}).get("rows", [])}
    body = goaml_xml(view.as_alert(), rows=list(rows.values()), reporter=principal.username)
    audit.append(conn, actor=principal.username, action="export", resource="alert",
                 resource_id=view.id, source=source, detail={"format": "goaml"},
                 actor_organisation_id=principal.organisation_id)
    return body


def assignable(conn: Connection, principal: Principal) -> list[str]:
    """Usernames the caller may assign alerts to (themselves only under ``own`` scope)."""
    from maillon.auth.models import User
    from maillon.auth.roles import get_role

    scope = allowed(principal, "alert", "update")
    if scope is None:
        return []
    if scope == "own":
        return [principal.username]
    users = conn.execute(select(User.username, User.role).where(
        User.organisation_id == principal.organisation_id).order_by(User.username)).all()
    out = []
    for name, role in users:
        grant = get_role(role)
        if grant is not None and grant.scope("alert", "update") is not None:
            out.append(name)
    return out


__all__ = ["REOPEN", "TRANSITIONS", "AlertFilter", "AlertView", "LoadReport", "Note", "add_note",
           "assignable", "evidence_rows", "export_goaml", "get_alert", "list_alerts",
           "load_alerts", "load_alerts_file", "read_alerts_file", "update_alert"]


def load_alerts_file(settings: Settings, store: Store, path: Path, *, organisation: str | None,
                     dataset: Path | None = None, actor: str | None = None,
                     source: str = "cli") -> LoadReport:
    """``maillon money alerts load``: read ``alerts.jsonl`` (every line checked first), copy the
    evidence rows from ``dataset`` when given, and load the alerts into the queue of
    ``organisation`` (id, code or name; default: the organisation of the Maillon user named
    ``actor``); one audited transaction."""
    from maillon.auth.context import Security, operator_name
    from maillon.auth.models import User
    from maillon.auth.orgs import find_organisation

    actor = (actor or operator_name(settings)).lower()
    alerts = read_alerts_file(path)
    with store.sessions() as session:
        if organisation:
            org_id = find_organisation(session, organisation).id
        else:
            found = session.execute(select(User.organisation_id).where(
                User.username == actor)).scalar_one_or_none()
            if found is None:
                raise InvalidInput("say which organisation's queue to load the alerts into",
                                   [FieldError(field="organisation",
                                               reason=f"{actor!r} is not a Maillon user; "
                                                      "give --organisation")])
            org_id = found
    rows = evidence_rows(dataset, alerts) if dataset is not None else None
    security = Security.open(settings)
    with security.audit.audit_scope(store.engine) as conn:
        return load_alerts(conn, alerts, organisation_id=org_id, actor=actor,
                           audit=security.audit, source=source,
                           dataset=dataset.name if dataset else path.stem, rows=rows)
