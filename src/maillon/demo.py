"""The main job behind ``make run`` / ``maillon demo``.

Steps (later capabilities add theirs): make the workspace, generate the seeded synthetic
multi-organisation dataset into ``<data_dir>/demo/``, import each organisation's file. Running it
twice gives the same database: the files are byte-identical and re-importing updates records.
"""

from __future__ import annotations

from rich.console import Console
from sqlalchemy import func, select

from maillon.auth.context import Security
from maillon.collect import synth
from maillon.collect.api import ImportOptions, import_file
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
