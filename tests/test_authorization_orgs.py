"""Own / other organisation, for every role: the object-level half of the authorisation matrix.

Every route whose path names a record (``{case_id}``, ``{alert_id}`` ...) is looked up in
:data:`RECORD_KINDS` by the path before the parameter; a record parameter with no entry fails
:func:`test_every_record_parameter_has_a_factory`, so a new capability cannot forget to say how
to make one of its records. Each kind has a factory that makes a record for a given
organisation, with a unique marker in its visible fields. Then, signed in as every built-in role
of "Police Unit 7":

* every route, every method, called with a record of "Harbour Police": 403 or 404, never the
  marker in the answer, and no row of the database changed (a refused write wrote nothing);
* the same route with a record of Police Unit 7: allowed (not 401/403/404, no 5xx) for every role
  whose grant for the route's (resource, action) has organisation scope, and for ``own`` scope on
  a record the caller made; refused (403/404) for a role with no grant; ``team`` scope may get
  either (the test's accounts have no team). Each allowed write gets a fresh record;
* every list route (GET without a record parameter) and every search in :data:`SEARCHES`: the
  answer never holds the other organisation's ids or markers, while the own organisation's
  records do show up somewhere (so the check is not vacuous).

Mutating routes need a valid body, or FastAPI would answer 422 before any scope check ran:
:data:`CALLS` gives one per (method, path), and a mutating record route without one fails.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from maillon.auth.context import Security
from maillon.auth.roles import roles
from maillon.core.settings import Settings
from maillon.store.api import Store
from maillon.store.registry import Base
from tests.auth_helpers import organisation_id, sign_in
from tests.test_authorization_matrix import SKIPPED
from tests.test_web_security import PUBLIC, _api_routes

pytestmark = pytest.mark.database

OWN, OTHER = "Police Unit 7", "Harbour Police"
PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@dataclass
class World:
    """What factories need: the store, the installation's keys and audit, a scratch folder."""

    store: Store
    settings: Settings
    tmp_path: Path
    security: Security
    made: dict[str, list[str]] = field(default_factory=dict)
    """organisation name -> every id made for it, the records' own and those made on the way"""

    def org(self, name: str) -> str:
        return organisation_id(self.store, name)

    def record(self, org: str, *ids: str) -> None:
        self.made.setdefault(org, []).extend(ids)

    def tools(self) -> Any:
        from maillon.identify.context import Tools
        from maillon.store.crypto import FieldCipher

        return Tools(FieldCipher(self.security.keys, self.store.engine), self.security.audit)


@dataclass(frozen=True)
class Spec:
    """One record to make: for ``org``, with ``marker`` in the fields a reader sees, counted as
    created by ``creator`` (a username; None: someone else) for roles with ``own`` scope."""

    org: str
    marker: str
    creator: str | None = None


Factory = Callable[[World, Spec], str]


@dataclass(frozen=True)
class Kind:
    """A kind of record named in paths: the resource whose grants open it, and how to make
    records of it. ``make`` gets every record the test needs at once (a linkage run rebuilds the
    whole review queue, so its pairs must come from one run) and returns their ids in order."""

    resource: str
    make: Callable[[World, list[Spec]], list[str]]


def each(factory: Factory) -> Callable[[World, list[Spec]], list[str]]:
    """A batch factory that makes its records one by one."""
    def make(world: World, specs: list[Spec]) -> list[str]:
        return [factory(world, spec) for spec in specs]
    make.__name__ = factory.__name__
    return make


def _marker(side: str) -> str:
    """A word that appears nowhere else: letters only, so it passes every name validation."""
    return f"Qzx{side}" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))


# --- factories -----------------------------------------------------------------------------


def _import(world: World, spec: Spec) -> tuple[str, str]:
    """One good row and one quarantined row; returns (case id, batch id)."""
    from maillon.collect.api import ImportOptions, import_file
    from tests.factories import row, write_csv

    marker = spec.marker
    source = world.tmp_path / "input"
    source.mkdir(exist_ok=True)
    rows = [row(record_id=f"R-{marker}", case_id=f"C-{marker}", org_Name=spec.org,
                prs_FirstName=marker, prs_SecondName=marker),
            row(record_id=f"Q-{marker}", case_id=f"C-{marker}", org_Name=spec.org,
                prs_Gender="Robot", prs_FirstName=marker, prs_SecondName=marker)]
    path = write_csv(source / f"{marker}.csv", rows)
    report = import_file(world.store.engine, path, ImportOptions(
        skip_bad_rows=True, owner_organisation_id=world.org(spec.org),
        user=spec.creator or "system"), display_name=path.name)
    assert report.status == "partial", report
    with world.store.engine.connect() as conn:
        case_id = str(conn.execute(text("SELECT id FROM case_file WHERE source_record_id = :s"),
                                   {"s": f"C-{marker}"}).scalar_one())
    world.record(spec.org, case_id, report.batch_id)
    return case_id, report.batch_id


def make_case(world: World, spec: Spec) -> str:
    return _import(world, spec)[0]


def make_batch(world: World, spec: Spec) -> str:
    return _import(world, spec)[1]


def _actor(world: World, org: str, spec: Spec) -> Any:
    from maillon.identify.context import Actor

    return Actor(spec.creator or f"{spec.marker.lower()}.worker", world.org(org), "test")


def _screening(world: World, org: str, spec: Spec) -> str:
    from datetime import datetime, timezone

    from maillon.identify.context import write_scope
    from maillon.identify.service import Answer, Subject, record_screening
    from tests.identify_helpers import ADULT_VICTIM

    tools, actor, marker = world.tools(), _actor(world, org, spec), spec.marker
    with write_scope(world.store.engine, tools, actor.organisation_id) as session:
        view = record_screening(
            session, tools, actor, framework_id="delphi_adult_labour",
            subject=Subject(f"{marker} {marker}", date(1994, 3, 2), "female", "NG", "en"),
            answers={c: Answer(True, f"{n} {marker}") for c, n in ADULT_VICTIM.items()},
            on=datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc))  # noqa: UP017
    world.record(org, view.id)
    return view.id


def make_screening(world: World, spec: Spec) -> str:
    return _screening(world, spec.org, spec)


def make_nrm_case(world: World, spec: Spec) -> str:
    from maillon.identify.context import write_scope
    from maillon.refer import service as svc

    screening = _screening(world, spec.org, spec)
    tools, actor = world.tools(), _actor(world, spec.org, spec)
    with write_scope(world.store.engine, tools, actor.organisation_id) as session:
        case = svc.open_nrm_case(session, tools, actor, on=date.today(),
                                 screening_id=screening)
    world.record(spec.org, case.id)
    return case.id


def make_referral(world: World, spec: Spec) -> str:
    """A referral ADDRESSED to ``spec.org`` (the status routes are the recipient's): sent by a
    shelter to Police Unit 7, or sent and received inside Harbour Police."""
    from maillon.identify.context import write_scope
    from maillon.refer import service as svc

    sender = "Shelter Hope" if spec.org == OWN else spec.org
    screening = _screening(world, sender, Spec(sender, spec.marker))
    tools, actor = world.tools(), _actor(world, sender, Spec(sender, spec.marker))
    recipient = world.org(spec.org)
    with write_scope(world.store.engine, tools) as session:  # the directory is shared
        provider = svc.add_provider(session, tools, actor,
                                    name=f"Safe house {secrets.token_hex(4)}",
                                    service_type="shelter", capacity=500,
                                    organisation_id=recipient)
    with write_scope(world.store.engine, tools, recipient, actor.organisation_id) as session:
        rid = svc.create_referral(session, tools, actor, screening_id=screening,
                                  provider_id=provider, fields=["name", "language", "needs"],
                                  consent="given", needs=f"a safe bed for {spec.marker}")
    world.record(spec.org, rid)
    return rid


def _supplier(world: World, spec: Spec) -> tuple[str, str]:
    """A supplier whose name matches a list entry; returns (supplier id, its alert id)."""
    from maillon.screen import service
    from maillon.store.crypto import FieldCipher

    _load_screen_list(world)
    cipher = FieldCipher(world.security.keys, world.store.engine)
    org_id = world.org(spec.org)
    (outcome,) = service.register_suppliers(
        world.store,
        [service.SupplierInput(f"S-{spec.marker}", "Golden Harvest Recruitment Ltd")],
        organisation_id=org_id, user=spec.creator or f"{spec.marker.lower()}.buyer",
        audit=world.security.audit, cipher=cipher)
    with world.store.sessions() as session:
        ((alert, _),) = service.alerts(session, org_id, cipher, outcome.supplier_id, "open")
    world.record(spec.org, outcome.supplier_id, alert.id)
    return outcome.supplier_id, alert.id


def _load_screen_list(world: World) -> None:
    """A sanctions-style list with one company: reference data, shared by every organisation."""
    from maillon.screen import service

    path = world.tmp_path / "trafficking.ftm.json"
    if path.exists():
        return
    entry = {"id": "T-1", "schema": "Company",
             "properties": {"name": ["Golden Harvest Recruitment Ltd"], "country": ["np"]}}
    path.write_text(json.dumps(entry) + "\n", encoding="utf-8")
    service.load_list(world.store, "trafficking_suppliers", [path], fmt="ftm")


def make_supplier(world: World, spec: Spec) -> str:
    return _supplier(world, spec)[0]


def make_supplier_alert(world: World, spec: Spec) -> str:
    return _supplier(world, spec)[1]


def make_money_alert(world: World, spec: Spec) -> str:
    """An alert as loaded from a file: unassigned, so ``own`` scope (assigned to the caller or
    to nobody) covers it whoever the creator."""
    from maillon.money.models import MoneyAlert
    from maillon.money.queue import load_alerts_file

    marker = spec.marker
    world.org(spec.org)
    path = world.tmp_path / f"{marker}.jsonl"
    path.write_text(json.dumps({
        "alert_id": f"MA-{marker}", "account_id": f"A-{marker}",
        "accounts": [f"A-{marker}", f"B-{marker}"], "score": 0.9,
        "indicators": [{"id": "graph_fan_in", "weight": 0.3, "strength": 1.0,
                        "evidence": {"senders": 30, "transactions": []}}]}) + "\n",
        encoding="utf-8")
    report = load_alerts_file(world.settings, world.store, path, organisation=spec.org,
                              actor="loader")
    assert report.loaded == 1
    with world.store.sessions() as session:
        alert_id = session.execute(select(MoneyAlert.id).where(
            MoneyAlert.alert_ref == f"MA-{marker}")).scalar_one()
    world.record(spec.org, alert_id)
    return alert_id


def make_link_reviews(world: World, specs: list[Spec]) -> list[str]:
    """Pending pairs of two persons of one organisation each, all queued by ONE linkage run
    (a run replaces the pending queue); a scripted linker stands in for Splink."""
    from maillon.link.models import LinkReview
    from tests.link_helpers import link_run, scripted, seed

    pairs = []
    for spec in specs:
        m = spec.marker
        ids = seed(world.store, world.settings,
                   [(f"L1-{m}", m, m, "1995-02-03", "Feminine", "LB"),
                    (f"L2-{m}", m + "a", m, "1995-02-03", "Feminine", "LB")],
                   orgs=[world.org(spec.org)], created_by=spec.creator or "system")
        pairs.append((ids[f"L1-{m}"], ids[f"L2-{m}"]))
    link_run(world.store, world.settings, scripted(pairs, 0.7))
    found = []
    with world.store.sessions() as session:
        for spec, (left, right) in zip(specs, pairs, strict=True):
            review_id = session.execute(select(LinkReview.id).where(
                LinkReview.person_id_l.in_([left, right]),
                LinkReview.status == "pending")).scalar_one()
            world.record(spec.org, left, right, review_id)
            found.append(review_id)
    return found


CASE = Kind("case", each(make_case))
BATCH = Kind("import", each(make_batch))
SCREENING = Kind("person", each(make_screening))
NRM_CASE = Kind("referral", each(make_nrm_case))
REFERRAL = Kind("referral", each(make_referral))
SUPPLIER = Kind("supplier", each(make_supplier))
SUPPLIER_ALERT = Kind("supplier", each(make_supplier_alert))
MONEY_ALERT = Kind("alert", each(make_money_alert))
LINK_REVIEW = Kind("link_review", make_link_reviews)

RECORD_KINDS: dict[str, Kind] = {
    "/api/v1/cases/{case_id}": CASE,
    "/cases/{case_id}": CASE,
    "/api/v1/imports/{batch_id}": BATCH,
    "/imports/{batch_id}": BATCH,
    "/api/v1/identify/screenings/{screening_id}": SCREENING,
    "/identify/screenings/{screening_id}": SCREENING,
    "/api/v1/refer/cases/{case_id}": NRM_CASE,
    "/refer/cases/{case_id}": NRM_CASE,
    "/api/v1/refer/referrals/{referral_id}": REFERRAL,
    "/refer/referrals/{referral_id}": REFERRAL,
    "/api/v1/screen/suppliers/{supplier_id}": SUPPLIER,
    "/screen/suppliers/{supplier_id}": SUPPLIER,
    "/api/v1/screen/alerts/{alert_id}": SUPPLIER_ALERT,
    "/screen/alerts/{alert_id}": SUPPLIER_ALERT,
    "/api/v1/money/alerts/{alert_id}": MONEY_ALERT,
    "/money/alerts/{alert_id}": MONEY_ALERT,
    "/api/v1/link/review/{review_id}": LINK_REVIEW,
    "/link/review/{review_id}": LINK_REVIEW,
}
"""The path up to and including a record parameter -> the kind of record it names."""

REFERENCE_PARAMS: dict[str, str] = {
    "/api/v1/vocabularies/{name}": "code lists, the same for every organisation",
    "/api/v1/identify/frameworks/{framework_id}": "published indicator lists",
    "/api/v1/stats/tables/{name}": "table definitions; the figures are scoped in the query",
}
"""Path parameters that name reference data, not an organisation's record (and why)."""


@dataclass(frozen=True)
class Call:
    """How to call a route that names a record: the (resource, action) it needs, and a body
    valid enough that the handler runs (JSON for the API, a form for pages)."""

    action: str = "read"
    body: dict[str, Any] | None = None
    resource: str | None = None
    """when not the kind's resource"""


CALLS: dict[tuple[str, str], Call] = {
    ("POST", "/api/v1/refer/referrals/{referral_id}/status"): Call("update",
                                                                   {"status": "accepted"}),
    ("POST", "/refer/referrals/{referral_id}/status"): Call("update", {"status": "accepted"}),
    ("POST", "/api/v1/refer/cases/{case_id}/transitions"): Call("update", {"transition": "refer"}),
    ("POST", "/refer/cases/{case_id}/transition"): Call("update", {"transition": "refer"}),
    ("POST", "/api/v1/screen/alerts/{alert_id}/decision"): Call(
        "review", {"decision": "clear", "reason": "another company"}),
    ("POST", "/screen/alerts/{alert_id}"): Call(
        "review", {"decision": "clear", "reason": "another company"}),
    ("PATCH", "/api/v1/money/alerts/{alert_id}"): Call("update", {"status": "investigating"}),
    ("POST", "/money/alerts/{alert_id}"): Call("update", {"status": "investigating"}),
    ("POST", "/api/v1/money/alerts/{alert_id}/notes"): Call("update", {"body": "a note"}),
    ("POST", "/money/alerts/{alert_id}/notes"): Call("update", {"body": "a note"}),
    ("GET", "/api/v1/money/alerts/{alert_id}/goaml"): Call("export"),
    ("POST", "/api/v1/link/review/{review_id}"): Call("review", {"decision": "accept"}),
    ("POST", "/link/review/{review_id}"): Call("review", {"decision": "accept"}),
}
"""(method, path) -> its action and body; GET routes not listed are ``read`` without a body."""

SEARCHES: dict[tuple[str, str], Callable[[str], dict[str, Any]]] = {
    ("POST", "/api/v1/cases/search"): lambda name: {"json": {"q": name}},
    ("POST", "/cases"): lambda name: {"data": {"q": name}},
}
"""Searches sent with a body (names never go in URLs): request keyword arguments, given the
other organisation's marker, which is also its persons' exact name."""

NO_LIST: dict[Kind, str] = {}
"""Kinds whose records no list route shows (and why); every other kind must show up."""

IGNORED_TABLES = {"audit_entry", "audit_change", "user_session", "user_account",
                  "login_attempt", "data_key"}
"""Tables a refused request may still write: its audit entry, the caller's session."""


def _record_prefixes(path: str) -> Iterator[tuple[str, str]]:
    """(path up to and including each parameter, parameter name)."""
    for found in PARAM.finditer(path):
        yield path[:found.start()] + "{" + found.group(1) + "}", found.group(1)


def _routes(client: TestClient) -> list[APIRoute]:
    app_routes = client.app.routes  # type: ignore[attr-defined]
    return [r for r in _api_routes(app_routes) if r.path not in PUBLIC]


def _methods(route: APIRoute) -> set[str]:
    return set(route.methods or ()) - {"HEAD"}


def _kind(path: str) -> Kind | None:
    """The kind of the record the path names (its last record parameter), or None."""
    kind = None
    for prefix, _ in _record_prefixes(path):
        if prefix in RECORD_KINDS:
            kind = RECORD_KINDS[prefix]
    return kind


def test_every_record_parameter_has_a_factory(anonymous_client: TestClient) -> None:
    """A new route naming a record cannot be forgotten: say how to make one, or why not."""
    missing, bodiless, unused = [], [], set(RECORD_KINDS) | set(REFERENCE_PARAMS)
    for route in _routes(anonymous_client):
        for prefix, param in _record_prefixes(route.path):
            unused.discard(prefix)
            if prefix not in RECORD_KINDS and prefix not in REFERENCE_PARAMS:
                missing.append(f"{route.path}: {{{param}}}")
        if _kind(route.path) is not None:
            for method in _methods(route) - {"GET"}:
                if (method, route.path) not in CALLS:
                    bodiless.append(f"{method} {route.path}")
    assert missing == [], "add a factory to RECORD_KINDS (or a reason to REFERENCE_PARAMS):\n" \
        + "\n".join(missing)
    assert bodiless == [], "add a valid body to CALLS:\n" + "\n".join(bodiless)
    assert unused == set(), f"entries for routes that no longer exist: {sorted(unused)}"
    known = {(m, r.path) for r in _routes(anonymous_client) for m in _methods(r)}
    stale = [k for k in (*CALLS, *SEARCHES) if k not in known]
    assert stale == [], f"CALLS or SEARCHES name routes that no longer exist: {stale}"


def _scope(role: str, resource: str, action: str) -> str | None:
    grant = roles()[role].resources.get(resource)
    if grant is None:
        return None
    scope = grant.actions.get(action)
    return None if scope is None else str(getattr(scope, "value", scope))


def _request(client: TestClient, method: str, path: str, token: str,
             body: dict[str, Any] | None) -> Any:
    kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}",
                                          "Accept": "text/html" if not path.startswith("/api/")
                                          else "application/json"},
                              "follow_redirects": False}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json" if path.startswith("/api/") else "data"] = body or {}
    return client.request(method, path, **kwargs)


def _snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a refused request must not touch."""
    found = {}
    with store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in IGNORED_TABLES:
                continue
            rows = conn.execute(select(table)).all()
            found[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return found


def _username(role: str) -> str:
    return f"o.{role.replace('_', '-')}"


@pytest.fixture
def tokens(anonymous_client: TestClient, store: Store) -> dict[str, str]:
    found = {role: sign_in(anonymous_client, store, username=_username(role),
                           role=role, organisation=OWN) for role in roles()}
    anonymous_client.headers.pop("Authorization", None)
    return found


class Plan:
    """The records a test needs, collected first and made at once, kind by kind."""

    def __init__(self) -> None:
        self.specs: dict[Kind, list[Spec]] = {}
        self.ids: dict[Spec, str] = {}

    def want(self, kind: Kind, org: str, marker: str | None = None,
             creator: str | None = None) -> Spec:
        spec = Spec(org, marker or _marker("own" if org == OWN else "other"), creator)
        self.specs.setdefault(kind, []).append(spec)
        return spec

    def make(self, world: World) -> None:
        for kind, specs in self.specs.items():
            self.ids.update(zip(specs, kind.make(world, specs), strict=True))


@dataclass(frozen=True)
class Check:
    method: str
    route: str
    role: str
    kind: Kind
    call: Call
    scope: str | None
    other: Spec
    own: Spec


def _checks(routes: list[APIRoute], plan: Plan, other_marker: str) -> list[Check]:
    """Every (route, method, role) naming a record, with the records it will be called with:
    one record of the other organisation per kind; of the own organisation, one per kind for
    reads, and a fresh one for each write a role may make (and for ``own`` scope, one the
    caller made)."""
    kinds = list(dict.fromkeys(RECORD_KINDS.values()))
    other = {k: plan.want(k, OTHER, f"{other_marker}{i}") for i, k in enumerate(kinds)}
    shared = {k: plan.want(k, OWN) for k in kinds}
    checks = []
    for route in routes:
        kind = _kind(route.path)
        assert kind is not None
        for method in sorted(_methods(route)):
            call = CALLS.get((method, route.path), Call())
            for role in roles():
                scope = _scope(role, call.resource or kind.resource, call.action)
                own = shared[kind]
                if scope == "own":
                    own = plan.want(kind, OWN, creator=_username(role))
                elif scope in ("organisation", "all") and method != "GET":
                    own = plan.want(kind, OWN)
                checks.append(Check(method, route.path, role, kind, call, scope, other[kind],
                                    own))
    return checks


def test_records_of_another_organisation_are_refused_to_every_role(
    anonymous_client: TestClient, tokens: dict[str, str], store: Store, settings: Settings,
    tmp_path: Path,
) -> None:
    client = anonymous_client
    routes = [r for r in _routes(client) if _kind(r.path) is not None]
    assert len(routes) > 15
    plan, other_marker = Plan(), _marker("other")
    checks = _checks(routes, plan, other_marker)
    plan.make(World(store, settings, tmp_path, Security.open(settings)))
    problems: list[str] = []
    before = _snapshot(store)
    for c in checks:
        path = _path(c.route, c.kind, plan.ids[c.other])
        response = _request(client, c.method, path, tokens[c.role], c.call.body)
        where = f"{c.method} {c.route} as {c.role}, another organisation's record"
        if response.status_code not in (403, 404):
            problems.append(f"{where}: {response.status_code}")
        elif other_marker in response.text:
            problems.append(f"{where}: the refusal shows the record's marker")
    changed = [t for t, rows in _snapshot(store).items() if rows != before[t]]
    assert problems == [], "\n".join(problems)
    assert changed == [], f"refused requests changed {changed}"
    allowed = 0
    for c in checks:
        path = _path(c.route, c.kind, plan.ids[c.own])
        status = _request(client, c.method, path, tokens[c.role], c.call.body).status_code
        where = (f"{c.method} {c.route} as {c.role} "
                 f"({c.call.resource or c.kind.resource}:{c.call.action}={c.scope})")
        if status >= 500 or status == 401:
            problems.append(f"{where}: {status}")
        elif c.scope is None and status not in (403, 404):
            problems.append(f"{where}: {status}, own organisation's record, no grant")
        elif c.scope in ("own", "organisation", "all"):
            allowed += 1
            if status in (403, 404):
                problems.append(f"{where}: {status}, own organisation's record refused")
    assert problems == [], "\n".join(problems)
    assert allowed > 40, "too few checks of access that should be allowed"


def _path(template: str, kind: Kind, record_id: str) -> str:
    """The route's path with the record's id in its record parameter."""
    for prefix, param in _record_prefixes(template):
        if RECORD_KINDS.get(prefix) is kind:
            template = template.replace("{" + param + "}", record_id, 1)
    return PARAM.sub("0" * 32, template)


def test_lists_and_searches_never_show_another_organisations_records(
    anonymous_client: TestClient, tokens: dict[str, str], store: Store, settings: Settings,
    tmp_path: Path,
) -> None:
    client = anonymous_client
    world = World(store, settings, tmp_path, Security.open(settings))
    kinds = list(dict.fromkeys(RECORD_KINDS.values()))
    plan, other_marker, own_marker = Plan(), _marker("other"), _marker("own")
    for i, kind in enumerate(kinds):
        plan.want(kind, OTHER, f"{other_marker}{i}")
    own = {kind: plan.want(kind, OWN, f"{own_marker}{i}") for i, kind in enumerate(kinds)}
    plan.make(world)
    other_ids = world.made[OTHER]
    lists = [(m, r.path) for r in _routes(client) if "{" not in r.path
             for m in _methods(r) if m == "GET" and (m, r.path) not in SKIPPED]
    assert len(lists) > 15
    problems, seen = [], set()
    searched = f"{other_marker}0"  # the other organisation's case: its persons' whole name
    calls: list[tuple[str, str, dict[str, Any]]] = [(m, p, {}) for m, p in lists]
    calls += [(m, p, make(searched)) for (m, p), make in SEARCHES.items()]
    for method, path, kwargs in calls:
        for role, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"}
            response = client.request(method, path, headers=headers, follow_redirects=False,
                                      **kwargs)
            where = f"{method} {path} as {role}"
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code}")
            shown = response.text.replace(searched, "") if kwargs else response.text
            if other_marker in shown or any(i in shown for i in other_ids):
                problems.append(f"{where}: shows another organisation's record")
            seen |= {k for k, spec in own.items()
                     if spec.marker in shown or plan.ids[spec] in shown}
    assert problems == [], "\n".join(problems)
    unseen = [k.make.__name__ for k in kinds if k not in seen and k not in NO_LIST]
    assert unseen == [], "no list shows the own organisation's records: the check is vacuous"
