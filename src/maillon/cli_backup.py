"""``maillon backup`` and ``maillon restore``: encrypted logical backups of the store.

See :mod:`maillon.store.backup` for the format. Both commands are audited as the operator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from maillon.auth.context import Security, operator_name
from maillon.core.cli_support import print_error
from maillon.core.errors import MaillonError
from maillon.core.settings import Settings
from maillon.store.api import open_store
from maillon.store.backup import read_summary, restore_backup, write_backup
from maillon.store.db import make_engine

out = Console()
err = Console(stderr=True)


def _fail(exc: MaillonError) -> typer.Exit:
    print_error(exc)
    return typer.Exit(1)


def backup(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="The backup file to write.")],
) -> None:
    """Write an encrypted backup of the whole store (needs the key file to restore).

    Keep the key file apart from the backups: together they open everything.
    """
    settings: Settings = ctx.obj
    store, security = open_store(settings), Security.open(settings)
    try:
        summary = write_backup(store.engine, security.keys, output)
        with security.audit.audit_scope(store.engine) as conn:
            security.audit.append(conn, actor=operator_name(settings), action="export",
                                  resource="backup", resource_id=summary.backup_id,
                                  source="cli", detail={"rows": summary.rows})
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    out.print(f"backup {summary.backup_id}: {summary.rows} rows in {len(summary.tables)} tables, "
              f"{summary.audit_entries} audit entries -> {output}")


def restore(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The backup file to restore.")],
    check: Annotated[bool, typer.Option(
        "--check", help="Only decrypt and check the backup; print what it holds.")] = False,
) -> None:
    """Restore a backup into an EMPTY store (the workspace's, or --database-url's).

    Everything is inserted in one transaction; then the audit chain is checked and re-anchored
    (with a ``reanchor`` entry), and the restore itself is audited.
    """
    settings: Settings = ctx.obj
    security = Security.open(settings)
    if check:
        _check(security, path)
        return
    engine = make_engine(settings.effective_database_url)
    try:
        summary = restore_backup(engine, security.keys, path)
        with engine.connect() as conn:
            checked = security.audit.reanchor(conn, actor=operator_name(settings), source="cli")
        if not checked.ok:
            err.print(f"restored, but the audit chain does not verify at entry "
                      f"{checked.first_bad_seq}: {checked.reason}", markup=False)
            raise typer.Exit(1)
        with security.audit.audit_scope(engine) as conn:
            security.audit.append(conn, actor=operator_name(settings), action="import",
                                  resource="backup", resource_id=summary.backup_id,
                                  source="cli", detail={"rows": summary.rows})
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        engine.dispose()
    out.print(f"restored backup {summary.backup_id}: {summary.rows} rows; audit chain intact "
              f"({checked.entries} entries)")


def _check(security: Security, path: Path) -> None:
    try:
        summary = read_summary(security.keys, path)
    except MaillonError as exc:
        raise _fail(exc) from exc
    out.print(f"backup {summary.backup_id} of {summary.created_at}: intact, {summary.rows} rows, "
              f"{summary.audit_entries} audit entries")
    for name, count in summary.tables.items():
        if count:
            out.print(f"  {name}: {count}")
