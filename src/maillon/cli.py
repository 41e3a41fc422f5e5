"""The ``maillon`` command line: thin commands over the capabilities.

Global options (``--data-dir``, ``--database-url``) come before the command and override the
``MAILLON_*`` environment variables. Exit codes: 0 success, 1 the data was rejected (e.g. an
import with bad rows), 2 wrong usage or a missing input.
"""

from __future__ import annotations

import csv
import json
import socket
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from maillon import __version__, cli_backup, cli_security
from maillon.auth.context import Security, operator_name
from maillon.core.errors import MaillonError
from maillon.core.settings import Settings, load_settings
from maillon.link import cli as link_cli
from maillon.money import cli as money_cli
from maillon.privacy import cli as privacy_cli
from maillon.refer import cli as refer_cli
from maillon.screen import cli as screen_cli
from maillon.stats import cli as stats_cli
from maillon.store.api import Store, open_store
from maillon.store.crypto import FieldCipher

app = typer.Typer(help="Maillon: information system against trafficking in human beings.",
                  no_args_is_help=True, add_completion=False)
cases_app = typer.Typer(help="Browse cases.", no_args_is_help=True)
synth_app = typer.Typer(help="Generate synthetic data.", no_args_is_help=True)
imports_app = typer.Typer(help="Past imports and their rejected rows.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")
app.add_typer(synth_app, name="synth")
app.add_typer(imports_app, name="imports")
app.add_typer(cli_security.orgs_app, name="orgs")
app.add_typer(cli_security.users_app, name="users")
app.add_typer(cli_security.keys_app, name="keys")
app.add_typer(cli_security.audit_app, name="audit")
app.add_typer(privacy_cli.subjects_app, name="subjects")
app.add_typer(privacy_cli.extracts_app, name="extracts")
app.add_typer(link_cli.link_app, name="link")
app.add_typer(money_cli.app, name="money")
synth_app.command("transactions")(money_cli.synth_transactions)
app.add_typer(refer_cli.screenings_app, name="screenings")
app.add_typer(refer_cli.refer_app, name="refer")
app.add_typer(refer_cli.partners_app, name="partners")
app.add_typer(refer_cli.jobs_app, name="jobs")
app.add_typer(screen_cli.screen_app, name="screen")
app.add_typer(stats_cli.app, name="stats")
app.add_typer(screen_cli.lists_app, name="lists")
app.command("backup")(cli_backup.backup)
app.command("restore")(cli_backup.restore)

out = Console()
err = Console(stderr=True)


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def _store(ctx: typer.Context) -> Store:
    return open_store(_settings(ctx))


def _json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option(help="Workspace folder.")] = None,
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL of the store.")] = None,
    operator: Annotated[
        str | None, typer.Option("--as", help="Who runs the command (audited).")
    ] = None,
) -> None:
    ctx.obj = load_settings(data_dir=data_dir, database_url=database_url, operator=operator)


@app.command()
def version() -> None:
    """Print Maillon's version."""
    out.print(__version__)


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the workspace and bring the database schema up to date (safe to repeat)."""
    settings = _settings(ctx)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = _store(ctx)
    out.print(f"Workspace ready: {settings.data_dir.resolve()} ({store.dialect})")
    store.close()


def _print_report(report: Any, errors_file: Path | None) -> None:
    colour = {"committed": "green", "partial": "yellow", "rejected": "red"}[report.status]
    out.print(
        f"[{colour}]{report.status}[/]: {report.filename} ({report.profile}) - "
        f"{report.rows_read} rows read, {report.inserted} inserted, {report.updated} updated, "
        f"{report.rejected} rejected. batch {report.batch_id}"
    )
    if report.message:
        out.print(report.message, markup=False)
    if report.unmapped_columns:
        out.print(f"Ignored columns: {', '.join(report.unmapped_columns)}", markup=False)
    for error in report.errors[:20]:
        err.print(f"  {error}", markup=False, highlight=False)
    if len(report.errors) > 20:
        err.print(f"  ... and {len(report.errors) - 20} more errors")
    if errors_file and report.errors:
        with errors_file.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["row", "column", "value", "reason"])
            for e in report.errors:
                writer.writerow([e.row, e.field, e.value, e.reason])
        out.print(f"Errors written to {errors_file}")


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV, XLSX, JSON or JSON-lines file.")],
    profile: Annotated[str, typer.Option(help="Mapping profile name or YAML path.")] = "htcds",
    file_format: Annotated[str | None, typer.Option("--format", help="csv|xlsx|json|jsonl")] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV files.")] = "utf-8",
    sheet: Annotated[str | None, typer.Option(help="XLSX worksheet (default: first).")] = None,
    organisation: Annotated[
        str | None, typer.Option(help="Organisation of rows without an organisation column.")
    ] = None,
    skip_bad_rows: Annotated[
        bool, typer.Option(help="Commit the good rows and quarantine the bad ones.")
    ] = False,
    errors: Annotated[Path | None, typer.Option(help="Write every error to this CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import a file of case records; all or nothing unless --skip-bad-rows."""
    from maillon.collect.api import ImportOptions, import_file

    if not file.is_file():
        err.print(f"No such file: {file}")
        raise typer.Exit(2)
    settings = _settings(ctx)
    store = _store(ctx)
    options = ImportOptions(profile=profile, file_format=file_format, encoding=encoding,
                            sheet=sheet, organisation=organisation, skip_bad_rows=skip_bad_rows,
                            user=operator_name(settings), chunk_rows=settings.import_chunk_rows,
                            audit=Security.open(settings).audit, source="cli")
    with Progress(TextColumn("importing {task.description}"), BarColumn(),
                  TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                  console=err, transient=True, disable=as_json) as bar:
        task = bar.add_task(file.name, total=None)
        report = import_file(store.engine, file, options,
                             progress=lambda n: bar.update(task, completed=n))
    store.close()
    if as_json:
        _json(report.as_dict())
    else:
        _print_report(report, errors)
    if report.status == "rejected":
        raise typer.Exit(1)


def _audit_cli(ctx: typer.Context, store: Store, security: Security, *, action: str,
               resource: str, resource_id: str, fields: tuple[str, ...]) -> None:
    """Log a CLI access to personal data as the operator (field names only)."""
    with security.audit.audit_scope(store.engine) as conn:
        security.audit.append(conn, actor=operator_name(_settings(ctx)), action=action,
                              resource=resource, resource_id=resource_id, fields=fields,
                              source="cli")


@imports_app.command("list")
def imports_list(ctx: typer.Context, limit: int = 20) -> None:
    """The most recent imports."""
    from maillon.collect.api import list_batches

    store = _store(ctx)
    with store.sessions() as session:
        batches = list_batches(session, limit=limit)
    table = Table("batch", "file", "profile", "status", "read", "inserted", "updated",
                  "rejected", "started")
    for b in batches:
        table.add_row(b.id, b.filename, b.profile, b.status, str(b.rows_read),
                      str(b.rows_inserted), str(b.rows_updated), str(b.rows_rejected),
                      b.started_at.isoformat(timespec="seconds"))
    out.print(table)
    store.close()


@imports_app.command("quarantine")
def imports_quarantine(
    ctx: typer.Context,
    batch_id: str,
    output: Annotated[Path, typer.Option(help="CSV to write the rejected rows to.")],
) -> None:
    """Write a batch's rejected rows (with _row and _errors columns) to fix and re-import."""
    from maillon.collect.api import quarantine_rows

    store = _store(ctx)
    security = Security.open(_settings(ctx))
    try:
        columns, rows = quarantine_rows(store.engine, batch_id, keys=security.keys)
        _audit_cli(ctx, store, security, action="export", resource="import_batch",
                   resource_id=batch_id, fields=("quarantine_row.raw",))
    except MaillonError as exc:
        err.print(exc.message)
        raise typer.Exit(2) from exc
    finally:
        store.close()
    with output.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    out.print(f"{len(rows)} rejected rows written to {output}")


@cases_app.command("list")
def cases_list(
    ctx: typer.Context,
    organisation: str | None = None,
    status: str | None = None,
    exploitation: Annotated[str | None, typer.Option(help="exploitation_type code")] = None,
    country: Annotated[str | None, typer.Option(help="Country of exploitation (ISO)")] = None,
    year: int | None = None,
    q: Annotated[str | None, typer.Option(help="Case id or name prefix")] = None,
    limit: int = 50,
    offset: int = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List cases, newest first, with filters."""
    from maillon.collect.api import CaseFilter, count_cases, list_cases, search_keys

    store = _store(ctx)
    cipher = FieldCipher(Security.open(_settings(ctx)).keys, store.engine)
    flt = CaseFilter(organisation=organisation, status=status, exploitation=exploitation,
                     country=country, year=year, q=q,
                     name_keys=search_keys(cipher, q) if q else None)
    with store.sessions() as session:
        total = count_cases(session, flt)
        items = list_cases(session, flt, limit=limit, offset=offset)
    store.close()
    if as_json:
        _json({"total": total, "items": [asdict(i) for i in items]})
        return
    table = Table("id", "case", "organisation", "status", "registered", "victims",
                  "perpetrators", "exploitation", "countries", title=f"{total} cases")
    for c in items:
        table.add_row(c.id, c.source_record_id or "", c.organisation, c.status or "",
                      str(c.registration_date or ""), str(c.victims), str(c.perpetrators),
                      ", ".join(c.exploitation), ", ".join(c.countries))
    out.print(table)


@cases_app.command("show")
def cases_show(
    ctx: typer.Context, case_id: str, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Show one case with its persons, events, referrals and provenance."""
    from maillon.collect.api import get_case

    store = _store(ctx)
    security = Security.open(_settings(ctx))
    try:
        with store.sessions() as session:
            detail = get_case(session, case_id,
                              cipher=FieldCipher(security.keys, store.engine))
        _audit_cli(ctx, store, security, action="read", resource="case", resource_id=case_id,
                   fields=("given_name", "middle_name", "family_name", "birth_date"))
    except MaillonError as exc:
        err.print(exc.message)
        raise typer.Exit(2) from exc
    finally:
        store.close()
    if as_json:
        _json(asdict(detail))
        return
    s = detail.summary
    out.print(f"[bold]Case {s.source_record_id}[/] ({s.organisation}) status={s.status} "
              f"registered={s.registration_date}")
    for p in detail.persons:
        names = " ".join(n for n in (p.given_name, p.middle_name, p.family_name) if n)
        out.print(f"  {p.role}: {names} born={p.birth_date or '?'} gender={p.gender or '?'} "
                  f"{ {k: v for k, v in p.codes.items()} }", markup=False)
    for e in detail.events:
        out.print(f"  {e['event_type']}: {e['country'] or '?'} {e['city'] or ''} "
                  f"{e['date_from'] or ''}", markup=False)
    for r in detail.referrals:
        out.print(f"  referral {r['direction']}: {r['other_organisation']} {r['referral_date']}",
                  markup=False)


@synth_app.command("cases")
def synth_cases(
    records: Annotated[int, typer.Option(help="Rows (persons in cases) to generate.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same files.")] = 42,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for one CSV per organisation.")
                       ] = Path("synth"),
    organisations: Annotated[int, typer.Option(help="Number of organisations.")] = 4,
    single_file: Annotated[Path | None, typer.Option(help="Write one CSV instead.")] = None,
) -> None:
    """Generate a realistic multi-organisation case dataset (HTCDS flat CSV) with ground truth."""
    from maillon.collect import synth

    if single_file is not None:
        summary = synth.write_single_file(path=single_file, n_records=records, seed=seed,
                                          organisations=organisations)
    else:
        summary = synth.write_dataset(out_dir=out_dir, n_records=records, seed=seed,
                                      organisations=organisations)
    out.print(summary)


def free_port(host: str, start: int) -> int:
    """The first port from ``start`` on which nothing listens on ``host``."""
    for port in range(start, start + 100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise typer.BadParameter(f"no free port between {start} and {start + 99}")


def _serve(settings: Settings, store: Store, workers: int = 1) -> None:
    from maillon.web.serve import run

    port = free_port(settings.host, settings.port)
    out.print(f"Maillon is serving on [bold]http://{settings.host}:{port}/[/] (Ctrl+C to stop)")
    run(settings, store, port=port, workers=workers)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="First port to try.")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Server processes (default: one per core, at most 4).")] = None,
) -> None:
    """Serve the web app and the JSON API."""
    from maillon.web.serve import default_workers

    settings = _settings(ctx)
    settings = Settings(**{**settings.__dict__, "host": host or settings.host,
                           "port": port or settings.port})
    store = _store(ctx)
    try:
        _serve(settings, store, workers or default_workers())
    finally:
        store.close()


@app.command()
def demo(
    ctx: typer.Context,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Run the job, then exit.")] = False,
    records: Annotated[int, typer.Option(help="Synthetic rows to generate.")] = 2000,
) -> None:
    """The main job: workspace, synthetic data, import, then serve the web app."""
    from maillon.demo import run_demo

    settings = _settings(ctx)
    store = _store(ctx)
    try:
        run_demo(settings, store, records=records, console=out)
        if not no_serve:
            _serve(settings, store)
    finally:
        store.close()


@app.command("demo-code")
def demo_code_command(ctx: typer.Context, username: str) -> None:
    """Print the current TOTP code of a demo account (demo accounts only)."""
    from maillon.demo import demo_code

    code = demo_code(_settings(ctx), username)
    if code is None:
        err.print(f"{username} is not a demo account of this workspace")
        raise typer.Exit(2)
    print(code)


def main() -> None:
    try:
        app()
    except MaillonError as exc:
        err.print(f"error: {exc.message}", markup=False)
        for d in exc.details[:20]:
            err.print(f"  {d}", markup=False)
        sys.exit(2)
