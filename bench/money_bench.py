"""Benchmarks of the money capability (figures for docs/money.md).

    .venv/bin/python bench/money_bench.py amlsim [--shared ../shared]
    .venv/bin/python bench/money_bench.py synth [--accounts 5000 --days 60]
    .venv/bin/python bench/money_bench.py scale [--accounts 500000 --transactions 5000000
                                                 --threads 2 --keep DIR --no-graph]

``amlsim``: the AMLSim 20K sample (extracted to a temporary folder, never into the repository):
precision/recall/F1 of flagged accounts with the transparent model (subject accounts, and
subject plus network), and with LightGBM trained on half the accounts and evaluated on the
other half, with and without amount features (every AMLSim transfer under 100 is between fraud
accounts: a model with amounts can learn that artefact).
``synth``: recall per planted typology and false-alert rate on generated data.
``scale``: all SQL rules on N transactions / M accounts (per rule, per shared step, the loading
of the tables and the total), beside one DuckDB scan of the Parquet (the speed-of-light
reference); the graph features (igraph) timed separately, per step; the SQL rules and the graph
features each run in a fresh process, so each reports its own peak RSS, and its CPU seconds
beside the wall time (on a shared machine the CPU time is the steadier figure). DuckDB runs
with ``--threads`` (default 2, the issue's 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from maillon.money.api import scan_dataset
from maillon.money.graph import compute_features, graph_hits
from maillon.money.importers import import_dataset, read_labels
from maillon.money.model import Dataset
from maillon.money.rules import load_rules, run_rules
from maillon.money.scoring import (
    best_threshold,
    build_alerts,
    metrics,
    model_matrix,
    train_model,
    weights,
)
from maillon.money.synth import generate, read_synth_labels


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def amlsim(shared: Path) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="money-bench-"))
    with tarfile.open(shared / "reference" / "amlsim" / "20K_fanin200cycle200.tgz") as tar:
        tar.extractall(tmp, filter="data")
    src = tmp / "20K_fanin200cycle200"
    import_dataset(tmp / "ds", transactions=src / "transactions.csv",
                   accounts=src / "nodes.csv", profile="amlsim")
    labels = read_labels(src / "nodes.csv")
    start = time.perf_counter()
    result = scan_dataset(Dataset(tmp / "ds"))
    scan_s = time.perf_counter() - start
    subjects = {a.account_id for a in result.alerts}
    network = {x for a in result.alerts for x in a.accounts}
    out: dict[str, object] = {
        "scan_seconds": round(scan_s, 1), "alerts": len(result.alerts),
        "transparent_subject": metrics(subjects, labels).as_dict(),
        "transparent_network": metrics(network, labels).as_dict()}
    # ablations of the transparent scan (no training): without the split-transfer indicator,
    # and on a copy whose amounts are shuffled across transactions (an amount artefact, such
    # as "every transfer under 100 is fraud", cannot help the scan there)
    w = weights(load_rules())
    no_split = [h for h in result.hits if h.rule_id != "split_transfers"]
    out["transparent_without_split_transfers"] = metrics(
        {a.account_id for a in build_alerts(no_split, w)}, labels).as_dict()
    import duckdb

    shutil.copytree(tmp / "ds", tmp / "shuffled")
    duckdb.sql(  # paths from mkdtemp, no outside input
        f"COPY (SELECT t.* REPLACE (s.amount AS amount) FROM (SELECT *, row_number() OVER () "  # noqa: S608
        f"AS i FROM read_parquet('{tmp / 'ds' / 'transactions.parquet'}')) t JOIN (SELECT "
        f"amount, row_number() OVER (ORDER BY hash(txn_id)) AS i FROM read_parquet("
        f"'{tmp / 'ds' / 'transactions.parquet'}')) s USING (i)) TO "
        f"'{tmp / 'shuffled' / 'transactions.parquet'}' (FORMAT parquet)")
    shuffled = scan_dataset(Dataset(tmp / "shuffled"))
    out["transparent_amounts_shuffled"] = metrics(
        {a.account_id for a in shuffled.alerts}, labels).as_dict()
    con = Dataset(tmp / "ds").connect()
    features = compute_features(con)
    rule_ids = sorted({h.rule_id for h in result.hits})
    rng = np.random.default_rng(0)
    accounts = features.accounts
    y = np.array([labels.get(a, 0) for a in accounts])
    train = rng.random(len(accounts)) < 0.5
    for amounts in (True, False):
        hits = [h for h in result.hits if amounts or h.rule_id not in ()]
        names, x = model_matrix(features, hits, rule_ids, amounts=amounts)
        if not amounts:
            keep = [i for i, n in enumerate(names) if not n.startswith("rule:")]
            x, names = x[:, keep], [names[i] for i in keep]
        model = train_model(x[train], y[train])
        cut = best_threshold(y[train], model.predict_proba(x[train])[:, 1])
        pred = model.predict_proba(x[~train])[:, 1] >= cut
        test_accounts = [a for a, t in zip(accounts, train, strict=True) if not t]
        flagged = {a for a, p in zip(test_accounts, pred, strict=True) if p}
        out["lightgbm_" + ("with_amounts" if amounts else "without_amounts")] = {
            **metrics(flagged, labels, test_accounts).as_dict(), "features": len(names)}
    con.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def synth(accounts: int, days: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="money-synth-")) / "ds"
    summary = generate(folder, accounts=accounts, days=days, seed=11)
    start = time.perf_counter()
    result = scan_dataset(Dataset(folder))
    labels, typology = read_synth_labels(folder)
    flagged = {a.account_id for a in result.alerts}
    per: dict[str, list[int]] = {}
    for a, t in typology.items():
        per.setdefault(t, []).append(int(a in flagged))
    normal = [a for a, v in labels.items() if not v]
    shutil.rmtree(folder.parent, ignore_errors=True)
    return {"transactions": summary.transactions, "accounts": accounts,
            "scan_seconds": round(time.perf_counter() - start, 1),
            "overall": metrics(flagged, labels).as_dict(),
            "recall_per_typology": {k: round(sum(v) / len(v), 2) for k, v in sorted(per.items())},
            "false_alert_rate": round(sum(a in flagged for a in normal) / len(normal), 4)}


def _sql_phase(folder: str, threads: int, memory_limit: str) -> dict[str, object]:
    """All SQL rules as ``scan_dataset`` runs them (tables loaded into memory first); run in
    a fresh process so that its peak memory is its own."""
    timings: dict[str, float] = {}
    start, cpu = time.perf_counter(), time.process_time()
    con = Dataset(Path(folder)).connect(memory_limit=memory_limit, threads=threads,
                                        materialise=True)
    load_s, load_cpu = time.perf_counter() - start, time.process_time() - cpu
    hits = run_rules(con, load_rules(), timings=timings)
    total_s, total_cpu = time.perf_counter() - start, time.process_time() - cpu
    con.close()
    shared = {k: v for k, v in timings.items() if k.startswith("shared:")}
    return {
        "all_sql_rules_seconds": round(total_s, 1), "of_which_load_seconds": round(load_s, 1),
        "cpu_seconds": round(total_cpu, 1), "of_which_load_cpu_seconds": round(load_cpu, 1),
        "of_which_shared_steps_seconds": round(sum(shared.values()), 1),
        "hits": len(hits), "peak_rss_mb": round(peak_mb()),
        "rules": dict(sorted(((k, round(v, 2)) for k, v in timings.items()),
                             key=lambda kv: -kv[1]))}


def _graph_phase(folder: str, threads: int, memory_limit: str) -> dict[str, object]:
    """The igraph features (the aggregated graph is read from the Parquet files by DuckDB);
    run in a fresh process so that its peak memory is its own."""
    from maillon.money.api import known_accounts

    ds = Dataset(Path(folder))
    start, cpu = time.perf_counter(), time.process_time()
    known = known_accounts(ds)
    known_s = time.perf_counter() - start
    con = ds.connect(memory_limit=memory_limit, threads=threads)
    features = compute_features(con, known=known)
    hits = graph_hits(features)
    total_s, total_cpu = time.perf_counter() - start, time.process_time() - cpu
    con.close()
    return {"graph_features_seconds": round(total_s, 1), "cpu_seconds": round(total_cpu, 1),
            "of_which_known_accounts_seconds": round(known_s, 2), "hits": len(hits),
            "steps": {k: round(v, 2) for k, v in features.timings.items()},
            "peak_rss_mb": round(peak_mb())}


def _in_process(target: Callable[..., dict[str, object]], *args: object) -> dict[str, object]:
    """``target(*args)`` in a freshly spawned process (own peak RSS), its result returned."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return dict(pool.apply(target, args))


def scale(accounts: int, transactions: int, graph: bool, keep: Path | None = None,
          threads: int = 2, memory_limit: str = "6GB") -> dict[str, object]:
    """``keep``: generate the data there once and reuse it on later runs. The SQL rules and
    the graph features each run in their own process (wall time and peak RSS of each);
    ``threads``: DuckDB threads (2 = the 2-core machine of the issue's target)."""
    folder = keep if keep is not None else Path(tempfile.mkdtemp(prefix="money-scale-")) / "ds"
    per_day = transactions / accounts / 30
    start = time.perf_counter()
    if keep is None or not Dataset(folder).has("transactions"):
        generate(folder, accounts=accounts, days=30, seed=5, per_day=per_day, instances=20)
    gen_s = time.perf_counter() - start
    con = Dataset(folder).connect(memory_limit=memory_limit, threads=threads)
    start = time.perf_counter()
    n_txn = con.execute("SELECT count(*), sum(amount), count(DISTINCT src_account) FROM "
                        "transactions").fetchall()[0][0]
    ref_s = time.perf_counter() - start
    con.close()
    out: dict[str, object] = {
        "transactions": n_txn, "accounts": accounts, "duckdb_threads": threads,
        "generate_seconds": round(gen_s, 1), "single_scan_seconds": round(ref_s, 2),
        "sql": _in_process(_sql_phase, str(folder), threads, memory_limit)}
    if graph:
        out["graph"] = _in_process(_graph_phase, str(folder), threads, memory_limit)
    if keep is None:
        shutil.rmtree(folder.parent, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["amlsim", "synth", "scale"])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2]
                        / "shared")
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--transactions", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--no-graph", action="store_true")
    parser.add_argument("--keep", type=Path, help="scale: dataset folder to create once, reuse")
    parser.add_argument("--threads", type=int, default=2, help="scale: DuckDB threads")
    args = parser.parse_args()
    if args.what == "amlsim":
        result = amlsim(args.shared)
    elif args.what == "synth":
        result = synth(args.accounts or 5000, args.days)
    else:
        result = scale(args.accounts or 500_000, args.transactions, not args.no_graph,
                       args.keep, args.threads)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
