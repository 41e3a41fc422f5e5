"""The identify/refer part of ``make run``: a demo screening, referral and workflow case."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rich.console import Console
from sqlalchemy import select

from maillon.auth.context import Security
from maillon.auth.orgs import create_organisation
from maillon.core.ids import slug
from maillon.core.settings import Settings
from maillon.identify.context import Actor, Tools, write_scope
from maillon.identify.models import Screening
from maillon.identify.service import Answer, Subject, record_screening
from maillon.refer import service as svc
from maillon.store.api import Store
from maillon.store.crypto import FieldCipher
from maillon.store.models import Organisation

DEMO_PLACE = "Demo interview room"
DEMO_ANSWERS = {
    "dr_nature_job": "Promised a hotel job; taken to a farm (synthetic example)",
    "dr_wages": "",
    "ex_hours": "Works 14 hours a day, 7 days a week",
    "ex_salary": "",
    "cd_documents": "Passport kept by the employer",
    "cd_debt": "Told she owes the travel costs",
}
SERVICES = (
    ("Safe Haven Shelter", "shelter", 12, True),
    ("City Hospital Trauma Unit", "medical", None, False),
    ("Free Legal Clinic", "legal", 30, False),
    ("Interpreters Network", "interpretation", None, False),
)


def _org(store: Store, name: str) -> str:
    with store.sessions() as session, session.begin():
        found = session.execute(select(Organisation.id).where(Organisation.name == name)
                                ).scalar_one_or_none()
        return found or create_organisation(session, name=name, code=slug(name)).id


def run_identify_demo(settings: Settings, store: Store, *, console: Console,
                      organisation: str = "Police Anti-Trafficking Unit",
                      screener: str = "demo.case-worker",
                      receiving_organisation: str = "Safe Haven Shelter") -> None:
    """Services directory, one screening with its explained recommendation, a consented
    referral to a shelter (name, language and needs only) and a national-referral workflow
    case, recorded as ``screener`` of ``organisation``. Safe to run twice (does nothing more)."""
    security = Security.open(settings)
    tools = Tools(FieldCipher(security.keys, store.engine), security.audit)
    org_id = _org(store, organisation)
    shelter_id = _org(store, receiving_organisation)
    actor = Actor(screener, org_id, "demo")
    with store.sessions() as session:
        done = session.execute(select(Screening.id).where(
            Screening.place == DEMO_PLACE, Screening.organisation_id == org_id)).first()
        existing = {p["name"]: p["id"] for p in svc.list_providers(session)}
    if done:
        console.print("Identify demo: already present.")
        return
    for name, kind, capacity, has_account in SERVICES:
        if name not in existing:
            with write_scope(store.engine, tools) as session:
                existing[name] = svc.add_provider(
                    session, tools, actor, name=name, service_type=kind, capacity=capacity,
                    organisation_id=shelter_id if has_account else None, country="GB")
    with write_scope(store.engine, tools, org_id) as session:
        view = record_screening(
            session, tools, actor, framework_id="delphi_adult_labour",
            subject=Subject("Demo Person A (synthetic)", date(1996, 6, 1), "female", "NG",
                            "en"),
            answers={c: Answer(True, n) for c, n in DEMO_ANSWERS.items()},
            place=DEMO_PLACE, on=datetime.now(UTC))
    with write_scope(store.engine, tools, shelter_id, org_id) as session:
        svc.create_referral(session, tools, actor, screening_id=view.id,
                            provider_id=existing["Safe Haven Shelter"],
                            fields=["name", "language", "needs"], consent="given",
                            needs="Safe accommodation tonight; interpreter not needed")
    today = date.today()
    with write_scope(store.engine, tools, org_id) as session:
        case = svc.open_nrm_case(session, tools, actor, on=today, screening_id=view.id)
    with write_scope(store.engine, tools) as session:
        case = svc.transition(session, tools, actor, case.id, "refer", on=today)
    positive = [d["title"] for d in view.result["dimensions"] if d["positive"]]
    console.print(f"Identify demo: screening {view.id} -> {view.recommendation} "
                  f"({', '.join(positive)}); referred to Safe Haven Shelter with consent; "
                  f"workflow case {case.id} awaiting a reasonable-grounds decision by "
                  f"{case.deadline}.")
