"""The national referral workflow as a configurable state machine (``refer/workflows/*.yaml``).

Pure functions over dates: :func:`add_working_days` counts working days, skipping the
workflow's weekend days and its country's public holidays (``holidays`` package), so "a
reasonable-grounds decision within 5 working days" is a date. :meth:`Workflow.check` refuses a
transition that is not allowed from the current state, that lacks a required reason, or that
comes before the state's minimum duration (the recovery period).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import holidays
import yaml

from maillon.core.errors import ConfigurationError, Conflict, FieldError, InvalidInput, NotFound

WORKFLOW_DIR = Path(str(resources.files("maillon.refer") / "workflows"))


@dataclass(frozen=True)
class Deadline:
    days: int
    working: bool


@dataclass(frozen=True)
class State:
    name: str
    title: str
    owner: str
    deadline: Deadline | None
    minimum_days: int | None
    terminal: bool


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    reason_required: bool
    after_minimum: bool


@dataclass(frozen=True)
class Workflow:
    id: str
    title: str
    version: str
    source: str
    country: str
    subdivision: str | None
    weekend: tuple[int, ...]
    remind_before: int
    initial: str
    states: dict[str, State]
    transitions: dict[str, Transition]

    def state(self, name: str) -> State:
        try:
            return self.states[name]
        except KeyError:
            raise NotFound(f"workflow {self.id} has no state {name!r}") from None

    def available(self, state: str) -> list[Transition]:
        """Transitions allowed from ``state``, in file order."""
        return [t for t in self.transitions.values() if state in t.sources]

    def check(self, state: str, transition: str, *, on: date, not_before: date | None,
              reason: str | None) -> Transition:
        """The transition if it may be taken now, else :class:`Conflict`/:class:`InvalidInput`."""
        t = self.transitions.get(transition)
        if t is None:
            raise InvalidInput(f"unknown transition {transition!r}",
                               [FieldError("unknown transition", "transition", value=transition)])
        if state not in t.sources:
            allowed = ", ".join(x.name for x in self.available(state)) or "none"
            raise Conflict(f"transition {transition!r} is not allowed from state {state!r} "
                           f"(allowed: {allowed})")
        if t.reason_required and not (reason or "").strip():
            raise InvalidInput(f"transition {transition!r} needs a reason",
                               [FieldError("a reason is required", "reason")])
        if t.after_minimum and not_before is not None and on < not_before:
            raise Conflict(f"transition {transition!r} is not allowed before {not_before} "
                           f"(minimum duration of state {state!r})")
        return t

    def holidays(self, years: range) -> holidays.HolidayBase:
        return holidays.country_holidays(self.country, subdiv=self.subdivision, years=years)

    def add_working_days(self, start: date, days: int) -> date:
        return add_working_days(start, days, self.holidays(range(start.year, start.year + 2)),
                                self.weekend)

    def deadline_for(self, state: str, entered: date) -> date | None:
        d = self.state(state).deadline
        if d is None:
            return None
        if d.working:
            return self.add_working_days(entered, d.days)
        return entered + timedelta(days=d.days)

    def not_before_for(self, state: str, entered: date) -> date | None:
        m = self.state(state).minimum_days
        return None if m is None else entered + timedelta(days=m)

    def remind_on(self, deadline: date) -> date:
        """The working day ``remind_before`` working days before ``deadline``."""
        hol = self.holidays(range(deadline.year - 1, deadline.year + 1))
        day, left = deadline, self.remind_before
        while left > 0:
            day -= timedelta(days=1)
            if day.weekday() not in self.weekend and day not in hol:
                left -= 1
        return day


def add_working_days(start: date, days: int, public_holidays: Any,
                     weekend: tuple[int, ...] = (5, 6)) -> date:
    """``start`` plus ``days`` working days (``start`` itself not counted)."""
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() not in weekend and day not in public_holidays:
            left -= 1
    return day


def _deadline(spec: Any, where: str) -> Deadline | None:
    if spec is None:
        return None
    if isinstance(spec, dict) and len(spec) == 1:
        (kind, n), = spec.items()
        if kind in ("working_days", "calendar_days") and isinstance(n, int) and n >= 0:
            return Deadline(n, kind == "working_days")
    raise ConfigurationError(f"{where}: use {{working_days: N}} or {{calendar_days: N}}")


def parse_workflow(path: Path) -> Workflow:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    where = f"workflow {path.name}"
    try:
        states = {}
        for name, s in doc["states"].items():
            minimum = _deadline(s.get("minimum"), f"{where}: state {name} minimum")
            if minimum is not None and minimum.working:
                raise ConfigurationError(f"{where}: state {name}: minimum is in calendar_days")
            states[name] = State(name, str(s.get("title", name)), str(s["owner"]),
                                 _deadline(s.get("deadline"), f"{where}: state {name}"),
                                 minimum.days if minimum else None, bool(s.get("terminal")))
        transitions = {}
        for name, t in doc["transitions"].items():
            transitions[name] = Transition(name, tuple(t["from"]), str(t["to"]),
                                           bool(t.get("reason_required")),
                                           bool(t.get("after_minimum")))
        wf = Workflow(str(doc["id"]), str(doc["title"]), str(doc["version"]),
                      str(doc.get("source", "")), str(doc["country"]), doc.get("subdivision"),
                      tuple(doc.get("weekend", (5, 6))),
                      int(doc.get("remind_before_working_days", 1)), str(doc["initial"]),
                      states, transitions)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(f"{where} is malformed: {exc}") from exc
    known = set(states)
    for t in transitions.values():
        bad = [s for s in (*t.sources, t.target) if s not in known]
        if bad:
            raise ConfigurationError(f"{where}: transition {t.name} names unknown states {bad}")
    if wf.initial not in known:
        raise ConfigurationError(f"{where}: initial state {wf.initial!r} is not a state")
    try:
        wf.holidays(range(2024, 2025))
    except NotImplementedError as exc:
        raise ConfigurationError(f"{where}: no public holidays for {wf.country}") from exc
    return wf


@cache
def get_workflow(workflow_id: str = "uk_nrm") -> Workflow:
    path = WORKFLOW_DIR / f"{workflow_id}.yaml"
    if not path.is_file():
        raise NotFound(f"no referral workflow {workflow_id!r}")
    return parse_workflow(path)
