"""Writing validated records into the store in bulk, as inserts or in-place updates.

A record is one person in one case. The writer keeps, per organisation, the map from the source's
record ids (and case ids) to Maillon's ids, so a record seen before is updated (its dependent rows
replaced) instead of duplicated. Rows are built as tuples in the column order declared below and
written through :class:`~maillon.store.bulk.BulkInserter` on the caller's connection: the caller
owns the transaction, which is what makes an import all or nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from maillon.collect.fields import CODE_FIELDS
from maillon.collect.profiles import FLAG_VOCABULARIES
from maillon.collect.validate import PartialDate, Record
from maillon.core.ids import id_block, id_maker, new_id, slug
from maillon.store import models as m
from maillon.store.base import Base, table_of
from maillon.store.bulk import BulkInserter
from maillon.store.bulk_stage import SqliteStage
from maillon.store.crypto import FieldCipher

PROVENANCE = ("organisation_id", "import_batch_id", "created_at", "created_by", "updated_at",
              "updated_by")
"""Provenance columns whose values are the same for every row of one organisation in a batch:
they are not in the row tuples but given once per table and organisation (``constants`` of
:meth:`~maillon.store.bulk.BulkInserter.insert`)."""

PERSON_VALUES = ("case_id", "role", "given_name", "middle_name", "family_name", "birth_date",
                 "birth_date_precision", "age_band", "gender", "identity_number", "email",
                 "phone", "marital_status", "primary_language", "deceased", "birth_year",
                 "given_name_bidx", "family_name_bidx", "identity_number_bidx")
HISTORY_FIELDS = ("given_name", "middle_name", "family_name", "birth_date", "identity_number",
                  "email", "phone")
"""Personal person fields whose old values are kept (encrypted) when a re-import changes them."""
_PERSON_POSITION = {name: PERSON_VALUES.index(name) for name in HISTORY_FIELDS}
COLUMNS: dict[str, tuple[str, ...]] = {
    "case_file": ("id", "source_record_id", "status", "registration_date",
                  "closure_reason", "case_owner"),
    "person": ("id", "source_record_id", *PERSON_VALUES),
    "person_code": ("person_id", "vocabulary", "code"),
    "victim_context": ("person_id", "trafficking_status", "status_decided_by",
                       "relationship_to_trafficker", "age_when_trafficked"),
    "perpetrator_context": ("person_id", "entity_type", "age_at_offence", "role_details"),
    "trafficking_event": ("id", "source_record_id", "case_id", "person_id",
                          "event_type", "country", "admin_area", "city", "place", "date_from",
                          "date_to"),
    "referral": ("id", "source_record_id", "case_id", "direction",
                 "other_organisation", "referral_date", "reason", "details", "case_worker"),
    "support_plan": ("id", "source_record_id", "case_id", "person_id", "plan_type"),
    "consent": ("id", "source_record_id", "person_id", "scope", "given",
                "decided_on"),
}
_PERSON_CHILDREN = ("person_code", "victim_context", "perpetrator_context", "trafficking_event",
                    "support_plan", "consent")
_CODE_KEYS = tuple({**CODE_FIELDS, **FLAG_VOCABULARIES}.items())
_STAGES = tuple(
    (event_type, tuple(f"event.{stage}.{part}" for part in
                       ("country", "admin_area", "city", "place", "date_from", "date_to")))
    for stage, event_type in (("recruitment", "Recruitment"), ("transit", "Transit"),
                              ("exploitation", "Exploitation"))
)
_REFERRALS = tuple(
    (direction, tuple(f"referral.{direction}.{part}" for part in
                      ("organisation", "date", "reason", "details", "case_worker")))
    for direction in ("incoming", "outgoing")
)
_VICTIM_KEYS = ("victim.trafficking_status", "victim.status_decided_by",
                "victim.relationship_to_trafficker", "victim.age_when_trafficked")
_PERP_KEYS = ("perpetrator.entity_type", "perpetrator.age_at_offence", "perpetrator.role_details")
_NO_VICTIM = (None, None, None, None)
_NO_EVENT = (None,) * 6
Rows = dict[tuple[str, tuple[Any, ...]], list[tuple[Any, ...]]]
"""A chunk's new rows: ``(table, provenance values or ())`` -> tuples in :data:`COLUMNS` order."""
_CASE_KEYS = ("case.status", "case.registration_date", "case.closure_reason", "case.owner")


def _iso(value: Any) -> Any:
    """Dates in storage form (ISO text); partial dates stored as their first day."""
    if isinstance(value, PartialDate):
        return value.value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


class BatchWriter:
    """Writes chunks of ``(row_number, record)`` for one import batch on one connection."""

    def __init__(
        self, conn: Connection, *, batch_id: str | None, user: str, now: datetime,
        default_organisation: str | None, cipher: FieldCipher, keep_history: bool = False,
        stage: SqliteStage | None = None,
    ) -> None:
        self.conn = conn
        self.keep_history = keep_history
        self.history: dict[str, str | None] = {}
        """Field-change history of updated persons: ``"<person id>.person.<column>"`` -> the OLD
        token (None when the field was empty), only for fields whose value changed; it goes to
        the import's audit entry as ``audit_change`` rows (see :data:`HISTORY_FIELDS`)."""
        self.cipher = cipher
        self.bulk = BulkInserter(conn, stage)
        self.batch_id = batch_id
        self.user = user
        self.now = now
        self.stamp = self.bulk.stamp(now)
        self.default_organisation = default_organisation
        self._orgs: dict[str | None, tuple[str, tuple[Any, ...]]] = {}
        self._persons: dict[str, dict[str, str]] = {}
        self._cases: dict[str, dict[str, str]] = {}
        self._cases_seen: set[str] = set()
        self._referral_keys: set[tuple[Any, ...]] = set()
        self._new_id: Callable[[], str] = id_maker()

    # -- look-ups ---------------------------------------------------------------------------

    def _organisation(self, name: str | None) -> tuple[str, tuple[Any, ...]]:
        """The named organisation's id (created on first sight) and its provenance values."""
        cached = self._orgs.get(name)
        if cached is not None:
            return cached
        label = (name or self.default_organisation or "").strip()
        if not label:
            raise ValueError("no organisation: give an organisation column or a default")
        self.drain()
        org = table_of(m.Organisation)
        found = self.conn.execute(
            select(org.c.id).where((org.c.name == label) | (org.c.code == label))
        ).scalar_one_or_none()
        if found is None:
            found = new_id()
            code = slug(label)
            if self.conn.execute(select(org.c.id).where(org.c.code == code)).first() is not None:
                code = f"{code[:50]}-{found[-8:]}"
            self.conn.execute(
                insert(org), [{"id": found, "code": code, "name": label, "created_at": self.now}]
            )
        # its data key is loaded now, so encrypting its fields never needs the connection
        self.cipher.ensure_data_key(found)
        provenance = (found, self.batch_id, self.stamp, self.user, self.stamp, self.user)
        self._orgs[name] = (found, provenance)
        return self._orgs[name]

    def _index(self, cache: dict[str, dict[str, str]], model: type[Base], org_id: str
               ) -> dict[str, str]:
        if org_id not in cache:
            self.drain()
            table = table_of(model)
            rows = self.conn.execute(
                select(table.c.source_record_id, table.c.id).where(
                    table.c.organisation_id == org_id
                )
            )
            cache[org_id] = {src: pk for src, pk in rows if src is not None}
        return cache[org_id]

    def drain(self) -> None:
        """Wait until every row written so far is in the tables (with a stage, the copy runs
        in the background); the connection may then be used again. Call it before the
        import's transaction ends, whichever way."""
        if self.bulk.stage is not None:
            self.bulk.stage.drain()

    # -- writing ----------------------------------------------------------------------------

    def write(self, records: list[tuple[int, Record]]) -> tuple[int, int]:
        """Insert or update the records; returns ``(inserted, updated)``."""
        ids = id_block(len(records))
        self._new_id = id_maker()
        rows: Rows = defaultdict(list)
        person_updates: list[tuple[Any, ...]] = []
        case_updates: dict[str, tuple[Any, ...]] = {}
        replaced: list[str] = []
        for (_, rec), new_pk in zip(records, ids, strict=True):
            org_id, prov = self._organisation(rec.get("organisation"))
            case_id = self._case(rec, org_id, prov, rows, case_updates)
            persons = self._index(self._persons, m.Person, org_id)
            record_id = rec["record_id"]
            pid = persons.get(record_id)
            is_new = pid is None
            if pid is None:
                pid = persons[record_id] = new_pk
            values = self._person_values(rec, org_id, case_id, pid)
            if is_new:
                rows["person", prov].append((pid, record_id, *values))
            else:
                replaced.append(pid)
                person_updates.append((*values, self.batch_id, self.stamp, self.user, pid))
            self._children(rec, prov, case_id, pid, rows)
        self._flush(rows, person_updates, case_updates, replaced)
        return len(records) - len(replaced), len(replaced)

    def _person_values(self, rec: Record, org_id: str, case_id: str, pid: str
                       ) -> tuple[Any, ...]:
        """The person's columns in :data:`PERSON_VALUES` order, personal ones encrypted."""
        seal = self.cipher.encrypt
        index = self.cipher.blind_index
        given, family, number = (rec.get("person.given_name"), rec.get("person.family_name"),
                                 rec.get("person.identity_number"))
        birth = rec.get("person.birth_date")
        return (
            case_id, rec.get("role", "Victim"),
            seal(given, organisation_id=org_id, record_id=pid, field="person.given_name"),
            seal(rec.get("person.middle_name"), organisation_id=org_id, record_id=pid,
                 field="person.middle_name"),
            seal(family, organisation_id=org_id, record_id=pid, field="person.family_name"),
            seal(birth.value.isoformat() if birth is not None else None,
                 organisation_id=org_id, record_id=pid, field="person.birth_date"),
            birth.precision if birth is not None else None,
            rec.get("person.age_band"), rec.get("person.gender"),
            seal(number, organisation_id=org_id, record_id=pid, field="person.identity_number"),
            seal(rec.get("person.email"), organisation_id=org_id, record_id=pid,
                 field="person.email"),
            seal(rec.get("person.phone"), organisation_id=org_id, record_id=pid,
                 field="person.phone"),
            rec.get("person.marital_status"), rec.get("person.primary_language"),
            rec.get("person.deceased"),
            birth.value.year if birth is not None else None,
            index(given, field="person.given_name") if given else None,
            index(family, field="person.family_name") if family else None,
            index(number, field="person.identity_number") if number else None,
        )

    def _case(
        self, rec: Record, org_id: str, prov: tuple[Any, ...],
        rows: Rows, case_updates: dict[str, tuple[Any, ...]],
    ) -> str:
        cases = self._index(self._cases, m.Case, org_id)
        key = rec.get("case_id") or rec["record_id"]
        case_id = cases.get(key)
        status, registered, closure, owner = (rec.get(k) for k in _CASE_KEYS)
        if case_id is None:
            case_id = cases[key] = self._new_id()
            is_new = True
        else:
            is_new = False
        seal = self.cipher.encrypt
        values = (status, _iso(registered),
                  seal(closure, organisation_id=org_id, record_id=case_id,
                       field="case_file.closure_reason"),
                  seal(owner, organisation_id=org_id, record_id=case_id,
                       field="case_file.case_owner"))
        if is_new:
            rows["case_file", prov].append((case_id, key, *values))
            self._cases_seen.add(case_id)
        elif case_id not in self._cases_seen:
            self._cases_seen.add(case_id)
            case_updates[case_id] = (*values, self.batch_id, self.stamp, self.user, case_id)
        elif case_id in case_updates and any(v is not None for v in values):
            old = case_updates[case_id]
            merged = tuple(v if v is not None else o for v, o in zip(values, old, strict=False))
            case_updates[case_id] = (*merged, *old[len(values):])
        for direction, keys in _REFERRALS:
            organisation, when, reason, details, worker = (rec.get(k) for k in keys)
            if organisation is None and when is None and reason is None and details is None \
                    and worker is None:
                continue
            dedupe = (case_id, direction, organisation, _iso(when), reason)
            if dedupe in self._referral_keys:
                continue
            self._referral_keys.add(dedupe)
            rid = self._new_id()
            found = (organisation, _iso(when), reason,
                     seal(details, organisation_id=org_id, record_id=rid,
                          field="referral.details"),
                     seal(worker, organisation_id=org_id, record_id=rid,
                          field="referral.case_worker"))
            rows["referral", prov].append((rid, None, case_id, direction, *found))
        return case_id

    def _children(
        self, rec: Record, prov: tuple[Any, ...], case_id: str, pid: str,
        rows: Rows,
    ) -> None:
        codes = rows["person_code", ()]
        for key, vocabulary in _CODE_KEYS:
            found = rec.get(key)
            if found:
                codes.extend((pid, vocabulary, code) for code in found)
        role = rec.get("role", "Victim")
        get = rec.get
        victim = (get(_VICTIM_KEYS[0]), get(_VICTIM_KEYS[1]), get(_VICTIM_KEYS[2]),
                  get(_VICTIM_KEYS[3]))
        if role == "Victim" or victim != _NO_VICTIM:
            rows["victim_context", ()].append((pid, *victim))
        org_id = prov[0]
        entity, age, details = (rec.get(k) for k in _PERP_KEYS)
        if role == "Perpetrator" or entity is not None or age is not None or details is not None:
            rows["perpetrator_context", ()].append((
                pid, entity, age,
                self.cipher.encrypt(details, organisation_id=org_id, record_id=pid,
                                    field="perpetrator_context.role_details"),
            ))
        for event_type, keys in _STAGES:
            if not any(k in rec for k in keys):
                continue
            country, admin, city, place, start, end = stage = tuple(get(k) for k in keys)
            if stage == _NO_EVENT:
                continue
            eid = self._new_id()
            sealed = self.cipher.encrypt(place, organisation_id=org_id, record_id=eid,
                                         field="trafficking_event.place")
            rows["trafficking_event", prov].append((
                eid, None, case_id, pid, event_type, country, admin, city, sealed,
                _iso(start), _iso(end if end is not None else start),
            ))
        for plan_type in rec.get("support_plan.types", ()):
            rows["support_plan", prov].append((self._new_id(), None, case_id, pid, plan_type))
        given = rec.get("consent.given")
        if given is not None:
            rows["consent", prov].append((self._new_id(), None, pid, "DataProcessing", given,
                                    _iso(rec.get("consent.date"))))

    def _record_history(self, person_updates: list[tuple[Any, ...]]) -> None:
        """Compare the stored personal fields of updated persons with their new values."""
        person = Base.metadata.tables["person"]
        new_by_id = {u[-1]: u for u in person_updates}
        ids = list(new_by_id)
        open_ = self.cipher.decrypt
        for start in range(0, len(ids), 500):
            found = self.conn.execute(
                select(person.c.id, person.c.organisation_id,
                       *(person.c[n] for n in HISTORY_FIELDS))
                .where(person.c.id.in_(ids[start:start + 500]))
            ).all()
            for pid, org, *old_tokens in found:
                new = new_by_id[pid]
                for name, old in zip(HISTORY_FIELDS, old_tokens, strict=True):
                    label = f"person.{name}"
                    fresh = new[_PERSON_POSITION[name]]
                    before = open_(old, organisation_id=org, record_id=pid, field=label)
                    after = open_(fresh, organisation_id=org, record_id=pid, field=label)
                    if before != after:
                        self.history[f"{pid}.person.{name}"] = old

    def _flush(
        self, rows: Rows, person_updates: list[tuple[Any, ...]],
        case_updates: dict[str, tuple[Any, ...]], replaced: list[str],
    ) -> None:
        tables = Base.metadata.tables
        if case_updates or replaced or person_updates:
            self.drain()
        if case_updates:
            reset = list(case_updates)
            referral = tables["referral"]
            for start in range(0, len(reset), 500):
                self.conn.execute(delete(referral).where(
                    referral.c.case_id.in_(reset[start:start + 500])))
            self.bulk.update(tables["case_file"],
                             ("status", "registration_date", "closure_reason", "case_owner",
                              "import_batch_id", "updated_at", "updated_by"),
                             list(case_updates.values()))
        for start in range(0, len(replaced), 500):
            chunk = replaced[start:start + 500]
            for name in _PERSON_CHILDREN:
                table = tables[name]
                self.conn.execute(delete(table).where(table.c.person_id.in_(chunk)))
        if self.keep_history and person_updates:
            self._record_history(person_updates)
        self.bulk.update(tables["person"],
                         (*PERSON_VALUES, "import_batch_id", "updated_at", "updated_by"),
                         person_updates)
        for name, columns in COLUMNS.items():
            for (table_name, prov), tuples in rows.items():
                if table_name == name:
                    constants = dict(zip(PROVENANCE, prov, strict=True)) if prov else None
                    self.bulk.insert(tables[name], columns, tuples, constants)
        self.bulk.submit()
