"""Scheduled jobs behind ``maillon jobs run`` (cron or a systemd timer, e.g. once a day).

:data:`JOBS` is a tuple of callables ``job(ctx) -> JobReport``; a capability adds its job by
appending to it (``JOBS = (*JOBS, my_job)`` in its own module, imported by ``maillon.cli``) or
by editing this tuple. Each job owns its transactions and must be safe to run twice a day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from maillon.auth.context import Security
from maillon.core.settings import Settings
from maillon.identify.context import Actor, Tools, audit, write_scope
from maillon.refer.models import NrmCase
from maillon.refer.service import Due, due_cases
from maillon.store.api import Store
from maillon.store.crypto import FieldCipher


@dataclass(frozen=True)
class JobContext:
    settings: Settings
    store: Store
    security: Security
    today: date
    actor: str = "system"


@dataclass
class JobReport:
    name: str
    lines: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


Job = Callable[[JobContext], JobReport]


def _line(kind: str, d: Due) -> str:
    late = f"{d.days_late} day(s) late" if d.days_late > 0 else f"due {d.deadline}"
    return (f"{kind}: workflow case {d.case_id} in {d.state}, owner {d.owner_role}"
            f" ({d.owner or 'unassigned'}), deadline {d.deadline}, {late}")


def nrm_reminders(ctx: JobContext) -> JobReport:
    """Overdue workflow cases, and reminders for deadlines coming up (once per case and day).

    Lines hold ids, states and owners only, never personal data."""
    report = JobReport("nrm_reminders")
    with ctx.store.sessions() as session:
        overdue, soon = due_cases(session, today=ctx.today)
    tools = Tools(FieldCipher(ctx.security.keys, ctx.store.engine), ctx.security.audit)
    actor = Actor(ctx.actor, None, "job")
    reminded = 0
    with write_scope(ctx.store.engine, tools) as session:
        for kind, items in (("OVERDUE", overdue), ("REMINDER", soon)):
            for d in items:
                report.lines.append(_line(kind, d))
                row = session.execute(select(NrmCase).where(NrmCase.id == d.case_id)
                                      ).scalar_one()
                if row.last_reminder_on == ctx.today:
                    continue
                row.last_reminder_on = ctx.today
                reminded += 1
                audit(session, tools, actor, action="remind", resource="nrm_case",
                      resource_id=d.case_id,
                      detail={"kind": kind.lower(), "deadline": d.deadline.isoformat()})
    report.counts = {"overdue": len(overdue), "due_soon": len(soon), "reminded": reminded}
    return report


JOBS: tuple[Job, ...] = (nrm_reminders,)
"""The jobs ``maillon jobs run`` runs, in order."""


def run_jobs(ctx: JobContext, jobs: tuple[Job, ...] | None = None,
             only: str | None = None) -> list[JobReport]:
    chosen = JOBS if jobs is None else jobs
    return [job(ctx) for job in chosen if only is None or job.__name__ == only]
