"""CLI commands of the security capability: organisations, users, keys and the audit log.

Every command runs as the operator (``maillon --as NAME ...``, else the OS user) and writes an
audit entry, like a web request would.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from maillon.auth import api as auth
from maillon.auth.context import Security, operator_name
from maillon.auth.orgs import create_organisation, find_organisation
from maillon.core.cli_support import print_error
from maillon.core.errors import MaillonError
from maillon.core.settings import Settings
from maillon.store.api import open_store
from maillon.store.audit import verify
from maillon.store.crypto import rotate
from maillon.store.db import session_on
from maillon.store.keys import FileKeyProvider
from maillon.store.reencrypt import reencrypt_all

orgs_app = typer.Typer(help="Organisations (tenants).", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def _fail(exc: MaillonError) -> typer.Exit:
    print_error(exc)
    return typer.Exit(1)


@orgs_app.command("create")
def orgs_create(
    ctx: typer.Context,
    name: str,
    code: Annotated[str | None, typer.Option(help="Short slug; default from the name.")] = None,
    org_type: Annotated[str | None, typer.Option("--type", help="organisation_type code")] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166 country")] = None,
) -> None:
    """Create an organisation."""
    settings = _settings(ctx)
    store, security = open_store(settings), Security.open(settings)
    try:
        with security.audit.audit_scope(store.engine) as conn, session_on(conn) as session:
            org = create_organisation(session, name=name, code=code, org_type=org_type,
                                      country=country)
            security.audit.append(conn, actor=operator_name(settings), action="create",
                                  resource="organisation", resource_id=org.id, source="cli")
            out.print(f"organisation {org.code} ({org.id})")
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    env = os.environ.get("MAILLON_NEW_PASSWORD")
    if env:
        return env
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def users_create(
    ctx: typer.Context,
    username: str,
    organisation: Annotated[str, typer.Option(help="Organisation id, code or name.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(auth.role_names())}")],
    team: Annotated[str | None, typer.Option(help="Team, for team-scoped roles.")] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the app.")] = None,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user; prints the TOTP enrolment URI once (add it to an authenticator app).

    The password is prompted for (hidden), read from standard input with --password-stdin, or
    taken from MAILLON_NEW_PASSWORD; it is never a command-line argument (shell history).
    """
    settings = _settings(ctx)
    password = _read_password(password_stdin)
    store, security = open_store(settings), Security.open(settings)
    try:
        with security.audit.audit_scope(store.engine) as conn, session_on(conn) as session:
            org = find_organisation(session, organisation)
            user, secret = auth.create_user(session, organisation_id=org.id, username=username,
                                            password=password, role=role, team=team,
                                            display_name=display_name, keys=security.keys)
            security.audit.append(conn, actor=operator_name(settings), action="create",
                                  resource="user", resource_id=user.id, source="cli",
                                  actor_organisation_id=org.id)
        out.print(f"user {user.username} ({role}) in {org.code}")
        if secret:
            out.print("TOTP enrolment URI (shown once):", markup=False)
            print(auth.provisioning_uri(secret, user.username))
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()


@keys_app.command("init")
def keys_init(ctx: typer.Context) -> None:
    """Create the key file (refuses to overwrite one)."""
    settings = _settings(ctx)
    try:
        FileKeyProvider.create(settings.key_file)
    except MaillonError as exc:
        raise _fail(exc) from exc
    out.print(f"key file created: {settings.key_file} (mode 0600; back it up separately)")


@keys_app.command("rotate")
def keys_rotate(
    ctx: typer.Context,
    new_kek: Annotated[bool, typer.Option(help="Add a new key-encryption key first.")] = True,
    new_data_keys: Annotated[
        bool, typer.Option(help="Also give every organisation a new data key.")
    ] = False,
) -> None:
    """Re-wrap every data key under the newest key-encryption key (and optionally new DEKs)."""
    settings = _settings(ctx)
    provider = FileKeyProvider.open_or_create(settings.key_file)
    if new_kek:
        version = provider.add_kek_version()
        out.print(f"new key-encryption key version {version}")
    store, security = open_store(settings), Security.open(settings)
    try:
        with security.audit.audit_scope(store.engine) as conn:
            result = rotate(conn, provider, new_data_keys=new_data_keys)
            security.audit.append(conn, actor=operator_name(settings), action="update",
                                  resource="keys", source="cli",
                                  detail={"kek_version": result.kek_version,
                                          "rewrapped": result.rewrapped})
    finally:
        store.close()
    out.print(f"{result.rewrapped} data keys re-wrapped under KEK v{result.kek_version}; "
              f"{len(result.retired)} data keys retired")


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check the audit log's hash chain and its anchor; exit 1 naming the first bad entry."""
    settings = _settings(ctx)
    store, security = open_store(settings), Security.open(settings)
    try:
        with store.engine.connect() as conn:
            result = verify(conn, key=security.keys.secret("audit"),
                            anchor_path=settings.audit_anchor)
    finally:
        store.close()
    if result.ok:
        out.print(f"audit log intact: {result.entries} entries")
        return
    where = f" at entry {result.first_bad_seq}" if result.first_bad_seq is not None else ""
    err.print(f"audit log NOT intact{where}: {result.reason}", markup=False)
    raise typer.Exit(1)


@keys_app.command("reencrypt")
def keys_reencrypt(ctx: typer.Context) -> None:
    """Move every encrypted field to its organisation's newest data key (after rotate
    --new-data-keys); also seals values an older version stored in clear. Safe to re-run."""
    settings = _settings(ctx)
    store, security = open_store(settings), Security.open(settings)
    try:
        result = reencrypt_all(store.engine, security.keys)
        with security.audit.audit_scope(store.engine) as conn:
            security.audit.append(conn, actor=operator_name(settings), action="update",
                                  resource="keys", source="cli",
                                  detail={"reencrypted": result.total_rewritten})
    except MaillonError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    for label, count in sorted(result.rewritten.items()):
        out.print(f"{label}: {count} re-encrypted")
    for label, count in sorted(result.sealed.items()):
        out.print(f"{label}: {count} sealed (were in clear)")
    current = sum(result.current.values())
    out.print(f"{result.total_rewritten} fields rewritten; {current} already under the newest key")
