"""Public face of the screening capability (other packages import from here)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from maillon.auth.context import Security
from maillon.core.settings import Settings
from maillon.screen.cli import shared_sanctions_folder
from maillon.screen.entity import BirthDate, Entity, ListData, Name
from maillon.screen.matcher import DEFAULT_THRESHOLD, Match, Matcher, MatcherConfig, Query
from maillon.screen.service import (
    LoadReport,
    SupplierInput,
    decide,
    load_folder,
    load_list,
    matcher_for,
    register_suppliers,
    rescreen_all,
    screen_file,
)
from maillon.store.api import Store
from maillon.store.crypto import FieldCipher

__all__ = [
    "DEFAULT_THRESHOLD", "BirthDate", "Entity", "ListData", "LoadReport", "Match", "Matcher",
    "MatcherConfig", "Name", "Query", "SupplierInput", "decide", "load_folder", "load_list",
    "matcher_for", "register_suppliers", "rescreen_all", "run_demo", "screen_file",
]

DEMO_SUPPLIERS = (
    SupplierInput("DEMO-001", "Golden Harvest Recruitment Limited", "Company", "np"),
    SupplierInput("DEMO-002", "Banco Nacional de Cuba S.A.", "Company", "cu"),
    SupplierInput("DEMO-003", "Viktor Bout", "Person", "ru", "1967"),
    SupplierInput("DEMO-004", "Lakeside Office Supplies GmbH", "Company", "de"),
    SupplierInput("DEMO-005", "Nordic Clean Facility Services AB", "Company", "se"),
)
DEMO_LOCAL_LIST = "local_trafficking_suppliers"


def run_demo(settings: Settings, store: Store, *, organisation_id: str,
             console: Console | None = None, folder: Path | None = None) -> dict[str, Any]:
    """Load the lists (shared snapshots when present, else the bundled fixture), register the
    demo suppliers as ``organisation_id`` and print the outcome. Safe to run twice."""
    console = console or Console()
    security = Security.open(settings)
    audit = security.audit
    source = folder if folder is not None else shared_sanctions_folder()
    if source is not None and not source.is_dir():
        source = None
    reports = []
    if source is not None:
        reports = load_folder(store, source, user="demo", audit=audit)
    fixture = settings.data_dir / "screen" / "demo_list.ftm.json"
    fixture.parent.mkdir(parents=True, exist_ok=True)
    rows = yaml.safe_load(resources.files("maillon.screen").joinpath(
        "fixtures/demo_list.yaml").read_text(encoding="utf-8"))
    fixture.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
                               for r in rows), encoding="utf-8")
    reports.append(load_list(store, DEMO_LOCAL_LIST if source else "demo_sanctions", [fixture],
                             fmt="ftm", user="demo", audit=audit))
    for report in reports:
        console.print(f"  list {report.list_id} {report.version}: {report.status}, "
                      f"{report.entities:,} entities", highlight=False)
    outcomes = register_suppliers(store, list(DEMO_SUPPLIERS), organisation_id=organisation_id,
                                  user="demo", audit=audit, source="demo",
                                  cipher=FieldCipher(security.keys, store.engine))
    for item, outcome in zip(DEMO_SUPPLIERS, outcomes, strict=True):
        console.print(f"  supplier {item.reference} {item.name}: {outcome.status} "
                      f"({outcome.open_alerts} open alerts)", highlight=False)
    return {"lists": [r.as_dict(0) for r in reports],
            "suppliers": [o.as_dict() for o in outcomes]}
