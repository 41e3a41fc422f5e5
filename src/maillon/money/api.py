"""Public functions of the money capability (see ``docs/money.md``)."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maillon.money.graph import compute_features, graph_hits
from maillon.money.importers import ImportReport, import_dataset, load_profile, read_labels
from maillon.money.model import Dataset
from maillon.money.rules import Hit, Rule, load_rules, run_rules
from maillon.money.scoring import (
    DEFAULT_THRESHOLD,
    Alert,
    backtest,
    build_alerts,
    weights,
    write_jsonl,
)

__all__ = ["Dataset", "ImportReport", "ScanResult", "backtest", "demo_queue", "demo_scan",
           "import_dataset", "known_accounts", "load_profile", "load_rules", "read_labels",
           "scan_dataset", "scan_files"]


@dataclass
class ScanResult:
    alerts: list[Alert]
    hits: list[Hit]
    rules: list[Rule]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def weights(self) -> dict[str, float]:
        return weights(self.rules)


KNOWN_SQL = """
WITH c AS (
  SELECT lower(kind) AS kind, value, role,
         CASE lower(kind) WHEN 'phone' THEN regexp_replace(lower(value), '[^a-z0-9]', '', 'g')
                          WHEN 'email' THEN lower(trim(value)) ELSE value END AS v
  FROM case_identifiers WHERE role IS NOT NULL AND lower(kind) IN ('phone', 'email', 'account')),
holders AS (
  SELECT a.account_id, regexp_replace(lower(p.phone), '[^a-z0-9]', '', 'g') AS phone,
         lower(trim(p.email)) AS email
  FROM accounts a JOIN parties p ON p.party_id = a.party_id)
SELECT h.account_id, c.role FROM holders h JOIN c ON c.kind = 'phone' AND c.v = h.phone
UNION SELECT h.account_id, c.role FROM holders h JOIN c ON c.kind = 'email' AND c.v = h.email
UNION SELECT h.account_id, c.role FROM holders h JOIN c ON c.kind = 'account'
  AND c.value = h.account_id
ORDER BY 1, 2"""
"""Accounts whose holder's phone (letters and digits only) or e-mail (lower-case, trimmed)
matches a case identifier with a role, or named by a case identifier of kind ``account``; one
equi-join per kind (not one join on an OR of the three, which DuckDB runs as a nested loop)."""


def known_accounts(dataset: Dataset) -> dict[str, str]:
    """Accounts of known traffickers or victims: holders whose identifiers match case data
    (account -> role; the last role in alphabetical order when several match)."""
    con = dataset.connect()
    try:
        rows = con.execute(KNOWN_SQL).fetchall()
    finally:
        con.close()
    return {str(a): str(r) for a, r in rows}


def scan_dataset(dataset: Dataset, *, rules: list[Rule] | None = None,
                 threshold: float = DEFAULT_THRESHOLD, graph: bool = True,
                 overrides: dict[str, dict[str, Any]] | None = None) -> ScanResult:
    """Run every indicator (SQL rules, then graph features) and score with the transparent
    model. Never reads labels."""
    rules = rules if rules is not None else load_rules()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    con = dataset.connect(materialise=True)
    timings["load"] = time.perf_counter() - start
    try:
        start = time.perf_counter()
        hits = run_rules(con, rules, overrides, timings)
        timings["sql_total"] = time.perf_counter() - start
        if graph:
            features = compute_features(con, known=known_accounts(dataset))
            hits.extend(graph_hits(features))
            timings["graph_total"] = features.seconds
    finally:
        con.close()
    alerts = build_alerts(hits, weights(rules), threshold=threshold,
                          dataset_key=str(dataset.path.name))
    return ScanResult(alerts=alerts, hits=hits, rules=rules, timings=timings)


def scan_files(*, transactions: Path, accounts: Path | None, output: Path,
               profile: str | Path = "maillon", threshold: float = DEFAULT_THRESHOLD,
               parties: Path | None = None, case_identifiers: Path | None = None
               ) -> ScanResult:
    """``maillon money scan``: import into a temporary dataset, scan, write alerts as JSONL."""
    with tempfile.TemporaryDirectory(prefix="maillon-scan-") as tmp:
        target = Path(tmp) / "dataset"
        import_dataset(target, transactions=transactions, accounts=accounts, parties=parties,
                       case_identifiers=case_identifiers, profile=profile)
        result = scan_dataset(Dataset(target), threshold=threshold)
    write_jsonl(result.alerts, output)
    return result


def demo_scan(data_dir: Path, *, accounts: int = 1500, days: int = 60, seed: int = 7
              ) -> dict[str, Any]:
    """For ``make run``: generate demo transactions under ``data_dir/money/demo``, scan them,
    write ``alerts.jsonl`` beside them; returns a short summary (counts, recall per typology)."""
    from maillon.money.synth import generate, read_synth_labels

    folder = data_dir / "money" / "demo"
    summary = generate(folder, accounts=accounts, days=days, seed=seed)
    result = scan_dataset(Dataset(folder))
    write_jsonl(result.alerts, folder / "alerts.jsonl")
    labels, typology = read_synth_labels(folder)
    flagged = {a.account_id for a in result.alerts}
    per: dict[str, list[int]] = {}
    for account, name in typology.items():
        per.setdefault(name, []).append(int(account in flagged))
    return {"transactions": summary.transactions, "accounts": summary.accounts,
            "alerts": len(result.alerts), "alerts_file": str(folder / "alerts.jsonl"),
            "recall_per_typology": {k: round(sum(v) / len(v), 2) for k, v in sorted(per.items())},
            "false_alerts": sum(1 for a in flagged if not labels.get(a))}


def demo_queue(settings: Any, store: Any, *, organisation: str) -> dict[str, Any]:
    """For ``maillon demo``: :func:`demo_scan`, then load its alerts (with their evidence
    rows) into ``organisation``'s alert queue (``/money/alerts``); idempotent."""
    from maillon.money.queue import load_alerts_file

    summary = demo_scan(settings.data_dir)
    report = load_alerts_file(settings, store, Path(summary["alerts_file"]),
                              organisation=organisation,
                              dataset=settings.data_dir / "money" / "demo", actor="demo",
                              source="demo")
    return {**summary, "queue": report.as_dict()}
