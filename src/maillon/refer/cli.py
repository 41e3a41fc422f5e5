"""CLI: ``maillon screenings``, ``maillon refer``, ``maillon partners``, ``maillon jobs``."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from maillon.auth.context import Security, operator_name
from maillon.core.settings import Settings
from maillon.identify.context import Actor, Tools, write_scope
from maillon.store.api import Store, open_store
from maillon.store.crypto import FieldCipher

screenings_app = typer.Typer(help="Indicator frameworks and screenings.", no_args_is_help=True)
refer_app = typer.Typer(help="Referral workflow, services, transnational packages.",
                        no_args_is_help=True)
services_app = typer.Typer(help="The services directory.", no_args_is_help=True)
partners_app = typer.Typer(help="Partner instances for transnational referral.",
                           no_args_is_help=True)
jobs_app = typer.Typer(help="Scheduled jobs (run from cron or a systemd timer).",
                       no_args_is_help=True)
refer_app.add_typer(services_app, name="services")

out = Console()
err = Console(stderr=True)
OrgOption = Annotated[str | None, typer.Option(
    "--organisation", help="Organisation acting (id, code or name).")]


def _json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


class _Env:
    def __init__(self, ctx: typer.Context, organisation: str | None = None) -> None:
        from maillon.auth.orgs import find_organisation

        self.settings: Settings = ctx.obj
        self.store: Store = open_store(self.settings)
        self.security = Security.open(self.settings)
        self.tools = Tools(FieldCipher(self.security.keys, self.store.engine),
                           self.security.audit)
        org_id = None
        if organisation:
            with self.store.sessions() as s:
                org_id = find_organisation(s, organisation).id
        self.actor = Actor(operator_name(self.settings), org_id, "cli")

    def keys(self) -> Any:
        from maillon.refer.transnational import InstanceKeys, instance_key_path

        return InstanceKeys.open_or_create(instance_key_path(self.settings.key_file))

    def need_org(self) -> str:
        if self.actor.organisation_id is None:
            err.print("--organisation is required for this command")
            raise typer.Exit(2)
        return self.actor.organisation_id


# --- screenings ------------------------------------------------------------------------------


@screenings_app.command("frameworks")
def frameworks(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The indicator frameworks, with version, rule and completeness."""
    from maillon.identify.frameworks import builtin_frameworks

    fws = builtin_frameworks()
    if as_json:
        _json([f.as_dict() for f in fws.values()])
        return
    table = Table("id", "version", "rule", "population", "indicators", "complete", "source")
    for f in fws.values():
        table.add_row(f.id, f.version, f.rule, f.population, str(len(f.indicator_codes)),
                      "yes" if f.complete else f"no: {f.to_complete}", f.source)
    out.print(table)


@screenings_app.command("list")
def screenings_list(ctx: typer.Context, organisation: OrgOption = None,
                    as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Screenings (no personal content): framework, recommendation, screener, date."""
    from maillon.identify.models import Screening
    from maillon.identify.service import list_screenings

    env = _Env(ctx, organisation)
    scope = (Screening.organisation_id == env.actor.organisation_id
             if env.actor.organisation_id else None)
    with env.store.sessions() as s:
        items = list_screenings(s, scope=scope, limit=500)
    env.store.close()
    if as_json:
        _json([i.__dict__ for i in items])
        return
    table = Table("id", "framework", "version", "recommendation", "child", "screener", "date")
    for i in items:
        table.add_row(i.id, i.framework_id, i.framework_version, i.recommendation,
                      "yes" if i.is_child else "", i.screener, i.screened_at.isoformat()[:16])
    out.print(table)


# --- services and workflow -------------------------------------------------------------------


@services_app.command("add")
def services_add(
    ctx: typer.Context, name: str,
    service_type: Annotated[str, typer.Option("--type", help="shelter, medical, psychological, "
                                              "legal, interpretation, child_protection")],
    capacity: Annotated[int | None, typer.Option(help="Places; none = not tracked.")] = None,
    account: Annotated[str | None, typer.Option(
        help="Organisation of this instance that receives the referrals.")] = None,
    country: str | None = None, area: str | None = None,
    accepts_children: Annotated[bool, typer.Option()] = False,
    contact: str | None = None,
) -> None:
    """Add a service to the directory."""
    from maillon.auth.orgs import find_organisation
    from maillon.refer.service import add_provider

    env = _Env(ctx)
    with write_scope(env.store.engine, env.tools) as s:
        org_id = find_organisation(s, account).id if account else None
        pid = add_provider(s, env.tools, env.actor, name=name, service_type=service_type,
                           capacity=capacity, organisation_id=org_id, country=country,
                           area=area, accepts_children=accepts_children, contact=contact)
    env.store.close()
    out.print(f"service {pid} added")


@services_app.command("list")
def services_list(ctx: typer.Context, service_type: Annotated[
        str | None, typer.Option("--type")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Services with capacity, places in use and places available."""
    from maillon.refer.service import list_providers

    env = _Env(ctx)
    with env.store.sessions() as s:
        items = list_providers(s, service_type=service_type)
    env.store.close()
    if as_json:
        _json(items)
        return
    table = Table("id", "name", "type", "capacity", "in use", "available", "country")
    for p in items:
        table.add_row(p["id"], p["name"], p["service_type"], str(p["capacity"] or ""),
                      str(p["in_use"]), "" if p["available"] is None else str(p["available"]),
                      p["country"] or "")
    out.print(table)


@refer_app.command("overdue")
def overdue(ctx: typer.Context, today: Annotated[str | None, typer.Option(
        help="YYYY-MM-DD (default: today)")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Workflow cases past their deadline, and those due soon."""
    from maillon.refer.service import due_cases

    env = _Env(ctx)
    with env.store.sessions() as s:
        late, soon = due_cases(s, today=date.fromisoformat(today) if today else date.today())
    env.store.close()
    if as_json:
        _json({"overdue": [d.__dict__ for d in late], "due_soon": [d.__dict__ for d in soon]})
        return
    table = Table("case", "state", "owner role", "owner", "deadline", "days late")
    for d in [*late, *soon]:
        table.add_row(d.case_id, d.state, d.owner_role, d.owner or "", str(d.deadline),
                      str(max(0, d.days_late)))
    out.print(table)


# --- transnational ---------------------------------------------------------------------------


@refer_app.command("export")
def export(ctx: typer.Context, referral_id: str,
           partner: Annotated[str, typer.Option(help="Registered partner name.")],
           output: Annotated[Path, typer.Option("--out", help="Package file to write.")],
           organisation: OrgOption = None) -> None:
    """Write a referral's consented data set as a signed, encrypted package for a partner."""
    from maillon.refer.transnational import export_referral

    env = _Env(ctx, organisation)
    env.need_org()
    with write_scope(env.store.engine, env.tools) as s:
        package = export_referral(s, env.tools, env.actor, env.keys(), referral_id=referral_id,
                                  partner_name=partner)
    env.store.close()
    output.write_bytes(package)
    out.print(f"package written to {output}")


@refer_app.command("import")
def import_(ctx: typer.Context, package: Path, organisation: OrgOption = None,
            reply: Annotated[Path | None, typer.Option(
                help="Where to write the receipt package for a received referral.")] = None,
            ) -> None:
    """Open a package from a partner: a referral (writes a receipt), a receipt or a status."""
    from maillon.refer.transnational import import_package

    env = _Env(ctx, organisation)
    org = env.need_org()
    with write_scope(env.store.engine, env.tools, org) as s:
        result = import_package(s, env.tools, env.actor, env.keys(), package.read_bytes())
    env.store.close()
    out.print(f"{result.kind} {result.package_id} from {result.partner}: {result.detail}")
    if result.reply is not None:
        target = reply or package.with_name(package.stem + ".ack.json")
        target.write_bytes(result.reply)
        out.print(f"receipt written to {target}: send it back to {result.partner}")


@refer_app.command("feedback")
def feedback(ctx: typer.Context, package_id: str,
             status: Annotated[str, typer.Option(help="accepted, rejected or done")],
             output: Annotated[Path, typer.Option("--out")],
             note: str | None = None, organisation: OrgOption = None) -> None:
    """Write a status feedback package about a received referral."""
    from maillon.refer.transnational import status_feedback

    env = _Env(ctx, organisation)
    with write_scope(env.store.engine, env.tools) as s:
        data = status_feedback(s, env.tools, env.actor, env.keys(), package_id=package_id,
                               status=status, note=note)
    env.store.close()
    output.write_bytes(data)
    out.print(f"status package written to {output}")


@refer_app.command("packages")
def packages(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
             ) -> None:
    """Packages sent and received, with receipts and status feedback."""
    from maillon.refer.transnational import list_packages

    env = _Env(ctx)
    with env.store.sessions() as s:
        items = list_packages(s)
    env.store.close()
    if as_json:
        _json(items)
        return
    table = Table("package", "dir", "kind", "partner", "fields", "acknowledged", "status")
    for p in items:
        table.add_row(p["package_id"], p["direction"], p["kind"], p["partner"],
                      p["fields"] or "", str(p["acknowledged_at"] or ""), p["status"] or "")
    out.print(table)


@partners_app.command("add")
def partners_add(
    ctx: typer.Context, name: str,
    signing_key: Annotated[str, typer.Option(help="Partner's Ed25519 public key (base64).")],
    encryption_key: Annotated[str, typer.Option(help="Partner's X25519 public key (base64).")],
    country: str | None = None,
) -> None:
    """Register a partner instance's public keys, received out of band."""
    from maillon.refer.transnational import add_partner, fingerprint

    env = _Env(ctx)
    with write_scope(env.store.engine, env.tools) as s:
        add_partner(s, env.tools, env.actor, name=name, signing_key=signing_key,
                    encryption_key=encryption_key, country=country)
    env.store.close()
    out.print(f"partner {name} added; check the fingerprint with them by phone: "
              f"{fingerprint(signing_key)}")


@partners_app.command("list")
def partners_list(ctx: typer.Context,
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Registered partners with their key fingerprints."""
    from maillon.refer.transnational import list_partners

    env = _Env(ctx)
    with env.store.sessions() as s:
        items = list_partners(s)
    env.store.close()
    if as_json:
        _json(items)
        return
    table = Table("name", "country", "signing key", "encryption key")
    for p in items:
        table.add_row(p["name"], p["country"] or "", p["signing_fingerprint"],
                      p["encryption_fingerprint"])
    out.print(table)


@partners_app.command("self")
def partners_self(ctx: typer.Context,
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """This instance's public keys, to give to partners (created on first use)."""
    from maillon.refer.transnational import InstanceKeys, fingerprint, instance_key_path

    settings: Settings = ctx.obj
    keys = InstanceKeys.open_or_create(instance_key_path(settings.key_file))
    data = {"signing_key": keys.signing_public, "encryption_key": keys.encryption_public,
            "fingerprint": fingerprint(keys.signing_public)}
    if as_json:
        _json(data)
        return
    out.print(f"maillon partners add NAME --signing-key {data['signing_key']} "
              f"--encryption-key {data['encryption_key']}", markup=False, soft_wrap=True)
    out.print(f"fingerprint: {data['fingerprint']}")


# --- jobs ------------------------------------------------------------------------------------


@jobs_app.command("run")
def jobs_run(
    ctx: typer.Context,
    today: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today).")] = None,
    only: Annotated[str | None, typer.Option(help="Run this job only.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run the scheduled jobs (overdue workflow cases and reminders, supplier re-screening)."""
    from maillon.jobs import JOBS
    from maillon.refer.jobs import JobContext, run_jobs

    settings: Settings = ctx.obj
    store = open_store(settings)
    try:
        reports = run_jobs(JobContext(settings, store, Security.open(settings),
                                      date.fromisoformat(today) if today else date.today(),
                                      operator_name(settings)), JOBS, only=only)
    finally:
        store.close()
    if as_json:
        _json([r.__dict__ for r in reports])
        return
    for r in reports:
        out.print(f"[bold]{r.name}[/]: " + ", ".join(f"{k} {v}" for k, v in r.counts.items()))
        for line in r.lines:
            out.print(f"  {line}", markup=False)


@jobs_app.command("list")
def jobs_list() -> None:
    """The jobs `maillon jobs run` runs, in order."""
    from maillon.jobs import JOBS

    for job in JOBS:
        out.print(f"{job.__name__}: {(job.__doc__ or '').strip().splitlines()[0]}")
