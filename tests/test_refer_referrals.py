"""Services directory, referrals with consent and need-to-know fields, transnational packages
between two instances."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from maillon.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from maillon.core.settings import Settings
from maillon.identify.context import Actor, Tools, write_scope
from maillon.refer import service as svc
from maillon.refer import transnational as tn
from maillon.refer.models import ServiceReferral
from maillon.store.api import Store, open_store
from maillon.store.audit_models import AuditEntry
from tests.identify_helpers import actor_in, screen, tools_for


def _provider(store: Store, tools: Tools, actor: Actor, *, org: str | None,
              capacity: int | None = 2, name: str = "Safe House North") -> str:
    from tests.auth_helpers import organisation_id

    with write_scope(store.engine, tools) as s:
        return svc.add_provider(s, tools, actor, name=name, service_type="shelter",
                                capacity=capacity,
                                organisation_id=organisation_id(store, org) if org else None)


@pytest.mark.database
def test_referral_consent_gate_and_need_to_know(settings: Settings, store: Store) -> None:
    tools, worker = tools_for(settings, store), actor_in(store)
    shelter_user = actor_in(store, "Shelter Hope", "sol.shelter")
    scr = screen(store, tools, worker, birth=date(1994, 3, 2))
    assert scr.recommendation == "refer_as_presumed_victim" and not scr.is_child
    pid = _provider(store, tools, worker, org="Shelter Hope")

    def refer(**kw: object) -> str:
        args: dict[str, object] = {"screening_id": scr.id, "provider_id": pid,
                                   "fields": ["name", "language", "needs"], "consent": "given",
                                   "needs": "a safe bed tonight"}
        args.update(kw)
        with write_scope(store.engine, tools, shelter_user.organisation_id) as s:
            return svc.create_referral(s, tools, worker, **args)  # type: ignore[arg-type]

    with pytest.raises(InvalidInput, match="not valid"):
        refer(consent="")
    with pytest.raises(InvalidInput, match="consent is required for an adult"):
        refer(consent="not_required_child")
    with pytest.raises(PermissionDenied):
        refer(consent="override", override_reason="danger to life")
    with pytest.raises(InvalidInput, match="reason"):
        refer(consent="override", may_override=True)
    with pytest.raises(InvalidInput):
        refer(fields=["name", "passport_number"])
    rid = refer()
    override = refer(consent="override", override_reason="immediate danger", may_override=True)

    with store.sessions() as s:
        raw = s.get(ServiceReferral, rid)
        assert raw is not None and "Amina" not in (raw.payload or "")  # encrypted at rest
        actions = s.execute(select(AuditEntry.action).where(
            AuditEntry.resource_id == override)).scalars().all()
    assert "consent_override" in actions

    with write_scope(store.engine, tools) as s:
        inbox = svc.incoming_referrals(s, tools, shelter_user)
    mine = next(v for v in inbox if v.id == rid)
    assert mine.data == {"name": "Amina Okafor", "language": "en",
                         "needs": "a safe bed tonight"}
    assert "evidence_notes" not in json.dumps([v.data for v in inbox])
    with write_scope(store.engine, tools) as s:  # the sender's org does not see the copy
        assert svc.incoming_referrals(s, tools, worker) == []

    with write_scope(store.engine, tools) as s:
        with pytest.raises(NotFound):
            svc.set_referral_status(s, tools, worker, rid, "accepted")
    with write_scope(store.engine, tools) as s:
        assert svc.set_referral_status(s, tools, shelter_user, rid, "accepted").status == \
            "accepted"
    with write_scope(store.engine, tools) as s:
        svc.set_referral_status(s, tools, shelter_user, override, "accepted")
    with store.sessions() as s:
        [row] = svc.list_providers(s)
    assert row["in_use"] == 2 and row["available"] == 0
    third = refer()
    with write_scope(store.engine, tools) as s, pytest.raises(Conflict, match="no free place"):
        svc.set_referral_status(s, tools, shelter_user, third, "accepted")
    with write_scope(store.engine, tools) as s:
        svc.set_referral_status(s, tools, shelter_user, rid, "done")
    with write_scope(store.engine, tools) as s, pytest.raises(Conflict):
        svc.set_referral_status(s, tools, shelter_user, rid, "accepted")


def test_child_needs_no_consent(settings: Settings, store: Store) -> None:
    tools, worker = tools_for(settings, store), actor_in(store)
    scr = screen(store, tools, worker, birth=date(2011, 1, 1),
                 answers={"ex_hours": "", "ex_salary": ""})
    assert scr.is_child
    pid = _provider(store, tools, worker, org=None)
    with write_scope(store.engine, tools, worker.organisation_id) as s:
        rid = svc.create_referral(s, tools, worker, screening_id=scr.id, provider_id=pid,
                                  fields=["is_child"], consent="not_required_child")
    assert rid


# --- two instances ---------------------------------------------------------------------


class Instance:
    def __init__(self, root: Path, store: Store | None = None) -> None:
        self.settings = Settings(data_dir=root / "data", key_file=root / "keys" / "keys.json",
                                 audit_anchor=root / "keys" / "anchor.json")
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = store or open_store(self.settings)
        self.tools = tools_for(self.settings, self.store)
        self.keys = tn.InstanceKeys.open_or_create(tn.instance_key_path(self.settings.key_file))
        self.actor = actor_in(self.store, f"Focal point {root.name}", f"op.{root.name}")

    def register(self, name: str, other: Instance) -> None:
        with write_scope(self.store.engine, self.tools) as s:
            tn.add_partner(s, self.tools, self.actor, name=name,
                           signing_key=other.keys.signing_public,
                           encryption_key=other.keys.encryption_public)

    def receive(self, package: bytes) -> tn.ImportResult:
        with write_scope(self.store.engine, self.tools, self.actor.organisation_id) as s:
            return tn.import_package(s, self.tools, self.actor, self.keys, package)


@pytest.fixture
def instances(tmp_path: Path, settings: Settings, store: Store
              ) -> tuple[Instance, Instance, Instance]:
    a = Instance(tmp_path / "a", None)
    b = Instance(tmp_path / "b", store)
    c = Instance(tmp_path / "c", None)
    a.register("Instance B", b)
    b.register("Instance A", a)
    c.register("Instance A", a)
    return a, b, c


def _tamper(package: bytes, where: str) -> bytes:
    doc = json.loads(package)
    if where == "ciphertext":
        raw = bytearray(base64.b64decode(doc["ciphertext"]))
        raw[5] ^= 1
        doc["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    else:
        doc["header"]["kind"] = "status" if where == "header" else doc["header"]["kind"]
    return json.dumps(doc).encode()


def test_two_instances_exchange_a_referral(instances: tuple[Instance, Instance, Instance]
                                           ) -> None:
    a, b, c = instances
    scr = screen(a.store, a.tools, a.actor, birth=date(1994, 3, 2))
    with write_scope(a.store.engine, a.tools) as s:
        pid = svc.add_provider(s, a.tools, a.actor, name="Partner NGO abroad",
                               service_type="shelter", country="FR")
    with write_scope(a.store.engine, a.tools, a.actor.organisation_id) as s:
        rid = svc.create_referral(s, a.tools, a.actor, screening_id=scr.id, provider_id=pid,
                                  fields=["name", "nationality", "recommendation"],
                                  consent="given")
    with write_scope(a.store.engine, a.tools) as s:
        package = tn.export_referral(s, a.tools, a.actor, a.keys, referral_id=rid,
                                     partner_name="Instance B")
    assert b"Amina" not in package and b"Okafor" not in package

    # only B opens it: C is a registered partner of A but not the recipient
    with pytest.raises(tn.PackageError, match="not addressed to this instance"):
        c.receive(package)
    for where in ("ciphertext", "header"):
        with pytest.raises(tn.PackageError, match="signature"):
            b.receive(_tamper(package, where))
    got = b.receive(package)
    assert got.kind == "referral" and got.partner == "Instance A"
    with write_scope(b.store.engine, b.tools) as s:
        seen = tn.received_referral(s, b.tools, b.actor, got.package_id)
    assert set(seen["data"]) == {"name", "nationality", "recommendation"}
    assert seen["data"]["name"] == "Amina Okafor"
    assert "evidence_notes" not in seen["data"] and "birth_date" not in seen["data"]
    with pytest.raises(Conflict, match="already imported"):
        b.receive(package)

    # receipt and status feedback go back to A
    assert got.reply is not None
    ack = a.receive(got.reply)
    assert ack.kind == "ack"
    with write_scope(b.store.engine, b.tools) as s:
        feedback = tn.status_feedback(s, b.tools, b.actor, b.keys,
                                      package_id=got.package_id, status="accepted",
                                      note="place found")
    assert a.receive(feedback).detail["status"] == "accepted"
    with a.store.sessions() as s:
        [out] = [p for p in tn.list_packages(s) if p["direction"] == "out"]
    assert out["acknowledged_at"] is not None and out["status"] == "accepted"
    a.store.close()
    c.store.close()


def test_unknown_sender_is_refused(instances: tuple[Instance, Instance, Instance]) -> None:
    a, b, c = instances
    with write_scope(c.store.engine, c.tools) as s:
        c_partner = tn.find_partner(s, "Instance A")
    _, package = tn.seal(c.keys, c_partner, "ack", {"about": "x"})
    with pytest.raises(tn.PackageError, match="not a registered partner"):
        a.receive(package)
    with pytest.raises(InvalidInput, match="32 bytes"):
        with write_scope(a.store.engine, a.tools) as s:
            tn.add_partner(s, a.tools, a.actor, name="bad", signing_key="AAAA",
                           encryption_key="AAAA")
    a.store.close()
    c.store.close()
