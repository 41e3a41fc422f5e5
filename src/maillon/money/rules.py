"""Red-flag rules as data: one YAML file per indicator, run on DuckDB (or Spark via SQLGlot).

A rule file holds ``id``, ``name``, ``source`` (publication and date), ``reference``,
``description``, ``weight`` (its weight in the transparent score), ``parameters`` (each with a
``default`` and the ``source`` of that default), optional ``steps`` (``name`` + ``sql``, each
materialised as a temporary table, so that multi-hop paths are built one hop at a time) and the
final ``sql`` in the DuckDB dialect. Parameters are written ``${name}`` in the SQL; lists become
SQL lists of literals.

Tables that several rules read (the transfer edges, the daily sender/beneficiary pairs, the
normalised party identifiers) are *shared steps*, defined once in ``shared_steps.yaml`` without
parameters; a rule names those it reads in ``uses``. :func:`run_rules` materialises each shared
step once, before the first rule that uses it, and drops them all at the end.

The final query returns one row per hit with ``account_id`` and ``strength`` (0..1); a column
``txn_ids`` lists the evidence transactions, columns whose name starts with ``related`` list
other accounts of the network; any other column is kept as evidence.
"""

from __future__ import annotations

import json
import math
import re
import string
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import yaml

from maillon.core.errors import FieldError, InvalidInput, NotFound

MAX_EVIDENCE_IDS = 25
"""Evidence transactions and related accounts kept per hit."""


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    source: str
    reference: str
    description: str
    weight: float
    parameters: dict[str, dict[str, Any]]
    steps: tuple[tuple[str, str], ...]
    sql: str
    uses: tuple[str, ...] = ()
    """shared steps (``shared_steps.yaml``) the rule's SQL reads"""

    def params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        values = {k: v.get("default") for k, v in self.parameters.items()}
        for key, value in (overrides or {}).items():
            if key in values:
                values[key] = value
        return values

    def render(self, text: str, overrides: dict[str, Any] | None = None) -> str:
        return string.Template(text).substitute(
            {k: _literal(v) for k, v in self.params(overrides).items()})

    def statements(self, overrides: dict[str, Any] | None = None
                   ) -> tuple[list[tuple[str, str]], str]:
        """(rendered steps, rendered final query)."""
        return ([(name, self.render(sql, overrides)) for name, sql in self.steps],
                self.render(self.sql, overrides))


def _literal(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_literal(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


@dataclass
class Hit:
    """One rule firing for one account (possibly several windows merged)."""

    rule_id: str
    account_id: str
    strength: float
    txn_ids: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


def _parse(text: str, origin: str) -> Rule:
    data = yaml.safe_load(text) or {}
    missing = [k for k in ("id", "name", "source", "description", "sql") if not data.get(k)]
    if missing:
        raise InvalidInput(f"rule {origin} is missing {', '.join(missing)}",
                           [FieldError("required", field=k) for k in missing])
    params = data.get("parameters") or {}
    for name, spec in params.items():
        if not isinstance(spec, dict) or "default" not in spec or "source" not in spec:
            raise InvalidInput(f"rule {origin}: parameter {name} needs a default and a source")
    return Rule(id=str(data["id"]), name=str(data["name"]), source=str(data["source"]),
                reference=str(data.get("reference") or ""),
                description=str(data["description"]), weight=float(data.get("weight", 0.3)),
                parameters=params,
                steps=tuple((str(s["name"]), str(s["sql"])) for s in data.get("steps") or ()),
                sql=str(data["sql"]), uses=tuple(str(u) for u in data.get("uses") or ()))


@cache
def shared_steps() -> dict[str, str]:
    """The shared steps, name -> SQL (DuckDB dialect, no parameters), in dependency order."""
    text = (resources.files("maillon.money") / "shared_steps.yaml").read_text(encoding="utf-8")
    return {str(s["name"]): str(s["sql"]) for s in yaml.safe_load(text)["steps"]}


def _needed(rule: Rule) -> list[tuple[str, str]]:
    """The shared steps ``rule`` reads, with the shared steps those read, in order."""
    steps = shared_steps()
    unknown = [u for u in rule.uses if u not in steps]
    if unknown:
        raise NotFound(f"rule {rule.id} uses unknown shared step(s): {', '.join(unknown)}")
    wanted: set[str] = set()
    for name in reversed(list(steps)):  # a step may read earlier steps only
        if name in rule.uses or any(re.search(rf"\b{name}\b", steps[w]) for w in wanted):
            wanted.add(name)
    return [(n, sql) for n, sql in steps.items() if n in wanted]


def load_rules(folder: Path | None = None, only: list[str] | None = None) -> list[Rule]:
    """The built-in rules (or those of ``folder``), sorted by id; ``only`` filters by id."""
    if folder is None:
        files = [(f.name, f.read_text(encoding="utf-8"))
                 for f in (resources.files("maillon.money") / "rules").iterdir()
                 if f.name.endswith(".yaml")]
    else:
        files = [(f.name, f.read_text(encoding="utf-8")) for f in Path(folder).glob("*.yaml")]
    rules = sorted((_parse(text, name) for name, text in files), key=lambda r: r.id)
    if only:
        known = {r.id for r in rules}
        unknown = [o for o in only if o not in known]
        if unknown:
            raise NotFound(f"unknown rule(s): {', '.join(unknown)}")
        rules = [r for r in rules if r.id in only]
    return rules


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def materialise_shared(con: duckdb.DuckDBPyConnection, rule: Rule, done: set[str],
                       timings: dict[str, float] | None = None) -> None:
    """Create the shared steps ``rule`` reads that are not in ``done`` yet (and add them);
    ``timings`` receives ``shared:<name>`` seconds."""
    import time

    for name, sql in _needed(rule):
        if name not in done:
            start = time.perf_counter()
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
            done.add(name)
            if timings is not None:
                timings[f"shared:{name}"] = time.perf_counter() - start


def _order(evidence: dict[str, Any]) -> str:
    return json.dumps(evidence, sort_keys=True, default=str)


def run_rule(con: duckdb.DuckDBPyConnection, rule: Rule,
             overrides: dict[str, Any] | None = None,
             shared: set[str] | None = None) -> list[Hit]:
    """Run one rule on a connection holding the dataset views; windows of one account merge.

    ``shared``: the shared steps already on ``con`` (see :func:`run_rules`); without it the
    shared steps the rule reads are created for it and dropped after it."""
    steps, final = rule.statements(overrides)
    own: set[str] = set()
    materialise_shared(con, rule, own if shared is None else shared)
    for name, sql in steps:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
    cur = con.execute(final)
    columns = [d[0] for d in cur.description]
    rows = cur.fetchall()
    for name in [n for n, _ in steps] + sorted(own):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    hits: dict[str, Hit] = {}
    for row in rows:
        rec = dict(zip(columns, row, strict=True))
        account = rec.pop("account_id")
        if account is None:
            continue
        strength = float(rec.pop("strength") or 0.0)
        txns = [str(t) for t in rec.pop("txn_ids", None) or []]
        related: list[str] = []
        for key in [k for k in rec if k.startswith("related")]:
            related.extend(str(a) for a in rec.pop(key) or [] if a is not None)
        hit = hits.get(str(account))
        evidence = {k: _clean(v) for k, v in rec.items()}
        if hit is None:
            hits[str(account)] = Hit(rule.id, str(account), strength, txns, related, evidence)
            continue
        if strength > hit.strength or (strength == hit.strength
                                       and _order(evidence) > _order(hit.evidence)):
            # the strongest window's figures; between equally strong windows, one chosen by
            # content, never by the order the engine returned the rows in
            hit.strength, hit.evidence = strength, evidence
        hit.txn_ids.extend(txns)
        hit.related.extend(related)
    for hit in hits.values():
        hit.txn_ids = sorted(set(hit.txn_ids))[:MAX_EVIDENCE_IDS]
        hit.related = sorted(set(hit.related) - {hit.account_id})[:MAX_EVIDENCE_IDS]
        hit.strength = round(min(1.0, max(0.0, hit.strength)), 4)
    return list(hits.values())


def run_rules(con: duckdb.DuckDBPyConnection, rules: list[Rule],
              overrides: dict[str, dict[str, Any]] | None = None,
              timings: dict[str, float] | None = None) -> list[Hit]:
    """Run every rule; ``timings`` (if given) receives each rule's wall time in seconds, and
    each shared step's as ``shared:<name>`` (created once, before the first rule reading it)."""
    import time

    hits: list[Hit] = []
    shared: set[str] = set()
    try:
        for rule in rules:
            materialise_shared(con, rule, shared, timings)
            start = time.perf_counter()
            hits.extend(run_rule(con, rule, (overrides or {}).get(rule.id), shared))
            if timings is not None:
                timings[rule.id] = time.perf_counter() - start
    finally:
        for name in shared:
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return hits


def to_spark(sql: str) -> str:
    """A DuckDB-dialect statement transpiled to Spark SQL by SQLGlot."""
    import sqlglot

    return str(sqlglot.transpile(sql, read="duckdb", write="spark")[0])


def run_rule_spark(spark: Any, rule: Rule, overrides: dict[str, Any] | None = None
                   ) -> list[tuple[str, float]]:
    """Run a rule on Spark (the dataset's tables registered as temp views); (account, strength)
    rows, windows merged by maximum strength as :func:`run_rule` does."""
    steps, final = rule.statements(overrides)
    for name, sql in _needed(rule) + steps:
        spark.sql(to_spark(sql)).createOrReplaceTempView(name)
    best: dict[str, float] = {}
    for row in spark.sql(to_spark(final)).select("account_id", "strength").collect():
        if row[0] is None:
            continue
        value = round(min(1.0, max(0.0, float(row[1] or 0.0))), 4)
        best[str(row[0])] = max(best.get(str(row[0]), 0.0), value)
    return sorted(best.items())
