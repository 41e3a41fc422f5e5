"""``maillon stats ...``: standard tables, exports, the published report, GLOTIP import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from maillon.auth.context import operator_name
from maillon.core.cli_support import print_error, root_settings
from maillon.core.errors import MaillonError
from maillon.core.settings import Settings
from maillon.store.api import open_store

app = typer.Typer(help="Comparable statistics with disclosure control.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

MethodOpt = Annotated[str, typer.Option(help="Protection: suppression | rounding | dp.")]
ThresholdOpt = Annotated[int, typer.Option(help="Smallest published count (suppression).")]
BaseOpt = Annotated[int, typer.Option(help="Rounding base (rounding).")]
EpsilonOpt = Annotated[float, typer.Option(help="Privacy budget of the table (dp).")]
CountryOpt = Annotated[str | None, typer.Option(help="Reporting country (ISO alpha-2).")]
YearOpt = Annotated[int | None, typer.Option(help="Registration year.")]
FormOpt = Annotated[str | None, typer.Option(help="Form of exploitation: SEX, FL, OTH, MULTI.")]


def _settings(ctx: typer.Context) -> Settings:
    return root_settings(ctx)


def _fail(exc: MaillonError) -> typer.Exit:
    print_error(exc, limit=20)
    return typer.Exit(1 if exc.status == 422 else 2)


@app.command("list")
def list_tables() -> None:
    """The standard tables, their dimensions and counting units."""
    from maillon.stats.api import standard_tables

    table = Table("name", "source", "dimensions", "unit", "title")
    for t in standard_tables():
        table.add_row(t.name, t.source, ", ".join(t.dimensions), t.unit, t.title)
    out.print(table)


@app.command("table")
def table_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Table name (see `maillon stats list`).")],
    fmt: Annotated[str, typer.Option("--format", help="csv | xlsx | sdmx-csv | json")] = "csv",
    output: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")
                      ] = None,
    method: MethodOpt = "suppression",
    threshold: ThresholdOpt = 5,
    base: BaseOpt = 5,
    epsilon: EpsilonOpt = 1.0,
    country: CountryOpt = None,
    year: YearOpt = None,
    form: FormOpt = None,
) -> None:
    """Compute one standard table, protected, and write it in the chosen format."""
    from maillon.stats import api

    settings = _settings(ctx)
    store = open_store(settings)
    try:
        table = api.compute(store.engine, name, method=method, threshold=threshold, base=base,
                            epsilon=epsilon,
                            filters=api.Filters(country=country, year=year, form=form))
        payload = api.export(store.engine, table, fmt, user=operator_name(settings))
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    if output is None:
        if fmt == "xlsx":
            err.print("XLSX is binary: give --output FILE")
            raise typer.Exit(2)
        sys.stdout.write(payload.decode("utf-8"))
        return
    output.write_bytes(payload)
    err.print(f"{name}: {len(table.rows)} cells written to {output} "
              f"({table.metadata['protection']['method']})")


@app.command("publish")
def publish_command(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for report.html/report.pdf.")
                       ] = Path("stats-report"),
    method: MethodOpt = "suppression",
    threshold: ThresholdOpt = 5,
    base: BaseOpt = 5,
    epsilon: EpsilonOpt = 1.0,
    country: CountryOpt = None,
) -> None:
    """Write the static HTML report and its PDF: every standard table, charts, method notes."""
    from maillon.stats import api

    settings = _settings(ctx)
    store = open_store(settings)
    try:
        report = api.publish_report(store.engine, out_dir, user=operator_name(settings),
                                    method=method, threshold=threshold, base=base,
                                    epsilon=epsilon, filters=api.Filters(country=country))
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    out.print(f"Report with {len(report.tables)} tables: {report.html} and {report.pdf}")


@app.command("import-glotip")
def import_glotip_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="data_glotip.xlsx (or a CSV with its header).")],
    sheet: Annotated[str | None, typer.Option(help="Worksheet (default: first).")] = None,
    dataset: Annotated[str | None, typer.Option(help="Dataset name (default: file name).")
                       ] = None,
) -> None:
    """Import UNODC GLOTIP figures (all rows or none; errors name row and column)."""
    from maillon.stats.api import import_glotip

    if not file.is_file():
        err.print(f"No such file: {file}")
        raise typer.Exit(2)
    store = open_store(_settings(ctx))
    try:
        report = import_glotip(store.engine, file, sheet=sheet, dataset=dataset)
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    out.print(f"{report.dataset}: {report.rows:,} figures imported "
              f"({report.below_threshold:,} published as <5), {report.countries} countries, "
              f"years {report.years[0] if report.years else ''}-"
              f"{report.years[1] if report.years else ''}")


@app.command("extract")
def extract_command(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option(help="CSV to write.")],
    k: Annotated[int, typer.Option(help="k of k-anonymity.")] = 11,
) -> None:
    """A k-anonymous record-level extract (victims; quasi-identifiers only, locally suppressed)."""
    from maillon.stats.api import extract_records

    store = open_store(_settings(ctx))
    try:
        frame, info = extract_records(store.engine, k=k)
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    with output.open("w", encoding="utf-8", newline="") as fh:
        for key, value in info.items():
            fh.write(f"# {key}: {value}\n")
        frame.to_csv(fh, index=False)
    out.print(f"{info['rows_out']} rows written to {output}: {info['values_suppressed']} values "
              f"suppressed, {info['rows_removed']} rows removed, k={k}")


@app.command("import-eurostat")
def import_eurostat_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Eurostat crim_thb table as SDMX-CSV.")],
    dataset: Annotated[str | None, typer.Option(help="Dataset name (default: file name).")
                       ] = None,
) -> None:
    """Import a Eurostat crim_thb table (profile not yet checked against a real file)."""
    from maillon.stats.eurostat import import_eurostat

    if not file.is_file():
        err.print(f"No such file: {file}")
        raise typer.Exit(2)
    store = open_store(_settings(ctx))
    try:
        report = import_eurostat(store.engine, file, dataset=dataset)
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    out.print(f"{report.dataset}: {report.rows:,} figures imported, {report.countries} countries")
