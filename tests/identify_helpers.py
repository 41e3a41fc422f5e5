"""Helpers for the identify/refer tests: tools, actors, a screened person."""

from __future__ import annotations

from datetime import date, datetime, timezone

from maillon.auth.context import Security
from maillon.core.settings import Settings
from maillon.identify.context import Actor, Tools, write_scope
from maillon.identify.service import Answer, ScreeningView, Subject, record_screening
from maillon.store.api import Store
from maillon.store.crypto import FieldCipher
from tests.auth_helpers import organisation_id

ADULT_VICTIM = {"dr_nature_job": "promised hotel work, sent to a farm", "dr_wages": "",
                "ex_hours": "14 hours a day, 7 days", "ex_salary": "",
                "cd_documents": "passport kept by the boss", "cd_debt": ""}


def tools_for(settings: Settings, store: Store) -> Tools:
    security = Security.open(settings)
    return Tools(FieldCipher(security.keys, store.engine), security.audit)


def actor_in(store: Store, org: str = "Police Unit 7", username: str = "cara.worker") -> Actor:
    return Actor(username, organisation_id(store, org), "test")


def screen(store: Store, tools: Tools, actor: Actor, *, birth: date | None = None,
           answers: dict[str, str] | None = None) -> ScreeningView:
    with write_scope(store.engine, tools, actor.organisation_id) as session:
        return record_screening(
            session, tools, actor, framework_id="delphi_adult_labour",
            subject=Subject("Amina Okafor", birth, "female", "NG", "en"),
            answers={c: Answer(True, n) for c, n in (answers or ADULT_VICTIM).items()},
            on=datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc))  # noqa: UP017
