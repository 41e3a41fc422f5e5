"""``maillon screen ...`` and ``maillon lists ...`` commands (registered in maillon.cli).

Exit codes: 0 success, 1 the data was rejected, 2 wrong usage or a missing input.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from maillon.core.cli_support import print_error, root_settings
from maillon.core.errors import MaillonError
from maillon.core.settings import Settings
from maillon.store.crypto import FieldCipher

screen_app = typer.Typer(help="Screen names and suppliers against sanctions and debarment lists.",
                         no_args_is_help=True)
lists_app = typer.Typer(help="Sanctions and debarment lists: load, update, show.",
                        no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _settings(ctx: typer.Context) -> Settings:
    return root_settings(ctx)


def _fail(exc: MaillonError) -> typer.Exit:
    print_error(exc, limit=20)
    return typer.Exit(1 if exc.status == 422 else 2)


def shared_sanctions_folder() -> Path | None:
    """``$MAILLON_SHARED/reference/sanctions`` or ``../shared/reference/sanctions``, if any."""
    candidates = []
    if os.environ.get("MAILLON_SHARED"):
        candidates.append(Path(os.environ["MAILLON_SHARED"]) / "reference" / "sanctions")
    candidates.append(Path.cwd().parent / "shared" / "reference" / "sanctions")
    candidates.append(Path(__file__).resolve().parents[4] / "shared" / "reference" / "sanctions")
    for folder in candidates:
        if folder.is_dir():
            return folder
    return None


@screen_app.command("names")
def names_command(
    ctx: typer.Context,
    input_file: Annotated[Path, typer.Option("--input", help="CSV: id,name[,schema,birth_date,"
                                             "country].")],
    output: Annotated[Path, typer.Option("--output", help="JSON lines, one per input row.")],
    threshold: Annotated[float | None, typer.Option(
        help="Score at or above which a match is reported (default: each list's operating "
             "point, 0.80).")] = None,
    lists: Annotated[str | None, typer.Option(help="Comma-separated list ids (default: all "
                                              "loaded lists).")] = None,
    list_file: Annotated[Path | None, typer.Option(
        "--list-file", help="Screen against this FollowTheMoney JSON-lines file instead.")
    ] = None,
) -> None:
    """Screen a CSV of names; write one JSON line per row, in input order."""
    from maillon.screen import service
    from maillon.store.api import open_store

    if not input_file.is_file():
        err.print(f"No such file: {input_file}")
        raise typer.Exit(2)
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        err.print("--threshold must be within [0, 1]")
        raise typer.Exit(2)
    started = time.perf_counter()
    try:
        if list_file is not None:
            if not list_file.is_file():
                err.print(f"No such file: {list_file}")
                raise typer.Exit(2)
            matcher = service.matcher_from_file(list_file)
        else:
            store = open_store(_settings(ctx))
            try:
                ids = [x.strip() for x in lists.split(",") if x.strip()] if lists else None
                matcher = service.matcher_for(store, ids)
            finally:
                store.close()
            if not matcher.entities:
                err.print("No list loaded: run `maillon lists load` first (or use --list-file).")
                raise typer.Exit(2)
        counts = service.screen_file(matcher, input_file, output, threshold=threshold)
    except MaillonError as exc:
        raise _fail(exc) from exc
    elapsed = time.perf_counter() - started
    err.print(f"{counts['rows']:,} names screened against {len(matcher.entities):,} entities, "
              f"{counts['with_matches']:,} with matches, in {elapsed:.1f} s -> {output}")


@lists_app.command("load")
def load_command(
    ctx: typer.Context,
    files: Annotated[list[Path] | None, typer.Argument(help="List files (default: the "
                                                       "shared reference snapshots).")] = None,
    list_id: Annotated[str | None, typer.Option("--list", help="List id (un_sc_sanctions, "
                                                "us_ofac_sdn, ... or your own id).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Loader: un_sc_sanctions, "
                                            "us_ofac_sdn, us_ofac_cons, eu_fsf, "
                                            "gb_hmt_sanctions, worldbank_debarred, ftm, "
                                            "local.")] = None,
    folder: Annotated[Path | None, typer.Option("--from", help="Folder holding the "
                                                "publishers' files.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
) -> None:
    """Load list files as new versions; report what was added, changed and removed."""
    from maillon.auth.context import Security, operator_name
    from maillon.screen import service
    from maillon.store.api import open_store

    settings = _settings(ctx)
    store = open_store(settings)
    audit = Security.open(settings).audit
    user = operator_name(settings)
    try:
        if files:
            if list_id is None:
                err.print("--list is required with files")
                raise typer.Exit(2)
            reports = [service.load_list(store, list_id, files, fmt=fmt, user=user,
                                         audit=audit)]
        else:
            source = folder or shared_sanctions_folder()
            if source is None or not source.is_dir():
                err.print("No files given and no shared sanctions folder found "
                          "(set MAILLON_SHARED or use --from).")
                raise typer.Exit(2)
            reports = service.load_folder(store, source, list_ids=[list_id] if list_id else None,
                                          user=user, audit=audit)
    except MaillonError as exc:
        err.print("The previous version of the list stays active.")
        raise _fail(exc) from exc
    finally:
        store.close()
    _print_reports([r.as_dict() for r in reports], as_json)


def _print_reports(reports: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(reports, indent=2, default=str) + "\n")
        return
    for r in reports:
        out.print(f"{r['list']} {r['version']}: {r['status']}, {r['entities']:,} entities, "
                  f"+{r['added']} added, ~{r['changed']} changed, -{r['removed']} removed",
                  highlight=False)


@lists_app.command("update")
def update_command(
    ctx: typer.Context,
    online: Annotated[bool, typer.Option("--online", help="Download now (else only when "
                                         "MAILLON_ONLINE=1).")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds per download.")] = 20.0,
) -> None:
    """Download the official UN and OFAC files and load them (network use on request only)."""
    from maillon.auth.context import Security, operator_name
    from maillon.screen import service, update
    from maillon.store.api import open_store

    if not (online or os.environ.get("MAILLON_ONLINE") == "1"):
        err.print("Refusing to download: pass --online or set MAILLON_ONLINE=1.")
        raise typer.Exit(2)
    settings = _settings(ctx)
    folder = settings.data_dir / "lists" / time.strftime("%Y%m%dT%H%M%S")
    store = open_store(settings)
    try:
        downloaded = update.download_official(folder, timeout=timeout)
        reports = [service.load_list(store, list_id, paths, user=operator_name(settings),
                                     audit=Security.open(settings).audit, source="update")
                   for list_id, paths in downloaded.items()]
    except MaillonError as exc:
        err.print("The previous version of the list stays active.")
        raise _fail(exc) from exc
    finally:
        store.close()
    _print_reports([r.as_dict() for r in reports], False)


@lists_app.command("show")
def show_command(ctx: typer.Context,
                 as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The active version of every loaded list."""
    from maillon.screen import service
    from maillon.store.api import open_store

    store = open_store(_settings(ctx))
    with store.sessions() as session:
        rows = service.list_versions(session)
    store.close()
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
        return
    table = Table("list", "version", "entities", "loaded", "+", "~", "-", "threshold")
    for r in rows:
        table.add_row(r["list"], r["version"], f"{r['entities']:,}", str(r["loaded_at"])[:16],
                      str(r["added"]), str(r["changed"]), str(r["removed"]),
                      "" if r["threshold"] is None else f"{r['threshold']:.2f}")
    out.print(table)


@lists_app.command("threshold")
def threshold_command(ctx: typer.Context, list_id: str,
                      value: Annotated[float | None, typer.Argument()] = None) -> None:
    """Set (or with no value, reset) the operating threshold of one list."""
    from maillon.screen import service
    from maillon.store.api import open_store

    store = open_store(_settings(ctx))
    try:
        service.set_threshold(store, list_id, value)
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    out.print(f"{list_id}: threshold {'default' if value is None else value}")


@screen_app.command("suppliers")
def suppliers_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV: reference,name[,schema,country,"
                                         "birth_date,identifiers].")],
    organisation: Annotated[str, typer.Option(help="Organisation (id, code or name).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Register suppliers in bulk; each is screened and blocked when it may match a list."""
    from maillon.auth.context import Security, operator_name
    from maillon.auth.orgs import find_organisation
    from maillon.screen import service
    from maillon.store.api import open_store

    settings = _settings(ctx)
    store = open_store(settings)
    try:
        items = service.read_supplier_csv(file)
        with store.sessions() as session:
            org_id = find_organisation(session, organisation).id
        security = Security.open(settings)
        outcomes = service.register_suppliers(store, items, organisation_id=org_id,
                                              user=operator_name(settings),
                                              audit=security.audit,
                                              cipher=FieldCipher(security.keys, store.engine))
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps([o.as_dict() for o in outcomes], indent=2) + "\n")
        return
    pending = sum(o.status != "cleared" for o in outcomes)
    out.print(f"{len(outcomes)} suppliers registered, {pending} blocked pending review")


@screen_app.command("decide")
def decide_command(
    ctx: typer.Context,
    alert_id: str,
    decision: Annotated[str, typer.Option(help="confirm | clear")],
    reason: Annotated[str, typer.Option(help="Why (kept in the review record).")],
    organisation: Annotated[str, typer.Option(help="Organisation (id, code or name).")],
) -> None:
    """Confirm or clear one open alert."""
    from maillon.auth.context import Security, operator_name
    from maillon.auth.orgs import find_organisation
    from maillon.screen import service
    from maillon.store.api import open_store

    settings = _settings(ctx)
    store = open_store(settings)
    try:
        with store.sessions() as session:
            org_id = find_organisation(session, organisation).id
        result = service.decide(store, alert_id, decision=decision, reason=reason,
                                user=operator_name(settings), organisation_id=org_id,
                                audit=Security.open(settings).audit)
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    out.print(json.dumps(result))


@screen_app.command("rescreen")
def rescreen_command(ctx: typer.Context) -> None:
    """Screen every registered supplier again against the active lists."""
    from maillon.auth.context import Security, operator_name
    from maillon.screen import service
    from maillon.store.api import open_store

    settings = _settings(ctx)
    store = open_store(settings)
    try:
        security = Security.open(settings)
        totals = service.rescreen_all(store, audit=security.audit,
                                      cipher=FieldCipher(security.keys, store.engine),
                                      user=operator_name(settings), source="cli")
    finally:
        store.close()
    out.print(json.dumps(totals))
