"""The national referral workflow: transitions, refusals, working-day deadlines, overdue list,
reminders from the jobs runner, audit of every transition."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from maillon.auth.context import Security
from maillon.core.errors import ConfigurationError, Conflict, InvalidInput
from maillon.core.settings import Settings
from maillon.identify.context import write_scope
from maillon.refer import service as svc
from maillon.refer.jobs import JOBS, JobContext, run_jobs
from maillon.refer.workflow import add_working_days, get_workflow, parse_workflow
from maillon.store.api import Store
from maillon.store.audit_models import AuditEntry
from tests.identify_helpers import actor_in, tools_for

pytestmark = pytest.mark.database


def test_working_days_skip_weekends_and_english_holidays() -> None:
    wf = get_workflow("uk_nrm")
    # Thursday 2 April 2026: Good Friday 3 April and Easter Monday 6 April are bank holidays
    assert wf.add_working_days(date(2026, 4, 2), 5) == date(2026, 4, 13)
    # no holiday: Monday + 5 working days = next Monday
    assert wf.add_working_days(date(2026, 3, 2), 5) == date(2026, 3, 9)
    assert add_working_days(date(2026, 3, 6), 1, {}) == date(2026, 3, 9)
    assert wf.deadline_for("referred", date(2026, 4, 2)) == date(2026, 4, 13)
    assert wf.not_before_for("recovery_period", date(2026, 3, 2)) == date(2026, 4, 1)
    assert wf.remind_on(date(2026, 4, 13)) == date(2026, 4, 10)


def test_workflow_file_is_checked(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "bad.yaml"  # type: ignore[operator]
    path.write_text("id: x\ntitle: x\nversion: '1'\ncountry: GB\ninitial: a\n"
                    "states: {a: {owner: x}}\ntransitions: {go: {from: [a], to: b}}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigurationError, match="unknown states"):
        parse_workflow(path)


def _audit_count(store: Store) -> int:
    with store.sessions() as s:
        return int(s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.resource == "nrm_case")).scalar_one())


def test_full_path_and_refusals(settings: Settings, store: Store) -> None:
    tools, actor = tools_for(settings, store), actor_in(store)
    with write_scope(store.engine, tools, actor.organisation_id) as s:
        case = svc.open_nrm_case(s, tools, actor, on=date(2026, 4, 1))
    assert case.state == "identified" and case.available == ["refer", "close"]

    def step(name: str, on: date, reason: str | None = None) -> svc.NrmView:
        with write_scope(store.engine, tools) as s:
            return svc.transition(s, tools, actor, case.id, name, on=on, reason=reason)

    with pytest.raises(Conflict, match="not allowed from state 'identified'"):
        step("cg_positive", date(2026, 4, 2))
    v = step("refer", date(2026, 4, 2))
    assert v.state == "referred" and v.deadline == date(2026, 4, 13)
    assert v.owner_role == "competent_authority"
    with pytest.raises(InvalidInput, match="needs a reason"):
        step("rg_negative", date(2026, 4, 3))
    v = step("rg_positive", date(2026, 4, 8))
    assert v.state == "recovery_period" and v.not_before == date(2026, 5, 8)
    with pytest.raises(Conflict, match="not allowed before 2026-05-08"):
        step("cg_positive", date(2026, 5, 7))
    with pytest.raises(InvalidInput, match="before the current state"):
        step("cg_positive", date(2026, 4, 1))
    step("cg_positive", date(2026, 5, 8))
    step("start_support", date(2026, 5, 11))
    v = step("close", date(2026, 9, 1), "support completed")
    assert v.state == "closed" and v.available == []
    with pytest.raises(Conflict, match="closed"):
        step("refer", date(2026, 9, 2))
    assert [h["transition"] for h in v.history] == [
        "open", "refer", "rg_positive", "cg_positive", "start_support", "close"]
    assert _audit_count(store) == 6  # every transition audited, refusals not


def test_reconsideration_path(settings: Settings, store: Store) -> None:
    tools, actor = tools_for(settings, store), actor_in(store)
    with write_scope(store.engine, tools, actor.organisation_id) as s:
        case = svc.open_nrm_case(s, tools, actor, on=date(2026, 3, 2))
    for name, on, reason in [("refer", date(2026, 3, 2), None),
                             ("rg_negative", date(2026, 3, 5), "no indicators confirmed"),
                             ("request_rg_reconsideration", date(2026, 3, 6), "new evidence"),
                             ("rg_positive", date(2026, 3, 10), None)]:
        with write_scope(store.engine, tools) as s:
            v = svc.transition(s, tools, actor, case.id, name, on=on, reason=reason)
    assert v.state == "recovery_period"


def test_overdue_list_and_reminder_job(settings: Settings, store: Store) -> None:
    tools, actor = tools_for(settings, store), actor_in(store)
    ids = []
    for on in (date(2026, 3, 2), date(2026, 3, 9)):
        with write_scope(store.engine, tools, actor.organisation_id) as s:
            c = svc.open_nrm_case(s, tools, actor, on=on)
        with write_scope(store.engine, tools) as s:
            svc.transition(s, tools, actor, c.id, "refer", on=on)
        ids.append(c.id)
    # first: deadline 2026-03-09; second: 2026-03-16 (reminder day 2026-03-13)
    with store.sessions() as s:
        overdue, soon = svc.due_cases(s, today=date(2026, 3, 13))
    assert [d.case_id for d in overdue] == [ids[0]] and overdue[0].days_late == 4
    assert [d.case_id for d in soon] == [ids[1]]

    ctx = JobContext(settings, store, Security.open(settings), date(2026, 3, 13), "cron")
    assert JOBS and callable(JOBS[0])
    [report] = run_jobs(ctx)
    assert report.counts == {"overdue": 1, "due_soon": 1, "reminded": 2}
    assert report.lines[0].startswith(f"OVERDUE: workflow case {ids[0]}")
    assert "competent_authority" in report.lines[0]
    [again] = run_jobs(ctx)
    assert again.counts["reminded"] == 0  # once per case and day
    extra = run_jobs(ctx, jobs=(*JOBS, lambda c: type(report)("extra")), only=None)
    assert [r.name for r in extra] == ["nrm_reminders", "extra"]
