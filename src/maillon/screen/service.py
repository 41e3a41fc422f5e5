"""Screening services: list versions in the store, batch screening, suppliers and reviews.

Functions take the :class:`~maillon.store.api.Store` (or an open session) and, for anything
that changes state, the :class:`~maillon.store.audit.AuditLog`: each load, registration,
decision and re-screening is audited in the same transaction as the change.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from maillon.core.errors import Conflict, FieldError, InvalidFile, InvalidInput, NotFound
from maillon.core.ids import new_id
from maillon.core.timeutil import utcnow
from maillon.screen import sources
from maillon.screen.entity import SCHEMAS, BirthDate, Entity, ListData
from maillon.screen.matcher import Match, Matcher, MatcherConfig, Query
from maillon.screen.models import (
    ScreenAlert,
    ScreenEntity,
    ScreenList,
    ScreenListVersion,
    Supplier,
)
from maillon.screen.sources.common import country_code, read_text
from maillon.store.api import Store
from maillon.store.audit import AuditLog
from maillon.store.base import table_of
from maillon.store.crypto import FieldCipher
from maillon.store.db import session_on

ENTITY = table_of(ScreenEntity)


# ---------------------------------------------------------------------------------------------
# List versions


@dataclass
class LoadReport:
    list_id: str
    version: str
    status: str
    """``loaded`` (a new active version) or ``unchanged`` (same files as the active one)."""
    entities: int
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    version_id: str | None = None

    def as_dict(self, ids: int = 20) -> dict[str, Any]:
        return {"list": self.list_id, "version": self.version, "status": self.status,
                "entities": self.entities, "added": len(self.added),
                "changed": len(self.changed), "removed": len(self.removed),
                "added_ids": self.added[:ids], "changed_ids": self.changed[:ids],
                "removed_ids": self.removed[:ids], "version_id": self.version_id}


def active_fingerprints(session: Session, list_id: str) -> dict[str, str]:
    version = session.get(ScreenList, list_id)
    if version is None or version.active_version_id is None:
        return {}
    rows = session.execute(select(ScreenEntity.entity_id, ScreenEntity.fingerprint).where(
        ScreenEntity.version_id == version.active_version_id))
    return {r.entity_id: r.fingerprint for r in rows}


def store_list(store: Store, data: ListData, *, fmt: str, user: str,
               audit: AuditLog | None = None, source: str = "cli") -> LoadReport:
    """Store ``data`` as the new active version of its list and report the differences.

    Runs in one transaction: on any error nothing changes and the previous version stays
    active. Loading the same files again (same SHA-256) stores nothing.
    """
    if not data.entities:
        raise InvalidFile(f"{data.list_id}: the file holds no entity; the active version is kept",
                          [FieldError(reason="empty list", field=data.list_id)])
    ids = [e.id for e in data.entities]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dups = [i for i in ids if i in seen or seen.add(i)]  # type: ignore[func-returns-value]
        raise InvalidFile(f"{data.list_id}: duplicate entity ids", [
            FieldError(reason="duplicate entity id", value=d) for d in dups[:20]])
    with store.sessions() as session:
        old = active_fingerprints(session, data.list_id)
        current = session.get(ScreenList, data.list_id)
        if current is not None and current.active_version_id is not None:
            active = session.get(ScreenListVersion, current.active_version_id)
            if active is not None and active.sha256 == data.sha256 and data.sha256:
                return LoadReport(data.list_id, active.version, "unchanged",
                                  active.entities, version_id=active.id)
    new = {e.id: e.fingerprint() for e in data.entities}
    report = LoadReport(
        data.list_id, data.version, "loaded", len(data.entities),
        added=sorted(i for i in new if i not in old),
        changed=sorted(i for i in new if i in old and old[i] != new[i]),
        removed=sorted(i for i in old if i not in new))
    scope = audit.audit_scope(store.engine) if audit is not None else _plain(store)
    with scope as conn, session_on(conn) as session:
        lst = session.get(ScreenList, data.list_id)
        module = sources.FORMATS.get(fmt)
        title = str(getattr(module, "TITLE", data.list_id))
        if lst is None:
            lst = ScreenList(id=data.list_id, title=title, format=fmt)
            session.add(lst)
        version = ScreenListVersion(
            list_id=data.list_id, version=data.version, sha256=data.sha256,
            source_files=json.dumps(data.source_files), loaded_by=user,
            entities=len(data.entities), added=len(report.added), changed=len(report.changed),
            removed=len(report.removed))
        session.add(version)
        session.flush()
        rows = [{"version_id": version.id, "entity_id": e.id, "schema": e.schema,
                 "caption": e.caption[:500], "fingerprint": new[e.id],
                 "data": e.canonical_json()} for e in data.entities]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(ENTITY), rows[start:start + 5000])
        lst.active_version_id = version.id
        lst.updated_at = utcnow()
        report.version_id = version.id
        if audit is not None:
            audit.append(conn, actor=user, action="import", resource="screen_list",
                         resource_id=data.list_id, source=source,
                         detail={"version": data.version, "sha256": data.sha256,
                                 **{k: v for k, v in report.as_dict(0).items()
                                    if k in ("entities", "added", "changed", "removed")}})
    _MATCHERS.clear()
    return report


class _plain:
    """``audit_scope`` stand-in when no audit log is given (tests, bench)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cm: Any = None

    def __enter__(self) -> Connection:
        self._cm = self.store.engine.begin()
        conn: Connection = self._cm.__enter__()
        return conn

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


def load_list(store: Store, list_id: str, paths: Sequence[Path], *, fmt: str | None = None,
              user: str = "system", audit: AuditLog | None = None,
              source: str = "cli") -> LoadReport:
    """Parse ``paths`` with the list's loader and store them as its new active version."""
    for path in paths:
        if not path.is_file():
            raise InvalidInput(f"no such file: {path}", [FieldError(reason="file not found",
                                                                    field=str(path))])
    fmt = fmt or (list_id if list_id in sources.FORMATS else "ftm")
    data = sources.load_files(list_id, list(paths), fmt=fmt)
    data.list_id = list_id
    return store_list(store, data, fmt=fmt, user=user, audit=audit, source=source)


def load_folder(store: Store, folder: Path, *, list_ids: Sequence[str] | None = None,
                user: str = "system", audit: AuditLog | None = None) -> list[LoadReport]:
    """Load every known list found in ``folder`` (e.g. ``shared/reference/sanctions``)."""
    reports = []
    for list_id in list_ids or list(sources.SOURCES):
        paths = sources.find_files(list_id, folder)
        if paths:
            reports.append(load_list(store, list_id, paths, user=user, audit=audit))
    return reports


def list_versions(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(ScreenList, ScreenListVersion).join(
        ScreenListVersion, ScreenListVersion.id == ScreenList.active_version_id
    ).order_by(ScreenList.id))
    return [{"list": lst.id, "title": lst.title, "version": ver.version,
             "entities": ver.entities, "loaded_at": ver.loaded_at, "loaded_by": ver.loaded_by,
             "added": ver.added, "changed": ver.changed, "removed": ver.removed,
             "threshold": lst.threshold} for lst, ver in rows]


def active_lists(session: Session, list_ids: Sequence[str] | None = None
                 ) -> list[tuple[str, str, list[Entity]]]:
    """``(list_id, version_id, entities)`` of each active list (all, or those named)."""
    stmt = select(ScreenList).where(ScreenList.active_version_id.is_not(None))
    if list_ids:
        stmt = stmt.where(ScreenList.id.in_(list_ids))
    found = []
    for lst in session.execute(stmt.order_by(ScreenList.id)).scalars():
        rows = session.execute(select(ScreenEntity.data).where(
            ScreenEntity.version_id == lst.active_version_id).order_by(ScreenEntity.entity_id))
        found.append((lst.id, str(lst.active_version_id),
                      [Entity.from_dict(json.loads(r.data)) for r in rows]))
    if list_ids:
        missing = set(list_ids) - {f[0] for f in found}
        if missing:
            raise NotFound(f"no loaded list {', '.join(sorted(missing))}", [
                FieldError(reason="list not loaded (maillon lists load)", field="lists",
                           value=m) for m in sorted(missing)])
    return found


_MATCHERS: dict[tuple[Any, ...], Matcher] = {}
_LOCK = threading.Lock()


def matcher_for(store: Store, list_ids: Sequence[str] | None = None,
                config: MatcherConfig | None = None) -> Matcher:
    """A matcher over the active versions (cached per set of versions and engine)."""
    with store.sessions() as session:
        stmt = select(ScreenList.id, ScreenList.active_version_id, ScreenList.threshold).where(
            ScreenList.active_version_id.is_not(None))
        heads = [tuple(r) for r in session.execute(stmt.order_by(ScreenList.id))]
        if list_ids:
            heads = [h for h in heads if h[0] in set(list_ids)]
        key = (id(store.engine), tuple(heads), id(config))
        with _LOCK:
            cached = _MATCHERS.get(key)
        if cached is not None:
            return cached
        lists = active_lists(session, list_ids)
    config = config or MatcherConfig()
    for list_id, _, threshold in heads:
        if threshold is not None:
            config.list_thresholds.setdefault(str(list_id), float(threshold))
    matcher = Matcher(((lid, ents) for lid, _, ents in lists), config)
    with _LOCK:
        if len(_MATCHERS) > 4:
            _MATCHERS.clear()
        _MATCHERS[key] = matcher
    return matcher


def set_threshold(store: Store, list_id: str, threshold: float | None) -> None:
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InvalidInput("threshold must be within [0, 1]",
                           [FieldError(reason="out of range", field="threshold")])
    with store.sessions() as session, session.begin():
        lst = session.get(ScreenList, list_id)
        if lst is None:
            raise NotFound(f"no list {list_id}")
        lst.threshold = threshold
    _MATCHERS.clear()


# ---------------------------------------------------------------------------------------------
# Batch screening of names


def read_queries(path: Path) -> Iterator[Query]:
    """Rows of an input CSV ``id,name[,schema,birth_date,country]`` as queries, in order."""
    text = read_text(path, ("utf-8",))
    reader = csv.DictReader(io.StringIO(text))
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    if "id" not in header or "name" not in header:
        raise InvalidFile(f"{path.name}: the input needs the columns id and name",
                          [FieldError(reason="missing column id or name", field=path.name)])
    for number, raw in enumerate(reader, start=1):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()
               if isinstance(v, str)}
        yield query_from(row, number)


def query_from(row: dict[str, str], number: int | None = None) -> Query:
    schema = row.get("schema", "")
    if schema and schema not in SCHEMAS:
        raise InvalidInput(f"row {number}: unknown schema {schema!r}", [
            FieldError(reason=f"schema must be empty or one of {', '.join(SCHEMAS)}",
                       row=number, field="schema", value=schema)])
    birth = row.get("birth_date", "")
    parsed = BirthDate.parse(birth) if birth else None
    if birth and parsed is None:
        raise InvalidInput(f"row {number}: birth_date {birth!r} is not a date", [
            FieldError(reason="YYYY, YYYY-MM or YYYY-MM-DD", row=number, field="birth_date",
                       value=birth)])
    idents = tuple(i.strip() for i in row.get("identifiers", "").split(";") if i.strip())
    return Query(id=row.get("id", ""), name=row.get("name", ""), schema=schema,
                 birth_date=parsed, country=country_code(row.get("country")),
                 identifiers=idents)


def screen_file(matcher: Matcher, input_path: Path, output_path: Path, *,
                threshold: float | None = None, batch: int = 5000) -> dict[str, int]:
    """Screen every row of ``input_path``; one JSON line per row, in order, to ``output_path``."""
    rows = matches = 0
    with output_path.open("w", encoding="utf-8") as out:
        chunk: list[Query] = []

        def flush() -> None:
            nonlocal matches
            for query, found in zip(chunk, matcher.screen(chunk, threshold), strict=True):
                matches += bool(found)
                out.write(json.dumps({"id": query.id,
                                      "matches": [m.as_dict() for m in found]},
                                     ensure_ascii=False) + "\n")
            chunk.clear()

        for query in read_queries(input_path):
            rows += 1
            chunk.append(query)
            if len(chunk) >= batch:
                flush()
        flush()
    return {"rows": rows, "with_matches": matches}


def matcher_from_file(path: Path, config: MatcherConfig | None = None) -> Matcher:
    """A matcher over an ad-hoc FollowTheMoney JSON-lines file (list id: the file name)."""
    data = sources.ftm.load([path], list_id=path.name)
    return Matcher([(path.name, data.entities)], config)


# ---------------------------------------------------------------------------------------------
# Suppliers and the review queue


@dataclass(frozen=True)
class SupplierInput:
    reference: str
    name: str
    schema: str = "Organization"
    country: str | None = None
    birth_date: str | None = None
    identifiers: tuple[str, ...] = ()

    def fingerprint(self, cipher: FieldCipher) -> str:
        """Keyed hash (blind index) of what is screened: changes when the supplier changes,
        and cannot be recomputed from guessed names without the key."""
        payload = json.dumps([self.name, self.schema, self.country, self.birth_date,
                              sorted(self.identifiers)], ensure_ascii=False)
        return cipher.blind_index(payload, field="screen_supplier.fingerprint")[:64]

    def query(self) -> Query:
        return Query(id=self.reference, name=self.name, schema=self.schema,
                     birth_date=BirthDate.parse(self.birth_date or ""),
                     country=self.country, identifiers=self.identifiers)

    @classmethod
    def parse(cls, data: dict[str, Any], row: int | None = None) -> SupplierInput:
        errors: list[FieldError] = []
        name = " ".join(str(data.get("name") or "").split())
        reference = str(data.get("reference") or data.get("id") or "").strip()
        schema = str(data.get("schema") or "Organization").strip()
        if not name:
            errors.append(FieldError(reason="required", row=row, field="name"))
        if not reference:
            errors.append(FieldError(reason="required", row=row, field="reference"))
        if schema not in SCHEMAS:
            errors.append(FieldError(reason="unknown schema", row=row, field="schema",
                                     value=schema))
        country_raw = str(data.get("country") or "").strip()
        country = country_code(country_raw) if country_raw else None
        if country_raw and country is None:
            errors.append(FieldError(reason="unknown country", row=row, field="country",
                                     value=country_raw))
        birth = str(data.get("birth_date") or "").strip() or None
        if birth and BirthDate.parse(birth) is None:
            errors.append(FieldError(reason="not a date", row=row, field="birth_date"))
        raw_ids = data.get("identifiers") or ()
        if isinstance(raw_ids, str):
            raw_ids = raw_ids.split(";")
        idents = tuple(sorted({str(i).strip() for i in raw_ids if str(i).strip()}))
        if errors:
            raise InvalidInput("the supplier is not valid", errors)
        return cls(reference[:200], name[:500], schema, country, birth, idents)


@dataclass
class ScreenOutcome:
    supplier_id: str
    reference: str
    status: str
    new_alerts: int
    open_alerts: int
    silenced: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _status(session: Session, supplier_id: str) -> str:
    statuses = set(session.execute(select(ScreenAlert.status).where(
        ScreenAlert.supplier_id == supplier_id)).scalars())
    if "confirmed" in statuses:
        return "blocked"
    return "pending_review" if "open" in statuses else "cleared"


def _apply_matches(session: Session, supplier: Supplier, matches: Sequence[Match]
                   ) -> tuple[int, int]:
    """Record the matches as alerts; returns (new alerts, silenced by an earlier clearance)."""
    new = silenced = 0
    for match in matches:
        fingerprint = match.entity.fingerprint() if match.entity is not None else ""
        previous = list(session.execute(select(ScreenAlert).where(
            ScreenAlert.supplier_id == supplier.id, ScreenAlert.list_id == match.list_id,
            ScreenAlert.entity_id == match.entity_id)).scalars())
        same = [a for a in previous if a.entity_fingerprint == fingerprint
                and a.supplier_fingerprint == supplier.fingerprint]
        if any(a.status == "cleared" for a in same):
            silenced += 1
            continue
        open_same = [a for a in same if a.status in ("open", "confirmed")]
        if open_same:
            for alert in open_same:
                alert.score = match.score
            continue
        for alert in previous:  # an earlier alert on changed data is superseded
            if alert.status == "open":
                alert.status = "superseded"
        session.add(ScreenAlert(
            supplier_id=supplier.id, list_id=match.list_id, entity_id=match.entity_id,
            entity_name=match.name[:500], score=match.score,
            explanation=json.dumps([f.as_dict() for f in match.explanation]),
            entity_fingerprint=fingerprint, supplier_fingerprint=supplier.fingerprint))
        new += 1
    return new, silenced


def _seal(cipher: FieldCipher, supplier: Supplier, field: str, value: str | None
          ) -> str | None:
    return cipher.encrypt(value, organisation_id=supplier.organisation_id,
                          record_id=supplier.id, field=f"screen_supplier.{field}")


def _open(cipher: FieldCipher, supplier: Supplier, field: str) -> str | None:
    token: str | None = getattr(supplier, field)
    return cipher.decrypt(token, organisation_id=supplier.organisation_id,
                          record_id=supplier.id, field=f"screen_supplier.{field}")


@dataclass(frozen=True)
class SupplierView:
    """A supplier with its encrypted fields decrypted (never stored, never logged)."""

    id: str
    reference: str
    name: str
    schema: str
    country: str | None
    birth_date: str | None
    identifiers: tuple[str, ...]
    status: str
    screened_at: Any
    created_by: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "identifiers": list(self.identifiers)}


def supplier_view(cipher: FieldCipher, supplier: Supplier) -> SupplierView:
    return SupplierView(supplier.id, supplier.reference, _open(cipher, supplier, "name") or "",
                        supplier.schema, supplier.country, _open(cipher, supplier, "birth_date"),
                        tuple(json.loads(_open(cipher, supplier, "identifiers") or "[]")),
                        supplier.status, supplier.screened_at, supplier.created_by)


def _supplier_input(cipher: FieldCipher, supplier: Supplier) -> SupplierInput:
    view = supplier_view(cipher, supplier)
    return SupplierInput(view.reference, view.name, view.schema, view.country,
                         view.birth_date, view.identifiers)


def register_suppliers(store: Store, items: Sequence[SupplierInput], *, organisation_id: str,
                       user: str, audit: AuditLog, cipher: FieldCipher, source: str = "cli",
                       matcher: Matcher | None = None) -> list[ScreenOutcome]:
    """Register (or update, by reference) suppliers and screen them against the active lists.

    A supplier with a potential match is ``pending_review``: its registration is blocked until
    a reviewer confirms (``blocked``) or clears each alert.
    """
    matcher = matcher or matcher_for(store)
    results = matcher.screen([item.query() for item in items])
    outcomes = []
    cipher.ensure_data_key(organisation_id)  # before the write transaction (SQLite)
    with audit.audit_scope(store.engine) as conn, session_on(conn) as session:
        for item, matches in zip(items, results, strict=True):
            supplier = session.execute(select(Supplier).where(
                Supplier.organisation_id == organisation_id,
                Supplier.reference == item.reference)).scalar_one_or_none()
            action = "update"
            if supplier is None:
                action = "create"
                supplier = Supplier(id=new_id(), organisation_id=organisation_id,
                                    reference=item.reference, created_by=user, name="",
                                    fingerprint="")
                session.add(supplier)
            supplier.schema, supplier.country = item.schema, item.country
            supplier.name = _seal(cipher, supplier, "name", item.name) or ""
            supplier.birth_date = _seal(cipher, supplier, "birth_date", item.birth_date)
            supplier.identifiers = _seal(cipher, supplier, "identifiers",
                                         json.dumps(list(item.identifiers)))
            supplier.fingerprint = item.fingerprint(cipher)
            supplier.screened_at = supplier.updated_at = utcnow()
            session.flush()
            new, silenced = _apply_matches(session, supplier, matches)
            session.flush()
            supplier.status = _status(session, supplier.id)
            open_count = len(list(session.execute(select(ScreenAlert.id).where(
                ScreenAlert.supplier_id == supplier.id, ScreenAlert.status == "open"))))
            outcomes.append(ScreenOutcome(supplier.id, supplier.reference, supplier.status,
                                          new, open_count, silenced))
            audit.append(conn, actor=user, action=action, resource="supplier",
                         resource_id=supplier.id, source=source,
                         fields=("name", "schema", "country", "birth_date", "identifiers"),
                         actor_organisation_id=organisation_id,
                         detail={"status": supplier.status, "new_alerts": new,
                                 "silenced": silenced})
    return outcomes


def read_supplier_csv(path: Path) -> list[SupplierInput]:
    """Bulk CSV: ``reference,name[,schema,country,birth_date,identifiers]``; all or nothing."""
    reader = csv.DictReader(io.StringIO(read_text(path, ("utf-8",))))
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    if "name" not in header or not ({"reference", "id"} & set(header)):
        raise InvalidFile(f"{path.name}: needs the columns reference and name",
                          [FieldError(reason="missing column", field=path.name)])
    items, errors = [], []
    for number, raw in enumerate(reader, start=1):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()
               if isinstance(v, str)}
        try:
            items.append(SupplierInput.parse(row, number))
        except InvalidInput as exc:
            errors.extend(exc.details)
    if errors:
        raise InvalidInput(f"{len(errors)} problems in {path.name}; nothing registered", errors)
    return items


def decide(store: Store, alert_id: str, *, decision: str, reason: str, user: str,
           organisation_id: str, audit: AuditLog, source: str = "cli") -> dict[str, Any]:
    """A reviewer confirms or clears an open alert, with a reason; audited."""
    if decision not in ("confirm", "clear"):
        raise InvalidInput("decision must be confirm or clear",
                           [FieldError(reason="confirm | clear", field="decision",
                                       value=decision)])
    if not reason.strip():
        raise InvalidInput("a reason is required", [FieldError(reason="required",
                                                               field="reason")])
    with audit.audit_scope(store.engine) as conn, session_on(conn) as session:
        alert = session.get(ScreenAlert, alert_id)
        supplier = session.get(Supplier, alert.supplier_id) if alert is not None else None
        if alert is None or supplier is None or supplier.organisation_id != organisation_id:
            raise NotFound("no such alert")
        if alert.status != "open":
            raise Conflict(f"the alert is already {alert.status}")
        alert.status = "confirmed" if decision == "confirm" else "cleared"
        alert.reason = reason.strip()[:2000]
        alert.decided_by = user
        alert.decided_at = utcnow()
        session.flush()
        supplier.status = _status(session, supplier.id)
        audit.append(conn, actor=user, action="review", resource="supplier_alert",
                     resource_id=alert.id, source=source, fields=("status", "reason"),
                     actor_organisation_id=organisation_id,
                     detail={"decision": decision, "supplier_id": supplier.id,
                             "list": alert.list_id, "entity_id": alert.entity_id,
                             "supplier_status": supplier.status})
        return {"alert_id": alert.id, "status": alert.status,
                "supplier_id": supplier.id, "supplier_status": supplier.status}


def rescreen_all(store: Store, *, audit: AuditLog, cipher: FieldCipher, user: str = "system",
                 source: str = "job") -> dict[str, int]:
    """Screen every supplier again against the active lists (call after a list changes).

    Cleared pairs stay silent while neither the list entry nor the supplier changed; changed
    entries raise new alerts. Meant for ``maillon jobs run`` (cron / systemd timer).
    """
    matcher = matcher_for(store)
    totals = {"suppliers": 0, "new_alerts": 0, "pending_review": 0, "blocked": 0}
    with store.sessions() as session:
        by_org: dict[str, list[SupplierInput]] = {}
        for supplier in session.execute(select(Supplier).order_by(Supplier.id)).scalars():
            by_org.setdefault(supplier.organisation_id, []).append(
                _supplier_input(cipher, supplier))
    for organisation_id, items in by_org.items():
        for start in range(0, len(items), 1000):
            outcomes = register_suppliers(store, items[start:start + 1000],
                                          organisation_id=organisation_id, user=user,
                                          audit=audit, cipher=cipher, source=source,
                                          matcher=matcher)
            for outcome in outcomes:
                totals["suppliers"] += 1
                totals["new_alerts"] += outcome.new_alerts
                if outcome.status in ("pending_review", "blocked"):
                    totals[outcome.status] += 1
    return totals


def suppliers(session: Session, organisation_id: str, cipher: FieldCipher,
              status: str | None = None) -> list[SupplierView]:
    stmt = select(Supplier).where(Supplier.organisation_id == organisation_id)
    if status:
        stmt = stmt.where(Supplier.status == status)
    return [supplier_view(cipher, s)
            for s in session.execute(stmt.order_by(Supplier.created_at.desc())).scalars()]


def alerts(session: Session, organisation_id: str, cipher: FieldCipher,
           supplier_id: str | None = None, status: str | None = "open"
           ) -> list[tuple[ScreenAlert, SupplierView]]:
    stmt = select(ScreenAlert, Supplier).join(Supplier, Supplier.id == ScreenAlert.supplier_id
                                              ).where(Supplier.organisation_id == organisation_id)
    if supplier_id:
        stmt = stmt.where(ScreenAlert.supplier_id == supplier_id)
    if status:
        stmt = stmt.where(ScreenAlert.status == status)
    return [(a, supplier_view(cipher, s))
            for a, s in session.execute(stmt.order_by(ScreenAlert.score.desc()))]


def delete_list(store: Store, list_id: str) -> None:
    """Remove a list and all its versions (tests and mistakes; not exposed on the web)."""
    with store.engine.begin() as conn:
        versions = [r[0] for r in conn.execute(select(ScreenListVersion.id).where(
            ScreenListVersion.list_id == list_id))]
        if versions:
            conn.execute(delete(ScreenEntity).where(ScreenEntity.version_id.in_(versions)))
        conn.execute(delete(ScreenListVersion).where(ScreenListVersion.list_id == list_id))
        conn.execute(delete(ScreenList).where(ScreenList.id == list_id))
    _MATCHERS.clear()


def iter_entities(lists: Iterable[tuple[str, str, list[Entity]]]) -> Iterator[Entity]:
    for _, _, entities in lists:
        yield from entities
