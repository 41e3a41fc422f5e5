"""Writing validated records into the store in bulk, as inserts or in-place updates.

A record is one person in one case. The writer keeps, per organisation, the map from the source's
record ids (and case ids) to Maillon's ids, so a record seen before is updated (its dependent rows
replaced) instead of duplicated. Everything goes through SQLAlchemy Core ``executemany`` on the
caller's connection: the caller owns the transaction, which is what makes an import all or nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from maillon.collect.fields import CODE_FIELDS, EVENT_STAGES
from maillon.collect.profiles import FLAG_VOCABULARIES
from maillon.collect.validate import PartialDate, Record
from maillon.core.ids import id_block, new_id
from maillon.store import models as m
from maillon.store.base import Base, table_of

_CODE_VOCABULARIES = {**CODE_FIELDS, **FLAG_VOCABULARIES}
_PERSON_CHILDREN: tuple[Table, ...] = (
    table_of(m.PersonCode),
    table_of(m.VictimContext),
    table_of(m.PerpetratorContext),
    table_of(m.TraffickingEvent),
    table_of(m.SupportPlan),
    table_of(m.Consent),
)
_PERSON_FIELDS = {
    "given_name": "person.given_name",
    "middle_name": "person.middle_name",
    "family_name": "person.family_name",
    "age_band": "person.age_band",
    "gender": "person.gender",
    "identity_number": "person.identity_number",
    "email": "person.email",
    "phone": "person.phone",
    "marital_status": "person.marital_status",
    "primary_language": "person.primary_language",
    "deceased": "person.deceased",
}


def slugify(name: str) -> str:
    """``"Police – Unit 7"`` -> ``"police-unit-7"`` (ASCII letters, digits and dashes)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    return slug[:60] or "org"


def _date(value: Any) -> Any:
    return value.value if isinstance(value, PartialDate) else value


class BatchWriter:
    """Writes chunks of ``(row_number, record)`` for one import batch on one connection."""

    def __init__(
        self, conn: Connection, *, batch_id: str | None, user: str, now: datetime,
        default_organisation: str | None,
    ) -> None:
        self.conn = conn
        self.batch_id = batch_id
        self.user = user
        self.now = now
        self.default_organisation = default_organisation
        self._orgs: dict[str, str] = {}
        self._persons: dict[str, dict[str, str]] = {}
        self._cases: dict[str, dict[str, str]] = {}
        self._referrals_reset: set[str] = set()
        self._referral_keys: set[tuple[Any, ...]] = set()

    # -- look-ups ---------------------------------------------------------------------------

    def organisation_id(self, name: str | None) -> str:
        """The id of the named organisation, created on first sight."""
        label = (name or self.default_organisation or "").strip()
        if not label:
            raise ValueError("no organisation: give an organisation column or a default")
        if label in self._orgs:
            return self._orgs[label]
        org = table_of(m.Organisation)
        found = self.conn.execute(
            select(org.c.id).where((org.c.name == label) | (org.c.code == label))
        ).scalar_one_or_none()
        if found is None:
            found = new_id()
            code = slugify(label)
            taken = self.conn.execute(select(org.c.id).where(org.c.code == code)).first()
            if taken is not None:
                code = f"{code[:50]}-{found[-8:]}"
            self.conn.execute(
                insert(org), [{"id": found, "code": code, "name": label, "created_at": self.now}]
            )
        self._orgs[label] = found
        return found

    def _index(self, cache: dict[str, dict[str, str]], table: Any, org_id: str) -> dict[str, str]:
        if org_id not in cache:
            rows = self.conn.execute(
                select(table.c.source_record_id, table.c.id).where(
                    table.c.organisation_id == org_id
                )
            )
            cache[org_id] = {src: pk for src, pk in rows if src is not None}
        return cache[org_id]

    # -- writing ----------------------------------------------------------------------------

    def _provenance(self, org_id: str, source_id: str | None) -> dict[str, Any]:
        return {
            "organisation_id": org_id,
            "source_record_id": source_id,
            "import_batch_id": self.batch_id,
            "created_at": self.now,
            "created_by": self.user,
            "updated_at": self.now,
            "updated_by": self.user,
        }

    def write(self, records: list[tuple[int, Record]]) -> tuple[int, int]:
        """Insert or update the records; returns ``(inserted, updated)``."""
        ids = id_block(len(records))
        rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        person_updates: list[dict[str, Any]] = []
        case_updates: dict[str, dict[str, Any]] = {}
        replaced: list[str] = []
        inserted = 0
        for (_, rec), new_pk in zip(records, ids, strict=True):
            org_id = self.organisation_id(rec.get("organisation"))
            case_id = self._case(rec, org_id, rows, case_updates)
            persons = self._index(self._persons, table_of(m.Person), org_id)
            record_id = rec["record_id"]
            person = self._person_values(rec, case_id)
            pid = persons.get(record_id)
            if pid is None:
                pid = new_pk
                persons[record_id] = pid
                rows["person"].append({"id": pid, **person, **self._provenance(org_id, record_id)})
                inserted += 1
            else:
                replaced.append(pid)
                person_updates.append(
                    {"b_id": pid, **person, "import_batch_id": self.batch_id,
                     "updated_at": self.now, "updated_by": self.user}
                )
            self._children(rec, org_id, case_id, pid, rows)
        self._flush(rows, person_updates, case_updates, replaced)
        return inserted, len(replaced)

    def _case(
        self, rec: Record, org_id: str, rows: dict[str, list[dict[str, Any]]],
        case_updates: dict[str, dict[str, Any]],
    ) -> str:
        cases = self._index(self._cases, table_of(m.Case), org_id)
        key = rec.get("case_id") or rec["record_id"]
        values = {
            "status": rec.get("case.status"),
            "registration_date": _date(rec.get("case.registration_date")),
            "closure_reason": rec.get("case.closure_reason"),
            "case_owner": rec.get("case.owner"),
        }
        case_id = cases.get(key)
        if case_id is None:
            case_id = new_id()
            cases[key] = case_id
            rows["case_file"].append({"id": case_id, **values, **self._provenance(org_id, key)})
            self._referrals_reset.add(case_id)
        elif case_id not in self._referrals_reset:
            self._referrals_reset.add(case_id)
            case_updates[case_id] = {"b_id": case_id, **values, "import_batch_id": self.batch_id,
                                     "updated_at": self.now, "updated_by": self.user}
        else:
            pending = case_updates.get(case_id)
            if pending is not None:
                for k, v in values.items():
                    if v is not None:
                        pending[k] = v
        self._referrals(rec, org_id, case_id, rows)
        return case_id

    def _person_values(self, rec: Record, case_id: str) -> dict[str, Any]:
        values: dict[str, Any] = {"case_id": case_id, "role": rec.get("role", "Victim")}
        for column, key in _PERSON_FIELDS.items():
            values[column] = rec.get(key)
        birth = rec.get("person.birth_date")
        values["birth_date"] = birth.value if isinstance(birth, PartialDate) else None
        values["birth_date_precision"] = birth.precision if isinstance(birth, PartialDate) else None
        return values

    def _children(
        self, rec: Record, org_id: str, case_id: str, pid: str,
        rows: dict[str, list[dict[str, Any]]],
    ) -> None:
        for key, vocabulary in _CODE_VOCABULARIES.items():
            for code in rec.get(key, ()):
                rows["person_code"].append({"person_id": pid, "vocabulary": vocabulary,
                                            "code": code})
        role = rec.get("role", "Victim")
        if role == "Victim" or any(k.startswith("victim.") for k in rec):
            rows["victim_context"].append({
                "person_id": pid,
                "trafficking_status": rec.get("victim.trafficking_status"),
                "status_decided_by": rec.get("victim.status_decided_by"),
                "relationship_to_trafficker": rec.get("victim.relationship_to_trafficker"),
                "age_when_trafficked": rec.get("victim.age_when_trafficked"),
            })
        if role == "Perpetrator" or any(k.startswith("perpetrator.") for k in rec):
            rows["perpetrator_context"].append({
                "person_id": pid,
                "entity_type": rec.get("perpetrator.entity_type"),
                "age_at_offence": rec.get("perpetrator.age_at_offence"),
                "role_details": rec.get("perpetrator.role_details"),
            })
        for stage, event_type in EVENT_STAGES.items():
            prefix = f"event.{stage}."
            fields = {k[len(prefix):]: v for k, v in rec.items() if k.startswith(prefix)}
            if not fields:
                continue
            start = _date(fields.get("date_from"))
            rows["trafficking_event"].append({
                "id": new_id(), "case_id": case_id, "person_id": pid, "event_type": event_type,
                "country": fields.get("country"), "admin_area": fields.get("admin_area"),
                "city": fields.get("city"), "place": fields.get("place"), "date_from": start,
                "date_to": _date(fields.get("date_to")) or start, "description": None,
                **self._provenance(org_id, None),
            })
        for plan_type in rec.get("support_plan.types", ()):
            rows["support_plan"].append({
                "id": new_id(), "case_id": case_id, "person_id": pid, "plan_type": plan_type,
                "objectives": None, "action_plan": None, "planned_end_date": None,
                "actual_end_date": None, **self._provenance(org_id, None),
            })
        if "consent.given" in rec:
            rows["consent"].append({
                "id": new_id(), "person_id": pid, "scope": "DataProcessing",
                "given": rec["consent.given"], "decided_on": rec.get("consent.date"),
                **self._provenance(org_id, None),
            })

    def _referrals(
        self, rec: Record, org_id: str, case_id: str, rows: dict[str, list[dict[str, Any]]]
    ) -> None:
        for direction in ("incoming", "outgoing"):
            prefix = f"referral.{direction}."
            fields = {k[len(prefix):]: v for k, v in rec.items() if k.startswith(prefix)}
            if not fields:
                continue
            key = (case_id, direction, fields.get("organisation"), fields.get("date"),
                   fields.get("reason"))
            if key in self._referral_keys:
                continue
            self._referral_keys.add(key)
            rows["referral"].append({
                "id": new_id(), "case_id": case_id, "direction": direction,
                "other_organisation": fields.get("organisation"),
                "referral_date": fields.get("date"), "reason": fields.get("reason"),
                "details": fields.get("details"), "case_worker": fields.get("case_worker"),
                **self._provenance(org_id, None),
            })

    def _flush(
        self, rows: dict[str, list[dict[str, Any]]], person_updates: list[dict[str, Any]],
        case_updates: dict[str, dict[str, Any]], replaced: list[str],
    ) -> None:
        conn = self.conn
        if case_updates:
            case = table_of(m.Case)
            reset = list(case_updates)
            for start in range(0, len(reset), 500):
                chunk = reset[start:start + 500]
                ref = table_of(m.Referral)
                conn.execute(delete(ref).where(ref.c.case_id.in_(chunk)))
            conn.execute(
                update(case).where(case.c.id == bindparam("b_id")), list(case_updates.values())
            )
        for start in range(0, len(replaced), 500):
            chunk = replaced[start:start + 500]
            for table in _PERSON_CHILDREN:
                conn.execute(delete(table).where(table.c.person_id.in_(chunk)))
        if person_updates:
            person = table_of(m.Person)
            conn.execute(update(person).where(person.c.id == bindparam("b_id")), person_updates)
        for name in ("case_file", "person", "person_code", "victim_context",
                     "perpetrator_context", "trafficking_event", "referral", "support_plan",
                     "consent"):
            if rows.get(name):
                conn.execute(insert(Base.metadata.tables[name]), rows[name])
