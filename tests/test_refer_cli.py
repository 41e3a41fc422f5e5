"""The CLI: partners, transnational export/import/feedback between two workspaces, services,
frameworks and the jobs runner."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from maillon.cli import app
from maillon.core.settings import Settings
from maillon.identify.context import Actor, write_scope
from maillon.refer import service as svc
from maillon.store.api import open_store
from tests.identify_helpers import screen, tools_for

runner = CliRunner()


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {"MAILLON_KEY_FILE": str(root / "keys" / "keys.json"),
                    "MAILLON_AUDIT_ANCHOR": str(root / "keys" / "anchor.json")}

    def run(self, *args: str) -> str:
        result = runner.invoke(app, ["--data-dir", str(self.root / "data"), "--as", "op",
                                     *args], env=self.env)
        assert result.exit_code == 0, (args, result.output)
        return result.output

    def settings(self) -> Settings:
        return Settings(data_dir=self.root / "data",
                        key_file=self.root / "keys" / "keys.json",
                        audit_anchor=self.root / "keys" / "anchor.json")


def test_cli_transnational_round_trip(tmp_path: Path) -> None:
    a, b = Workspace(tmp_path / "a"), Workspace(tmp_path / "b")
    for ws, org in ((a, "Focal A"), (b, "Focal B")):
        ws.run("init")
        ws.run("orgs", "create", org)
    keys_a = json.loads(a.run("partners", "self", "--json"))
    keys_b = json.loads(b.run("partners", "self", "--json"))
    assert keys_a["signing_key"] != keys_b["signing_key"]
    a.run("partners", "add", "Instance B", "--signing-key", keys_b["signing_key"],
          "--encryption-key", keys_b["encryption_key"])
    b.run("partners", "add", "Instance A", "--signing-key", keys_a["signing_key"],
          "--encryption-key", keys_a["encryption_key"], "--country", "FR")
    assert "Instance A" in b.run("partners", "list")

    a.run("refer", "services", "add", "NGO abroad", "--type", "shelter", "--capacity", "5")
    services = json.loads(a.run("refer", "services", "list", "--json"))
    assert services[0]["capacity"] == 5 and services[0]["available"] == 5

    settings = a.settings()
    store = open_store(settings)
    tools = tools_for(settings, store)
    from tests.auth_helpers import organisation_id

    actor = Actor("cara.worker", organisation_id(store, "Focal A"), "test")
    scr = screen(store, tools, actor, birth=date(1994, 3, 2))
    with write_scope(store.engine, tools, actor.organisation_id) as s:
        rid = svc.create_referral(s, tools, actor, screening_id=scr.id,
                                  provider_id=services[0]["id"], fields=["name", "language"],
                                  consent="given")
    store.close()

    package = tmp_path / "referral.json"
    a.run("refer", "export", rid, "--partner", "Instance B", "--out", str(package),
          "--organisation", "Focal A")
    ack = tmp_path / "ack.json"
    out = b.run("refer", "import", str(package), "--organisation", "Focal B", "--reply",
                str(ack))
    assert "referral" in out and "Instance A" in out and ack.is_file()
    received = json.loads(b.run("refer", "packages", "--json"))
    [inbound] = [p for p in received if p["direction"] == "in"]
    assert inbound["fields"] == "name,language"
    a.run("refer", "import", str(ack), "--organisation", "Focal A")
    status = tmp_path / "status.json"
    b.run("refer", "feedback", inbound["package_id"], "--status", "done", "--out", str(status))
    a.run("refer", "import", str(status), "--organisation", "Focal A")
    [sent] = [p for p in json.loads(a.run("refer", "packages", "--json"))
              if p["direction"] == "out"]
    assert sent["acknowledged_at"] and sent["status"] == "done"

    report = json.loads(a.run("jobs", "run", "--today", "2026-03-20", "--json"))
    assert report[0]["name"] == "nrm_reminders"
    assert "nrm_reminders" in a.run("jobs", "list")
    frameworks = json.loads(a.run("screenings", "frameworks", "--json"))
    assert {f["id"] for f in frameworks} >= {"delphi_adult_labour", "ilo_forced_labour"}
    listed = json.loads(a.run("screenings", "list", "--organisation", "Focal A", "--json"))
    assert [x["framework_id"] for x in listed] == ["delphi_adult_labour"]
    assert json.loads(a.run("refer", "overdue", "--today", "2026-03-20", "--json")) == {
        "overdue": [], "due_soon": []}


def test_demo_runs_once(settings: Settings, store: object) -> None:
    import io

    from rich.console import Console

    from maillon.refer.demo import run_identify_demo
    from maillon.store.api import Store

    assert isinstance(store, Store)
    buffer = io.StringIO()
    console = Console(file=buffer, width=200)
    run_identify_demo(settings, store, console=console)
    run_identify_demo(settings, store, console=console)
    text = buffer.getvalue()
    assert "refer_as_presumed_victim" in text and "already present" in text
    with store.sessions() as s:
        assert len(svc.list_providers(s)) == 4
