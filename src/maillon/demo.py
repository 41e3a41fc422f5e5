"""The main job behind ``make run`` / ``maillon demo``.

Steps: make the workspace, generate the seeded synthetic multi-organisation dataset into
``<data_dir>/demo/``, import each organisation's file, create the demo accounts, then each
capability's demo step (:data:`STEPS`: follow the money, identify and refer...). Running it
twice gives the same database: the files are byte-identical, re-importing updates records and
every step does nothing more the second time.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import pyotp
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from maillon.auth import api as auth
from maillon.auth.context import Security
from maillon.auth.orgs import create_organisation, find_organisation
from maillon.collect import synth
from maillon.collect.api import ImportOptions, import_file
from maillon.core.ids import slug
from maillon.core.settings import Settings
from maillon.store import models as m
from maillon.store.api import Store

DEMO_SEED = 2017


def run_demo(settings: Settings, store: Store, *, records: int, console: Console) -> None:
    """Generate and import the demo data; print what was done."""
    folder = settings.data_dir / "demo"
    security = Security.open(settings)
    summary = synth.write_dataset(out_dir=folder, n_records=records, seed=DEMO_SEED)
    console.print(f"Generated {records} synthetic records in {folder}")
    for path in sorted(folder.glob("*.csv")):
        if path.name == "truth.csv":
            continue
        report = import_file(store.engine, path,
                             ImportOptions(user="demo", audit=security.audit, source="demo"))
        console.print(
            f"  {path.name}: {report.status}, {report.inserted} inserted, "
            f"{report.updated} updated, {report.rejected} rejected"
        )
        if report.status == "rejected":
            raise SystemExit(f"demo import of {path.name} failed: {report.message}")
    with store.sessions() as session:
        cases = session.execute(select(func.count()).select_from(m.Case)).scalar_one()
        persons = session.execute(select(func.count()).select_from(m.Person)).scalar_one()
    console.print(f"Store holds {cases} cases and {persons} person records.")
    del summary
    ensure_demo_users(settings, store)
    for title, step in STEPS:
        console.rule(title)
        step(settings, store, console)
    show_demo_users(settings, store, console=console)


def shared_reference() -> Path | None:
    """The folder of real public reference data (``MAILLON_SHARED`` or ``../shared`` beside
    the working directory), when present: the demo then uses real GLOTIP figures and real
    sanctions lists instead of its small fixtures."""
    root = Path(os.environ.get("MAILLON_SHARED") or Path.cwd().parent / "shared")
    return root / "reference" if (root / "reference").is_dir() else None


def _link(settings: Settings, store: Store, console: Console) -> None:
    from maillon.link.api import demo_link

    demo_link(store, settings, console)


def _statistics(settings: Settings, store: Store, console: Console) -> None:
    from maillon.stats.api import demo_statistics

    reference = shared_reference()
    glotip = reference / "glotip" / "data_glotip.xlsx" if reference else None
    demo_statistics(settings, store, console=console,
                    glotip_file=glotip if glotip and glotip.is_file() else None)


def _screen(settings: Settings, store: Store, console: Console) -> None:
    from maillon.screen.api import run_demo as screen_demo

    with store.sessions() as session:
        org_id = find_organisation(session, DEMO_ORGANISATION).id
    reference = shared_reference()
    screen_demo(settings, store, organisation_id=org_id, console=console,
                folder=reference / "sanctions" if reference else None)


def _money(settings: Settings, store: Store, console: Console) -> None:
    from maillon.money.api import demo_queue

    result = demo_queue(settings, store, organisation=DEMO_ORGANISATION)
    queue = result.get("queue", {})
    console.print(f"Scanned {result.get('transactions', '?')} synthetic transactions: "
                  f"{result.get('alerts', '?')} alerts ({queue.get('loaded', 0)} new in the "
                  "queue at /money/alerts)")


def _identify(settings: Settings, store: Store, console: Console) -> None:
    from maillon.refer.demo import run_identify_demo

    run_identify_demo(settings, store, console=console, organisation=DEMO_ORGANISATION,
                      receiving_organisation=SHELTER_ORGANISATION)


STEPS: tuple[tuple[str, Callable[[Settings, Store, Console], None]], ...] = (
    ("Link", _link),
    ("Count", _statistics),
    ("Screen suppliers", _screen),
    ("Follow the money", _money),
    ("Identify and refer", _identify),
)
"""Each capability's part of the main job, in order; each is idempotent."""


DEMO_ORGANISATION = "Police Anti-Trafficking Unit"
"""The demo accounts belong to the first synthetic organisation (the largest dataset)."""
SHELTER_ORGANISATION = "Safe Haven Shelter"
"""Receives the demo referral; its account ``demo.shelter`` sees only the shared fields."""


def _credentials_path(settings: Settings) -> Path:
    return settings.data_dir / "demo-credentials.json"


def ensure_demo_users(settings: Settings, store: Store) -> list[dict[str, str]]:
    """One account per built-in role in the demo organisation, created once.

    Demo passwords and TOTP secrets are kept in ``<data_dir>/demo-credentials.json`` (mode
    0600) so a second run can print them again. That file exists for the demo only: real
    accounts are created with ``maillon users create``, whose secrets are shown once.
    """
    path = _credentials_path(settings)
    if path.exists():
        stored: list[dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
        return stored
    created: list[dict[str, str]] = []
    keys = Security.open(settings).keys
    with store.sessions() as session, session.begin():
        org = find_organisation(session, DEMO_ORGANISATION)
        for role in auth.role_names():
            username = f"demo.{role.replace('_', '-')}"
            password = "-".join(secrets.token_hex(3) for _ in range(4))
            _, secret = auth.create_user(session, organisation_id=org.id, username=username,
                                         password=password, role=role, team="demo",
                                         keys=keys)
            created.append({"username": username, "role": role, "password": password,
                            "totp_secret": secret or ""})
        shelter = session.execute(select(m.Organisation).where(
            m.Organisation.name == SHELTER_ORGANISATION)).scalar_one_or_none()
        if shelter is None:
            shelter = create_organisation(session, name=SHELTER_ORGANISATION,
                                          code=slug(SHELTER_ORGANISATION))
        password = "-".join(secrets.token_hex(3) for _ in range(4))
        _, secret = auth.create_user(session, organisation_id=shelter.id,
                                     username="demo.shelter", password=password,
                                     role="case_worker", team="shelter", keys=keys)
        created.append({"username": "demo.shelter", "role": "case_worker (shelter)",
                        "password": password, "totp_secret": secret or ""})
    path.touch(mode=0o600)
    path.write_text(json.dumps(created, indent=2), encoding="utf-8")
    return created


def show_demo_users(settings: Settings, store: Store, *, console: Console) -> None:
    """Print the demo accounts: username, role, password, TOTP enrolment URI."""
    users = ensure_demo_users(settings, store)
    table = Table("username", "role", "password", title=f"Demo accounts ({DEMO_ORGANISATION})")
    for user in users:
        table.add_row(user["username"], user["role"], user["password"])
    console.print(table)
    console.print("TOTP secrets (add to an authenticator app, or run "
                  "`maillon demo-code USERNAME` for the current code):")
    for user in users:
        if user["totp_secret"]:
            uri = auth.provisioning_uri(user["totp_secret"], user["username"])
            console.print(f"  {user['username']}: {uri}", markup=False, soft_wrap=True)


def demo_code(settings: Settings, username: str) -> str | None:
    """The current TOTP code of a DEMO account (None for any other account)."""
    path = _credentials_path(settings)
    if not path.exists():
        return None
    for user in json.loads(path.read_text(encoding="utf-8")):
        if user["username"] == username and user["totp_secret"]:
            return str(pyotp.TOTP(user["totp_secret"]).now())
    return None
