"""``maillon link ...`` commands (registered in :mod:`maillon.cli` as ``link``).

Exit codes: 0 success, 2 wrong usage or bad input (missing column, unreadable file...).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from maillon.core.cli_support import print_error
from maillon.core.errors import MaillonError
from maillon.link.defaults import DEFAULT_THRESHOLD

link_app = typer.Typer(help="Record linkage of persons (Splink).", no_args_is_help=True)
err = Console(stderr=True)
out = Console()


def _fail(exc: MaillonError) -> typer.Exit:
    print_error(exc, limit=20)
    return typer.Exit(2)


@link_app.command("dedupe")
def dedupe(
    input: Annotated[Path, typer.Option("--input", help="CSV (UTF-8) or Parquet of records.")],
    output: Annotated[Path, typer.Option("--output", help="Clusters CSV to write.")],
    threshold: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Match probability at which two records are linked.")
    ] = DEFAULT_THRESHOLD,
    seed: Annotated[int, typer.Option(help="Seed of the random sampling of u.")] = 0,
) -> None:
    """Deduplicate a file of person records into clusters.

    Input columns: record_id, source, given_name, family_name, birth_date, sex, citizenship.
    Output: record_id, cluster_id, match_probability (one row per input record).
    """
    from maillon.link.dedupe import dedupe_file

    logging.getLogger("splink").setLevel(logging.ERROR)
    if not 0.0 < threshold < 1.0:
        err.print("error: --threshold must be strictly between 0 and 1")
        raise typer.Exit(2)
    try:
        report = dedupe_file(input, output, threshold=threshold, seed=seed)
    except MaillonError as exc:
        raise _fail(exc) from exc
    secs = sum(report.timings.values())
    err.print(f"{report.records} records -> {report.clusters} clusters "
              f"({report.linked_records} records linked, {report.pairs_scored} pairs "
              f">= threshold) in {secs:.1f} s; wrote {output}")


@link_app.command("run")
def run_cmd(
    ctx: typer.Context,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0)] = DEFAULT_THRESHOLD,
    seed: int = 0,
    full: Annotated[bool, typer.Option(
        "--full", help="Retrain and re-score everything (default: only new or changed "
        "persons when few are, with the last run's model).")] = False,
    incremental: Annotated[bool, typer.Option(
        "--incremental", help="Score only new or changed persons, however many.")] = False,
) -> None:
    """Link the store's persons and update the stable person clusters (audited)."""
    from maillon.auth.context import Security, operator_name
    from maillon.core.settings import Settings
    from maillon.link.service import run
    from maillon.store.api import open_store

    logging.getLogger("splink").setLevel(logging.ERROR)
    if full and incremental:
        err.print("error: --full and --incremental exclude each other")
        raise typer.Exit(2)
    settings: Settings = ctx.obj
    store = open_store(settings)
    security = Security.open(settings)
    try:
        with security.audit.audit_scope(store.engine) as conn:
            report = run(conn, keys=security.keys, audit=security.audit,
                         actor=operator_name(settings), threshold=threshold, seed=seed,
                         mode="full" if full else "incremental" if incremental else "auto")
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    out.print(f"run {report.run_id} ({report.mode}, {report.scored} persons scored): "
              f"{report.persons} persons, {report.clusters} clusters "
              f"({report.linked_clusters} with 2+ persons); {report.created} new, "
              f"{report.merged} merges, {report.split} splits; "
              f"{report.review_pending} pairs to review; {report.labels_used} labels used")
