"""``maillon subjects export|erase`` and ``maillon extracts make``: audited as the operator."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from maillon.auth.context import Security, operator_name
from maillon.auth.orgs import find_organisation
from maillon.core.cli_support import print_error
from maillon.core.errors import MaillonError
from maillon.core.settings import Settings
from maillon.privacy import api as privacy
from maillon.store.api import open_store
from maillon.store.crypto import FieldCipher
from maillon.store.db import session_on

subjects_app = typer.Typer(help="Data-subject rights: access and erasure.", no_args_is_help=True)
extracts_app = typer.Typer(help="Pseudonymised extracts for sharing agreements.",
                           no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _fail(exc: MaillonError) -> typer.Exit:
    print_error(exc)
    return typer.Exit(1)


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds personal data in clear)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise typer.BadParameter(f"{path} already exists", param_hint="--output") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


@subjects_app.command("export")
def subjects_export(
    ctx: typer.Context,
    person_id: Annotated[str, typer.Argument(help="The person's Maillon id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON file to write (0600).")],
) -> None:
    """Everything held on one person, decrypted, as JSON for a subject access request."""
    settings: Settings = ctx.obj
    store, security = open_store(settings), Security.open(settings)
    try:
        with security.audit.audit_scope(store.engine) as conn:
            data = privacy.export_subject(conn, FieldCipher(security.keys, conn), person_id)
            security.audit.append(conn, actor=operator_name(settings), action="export",
                                  resource="person", resource_id=person_id, source="cli",
                                  detail={"purpose": "subject_access",
                                          "tables": sorted(data)})
        _write_private(output, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    out.print(f"exported person {person_id} ({len(data)} sections) to {output}")


@subjects_app.command("erase")
def subjects_erase(
    ctx: typer.Context,
    person_id: Annotated[str, typer.Argument(help="The person's Maillon id.")],
    reason: Annotated[str, typer.Option(help="Why (request reference, legal basis).")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: erasure cannot be undone.")]
    = False,
) -> None:
    """Erase a person and every record that depends on it (audited; cannot be undone)."""
    if not yes:
        err.print("erasure cannot be undone: add --yes to confirm")
        raise typer.Exit(2)
    if len(reason.strip()) < 10:
        err.print("give a reason of at least 10 characters (request reference, legal basis)")
        raise typer.Exit(2)
    settings: Settings = ctx.obj
    store, security = open_store(settings), Security.open(settings)
    try:
        with security.audit.audit_scope(store.engine) as conn:
            counts = privacy.erase_subject(conn, person_id)
            security.audit.append(conn, actor=operator_name(settings), action="delete",
                                  resource="person", resource_id=person_id, source="cli",
                                  detail={"purpose": "erasure", "reason": reason.strip(),
                                          "rows": counts})
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    out.print(f"erased person {person_id}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))


@extracts_app.command("make")
def extracts_make(
    ctx: typer.Context,
    agreement: Annotated[str, typer.Option(help="The sharing agreement's id (pseudonym domain).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV file to write.")],
    organisation: Annotated[str | None, typer.Option(
        help="Only this organisation's records (code or name).")] = None,
    scope: Annotated[str, typer.Option(help="consent_scope code checked per person.")]
    = "InformationSharing",
    override_consent: Annotated[str | None, typer.Option(
        help="Include persons without consent, for this written reason (audited).")] = None,
) -> None:
    """A pseudonymised extract for one recipient: consented persons only, coded fields only."""
    settings: Settings = ctx.obj
    store, security = open_store(settings), Security.open(settings)
    try:
        with security.audit.audit_scope(store.engine) as conn:
            org_id = None
            if organisation:
                with session_on(conn) as session:
                    org_id = find_organisation(session, organisation).id
            result = privacy.make_extract(conn, security.keys, agreement=agreement,
                                          output=output, scope=scope, organisation_id=org_id,
                                          override_reason=override_consent)
            security.audit.append(
                conn, actor=operator_name(settings), action="export", resource="extract",
                resource_id=agreement, source="cli",
                detail={"persons": result.included, "without_consent": result.without_consent,
                        "scope": scope, "override": override_consent})
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    note = (f"; {result.without_consent} without consent INCLUDED by override"
            if result.overridden else f"; {result.without_consent} left out (no consent)")
    out.print(f"{result.included} persons written to {output}{note}")
