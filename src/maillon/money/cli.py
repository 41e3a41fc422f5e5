"""``maillon money ...`` commands, and ``synth_transactions`` for ``maillon synth transactions``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from maillon.core.cli_support import print_error
from maillon.core.errors import InvalidInput, MaillonError

app = typer.Typer(help="Follow the money: import transactions, scan for red flags, STR drafts.",
                  no_args_is_help=True)
out = Console()
err = Console(stderr=True)

Profile = Annotated[str, typer.Option(help="Mapping profile: maillon, amlsim or a YAML path.")]


def _fail(exc: MaillonError) -> None:
    print_error(exc, limit=50)
    raise typer.Exit(1 if isinstance(exc, InvalidInput) else 2)


@app.command()
def scan(
    transactions: Annotated[Path, typer.Option(help="Transactions file (CSV, Parquet, camt.053)"
                                               )],
    output: Annotated[Path, typer.Option(help="Alerts file (JSON lines).")],
    accounts: Annotated[Path | None, typer.Option(help="Accounts file.")] = None,
    profile: Profile = "maillon",
    parties: Annotated[Path | None, typer.Option(help="Parties file (identifiers).")] = None,
    case_identifiers: Annotated[Path | None, typer.Option(
        help="Identifiers known from case data (kind,value,person_id,role).")] = None,
    threshold: Annotated[float, typer.Option(help="Alert threshold of the transparent score."
                                             )] = 0.5,
) -> None:
    """Scan transactions with every red-flag indicator; one alert per line of OUTPUT."""
    from maillon.money.api import scan_files

    try:
        result = scan_files(transactions=transactions, accounts=accounts, output=output,
                            profile=profile, threshold=threshold, parties=parties,
                            case_identifiers=case_identifiers)
    except MaillonError as exc:
        _fail(exc)
        return
    err.print(f"{len(result.alerts)} alerts written to {output} "
              f"(rules {result.timings.get('sql_total', 0):.1f} s, graph "
              f"{result.timings.get('graph_total', 0):.1f} s)")


@app.command("import")
def import_command(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder to create or replace.")],
    transactions: Annotated[Path, typer.Option(help="Transactions file.")],
    accounts: Annotated[Path | None, typer.Option(help="Accounts file.")] = None,
    parties: Annotated[Path | None, typer.Option(help="Parties file.")] = None,
    case_identifiers: Annotated[Path | None, typer.Option(help="Case identifiers file.")] = None,
    profile: Profile = "maillon",
) -> None:
    """Validate and import files into a Parquet dataset; nothing is written on any error."""
    from maillon.money.importers import import_dataset

    try:
        report = import_dataset(dataset, transactions=transactions, accounts=accounts,
                                parties=parties, case_identifiers=case_identifiers,
                                profile=profile)
    except MaillonError as exc:
        _fail(exc)
        return
    out.print(json.dumps(report.as_dict()))


@app.command("rules")
def rules_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the red-flag indicators with their source and weight."""
    from maillon.money.graph import GRAPH_INDICATORS
    from maillon.money.rules import load_rules

    rules = load_rules()
    if as_json:
        sys.stdout.write(json.dumps([{"id": r.id, "name": r.name, "source": r.source,
                                      "weight": r.weight, "parameters": r.parameters}
                                     for r in rules], indent=2) + "\n")
        return
    table = Table("id", "weight", "name", "source")
    for r in rules:
        table.add_row(r.id, str(r.weight), r.name, r.source)
    for k, v in GRAPH_INDICATORS.items():
        table.add_row(k, str(v["weight"]), str(v["name"]), str(v["source"]))
    out.print(table)


@app.command()
def backtest(
    dataset: Annotated[Path, typer.Argument(help="Imported dataset folder.")],
    labels: Annotated[Path, typer.Option(help="CSV with account labels.")],
    profile: Profile = "maillon",
    threshold: float = 0.5,
) -> None:
    """Precision/recall/F1 of each rule and of the combined score against labels."""
    from maillon.money.api import scan_dataset
    from maillon.money.importers import read_labels
    from maillon.money.model import Dataset
    from maillon.money.scoring import backtest as run_backtest

    try:
        truth = read_labels(labels, profile)
        result = scan_dataset(Dataset(dataset), threshold=threshold)
    except MaillonError as exc:
        _fail(exc)
        return
    sys.stdout.write(json.dumps(run_backtest(result.hits, result.weights, truth,
                                             threshold=threshold), indent=2) + "\n")


@app.command()
def goaml(
    alerts: Annotated[Path, typer.Argument(help="alerts.jsonl from a scan.")],
    alert_id: Annotated[str, typer.Option(help="Alert to draft.")],
    output: Annotated[Path, typer.Option(help="goAML XML file to write.")],
    dataset: Annotated[Path | None, typer.Option(help="Dataset, to list the transactions.")
                       ] = None,
    pdf: Annotated[Path | None, typer.Option(help="Also write a PDF summary here.")] = None,
) -> None:
    """Draft an STR in goAML XML (not checked against a real goAML file) and a PDF summary."""
    from maillon.money.goaml import goaml_xml, pdf_summary
    from maillon.money.model import Dataset
    from maillon.money.scoring import read_jsonl

    found = [a for a in read_jsonl(alerts) if a["alert_id"] == alert_id]
    if not found:
        err.print(f"no alert {alert_id} in {alerts}")
        raise typer.Exit(2)
    output.write_bytes(goaml_xml(found[0], dataset=Dataset(dataset) if dataset else None))
    if pdf:
        pdf_summary(found[0], pdf)
    out.print(f"STR draft written to {output}")


def synth_transactions(
    out_dir: Annotated[Path, typer.Option("--out", help="Dataset folder to write.")
                       ] = Path("synth-transactions"),
    accounts: Annotated[int, typer.Option(help="Accounts.")] = 2000,
    days: Annotated[int, typer.Option(help="Days of activity.")] = 60,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    per_day: Annotated[float, typer.Option(help="Ordinary transactions per account-day.")
                       ] = 0.8,
) -> None:
    """Generate retail banking transactions with planted, labelled trafficking typologies."""
    from maillon.money.synth import generate

    out.print(str(generate(out_dir, accounts=accounts, days=days, seed=seed, per_day=per_day)))


app.command("synth")(synth_transactions)


alerts_app = typer.Typer(help="The alert queue in the operational store.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("load")
def alerts_load(
    ctx: typer.Context,
    alerts: Annotated[Path, typer.Argument(help="alerts.jsonl from `maillon money scan`.")],
    dataset: Annotated[Path | None, typer.Option(
        help="Imported dataset folder: copies the evidence transactions into the alerts.")
    ] = None,
    organisation: Annotated[str | None, typer.Option(
        help="Organisation (id, code or name); default: the --as user's organisation.")
    ] = None,
) -> None:
    """Load scan alerts into the organisation's queue (status new; already loaded: skipped)."""
    from maillon.money.queue import load_alerts_file
    from maillon.store.api import open_store

    store = open_store(ctx.obj)
    try:
        report = load_alerts_file(ctx.obj, store, alerts, organisation=organisation,
                                  dataset=dataset)
    except MaillonError as exc:
        _fail(exc)
        return
    finally:
        store.close()
    out.print(json.dumps(report.as_dict()))
