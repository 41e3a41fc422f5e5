"""Network features of the money graph with igraph.

The graph has one vertex per account and one edge per (sender, beneficiary) pair that moved
money, weighted by the number of transfers and the total amount. Per account it computes:
fan-in / fan-out (distinct counterparties), transfer counts, pass-through ratio (money out /
money in), membership of short directed cycles, community (Leiden, modularity, on the
undirected graph) and, when known trafficker or victim accounts are given (from case data),
the shortest path to the nearest one. :func:`graph_hits` turns them into indicator hits for the
transparent score; :func:`feature_table` feeds the trained model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import igraph as ig
import numpy as np

from maillon.money.rules import Hit

GRAPH_INDICATORS: dict[str, dict[str, Any]] = {
    "graph_fan_in": {
        "name": "High fan-in (many distinct senders over the whole period)",
        "weight": 0.3, "source": "FinCEN FIN-2014-A008 (many senders, one beneficiary)",
        "min": 12},
    "graph_fan_out": {
        "name": "High fan-out (many distinct beneficiaries over the whole period)",
        "weight": 0.25, "source": "AUSTRAC Feb 2022 (regular transfers to third parties)",
        "min": 12},
    "graph_cycle": {
        "name": "Member of a short directed cycle of accounts (3 or 4) whose transfers follow "
                "each other in time (each hop within 10 days of the previous)",
        "weight": 0.3, "source": "finance-monthly.com (circulation among unrelated accounts)",
        "min": 1},
    "graph_pass_through": {
        "name": "Money out close to money in, with several counterparties each way",
        "weight": 0.2, "source": "FATF-APG 2018 (quick in/out movement)", "min": 0.9},
    "graph_near_known": {
        "name": "Short path to an account of a known trafficker or victim",
        "weight": 0.45, "source": "Maillon: network joined with case data", "min": 2},
}


@dataclass
class GraphFeatures:
    accounts: list[str]
    columns: dict[str, np.ndarray]
    cycles: dict[str, list[str]] = field(default_factory=dict)
    """account -> other members of the cycles it belongs to"""
    paths: dict[str, list[str]] = field(default_factory=dict)
    """account -> path to the nearest known account"""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    """seconds per step: build (aggregate query and graph), degrees, cycles, communities,
    known (paths to known accounts)"""


def build_graph(con: duckdb.DuckDBPyConnection) -> tuple[ig.Graph, list[str], dict[str, Any]]:
    """The aggregated money graph and per-account transfer totals."""
    accounts = [str(r[0]) for r in con.execute(
        "SELECT account_id FROM accounts WHERE account_id IS NOT NULL ORDER BY account_id"
    ).fetchall()]
    index = {a: i for i, a in enumerate(accounts)}
    edges = con.execute(
        "SELECT src_account, dst_account, count(*), sum(amount), "
        "list(CAST(datediff('day', DATE '2000-01-01', ts) AS INTEGER) ORDER BY ts) AS days "
        "FROM transactions "
        "WHERE src_account IS NOT NULL AND dst_account IS NOT NULL AND src_account <> dst_account "
        "GROUP BY src_account, dst_account").fetchnumpy()
    src = np.array([index.get(str(a), -1) for a in edges["src_account"]], dtype=np.int64)
    dst = np.array([index.get(str(a), -1) for a in edges["dst_account"]], dtype=np.int64)
    keep = (src >= 0) & (dst >= 0)
    g = ig.Graph(n=len(accounts), edges=np.column_stack([src[keep], dst[keep]]).tolist(),
                 directed=True)
    g.es["count"] = np.asarray(edges["count_star()"])[keep].tolist()
    g.es["amount"] = np.asarray(edges["sum(amount)"])[keep].astype(float).tolist()
    g.es["days"] = [list(d) for d, k in zip(edges["days"], keep, strict=True) if k]
    return g, accounts, {"n_edges": int(keep.sum())}


CYCLE_MAX_GAP_DAYS = 10
"""A cycle counts when its transfers follow each other in time, each hop at most this many
days after the previous one (the same default as the ``circulation_cycle`` rule)."""


def _timed(days: list[list[int]], max_gap: int) -> bool:
    """Whether some rotation of a cycle's edges (each with its sorted transfer days) has one
    transfer per hop, each on or after the previous hop's and at most ``max_gap`` days later:
    money that goes round, not just accounts that are linked at unrelated times."""
    k = len(days)
    for start in range(k):
        for first in days[start]:
            t = first
            for step in range(1, k):
                nxt = next((d for d in days[(start + step) % k] if t <= d <= t + max_gap), None)
                if nxt is None:
                    break
                t = nxt
            else:
                return True
    return False


def compute_features(con: duckdb.DuckDBPyConnection, *, known: dict[str, str] | None = None,
                     max_cycle: int = 4, cycles: bool = True,
                     max_gap: int = CYCLE_MAX_GAP_DAYS) -> GraphFeatures:
    """Per-account graph features (see module docstring); ``known``: account -> role."""
    start = time.perf_counter()
    timings: dict[str, float] = {}
    lap = start

    def step(name: str) -> None:
        nonlocal lap
        now = time.perf_counter()
        timings[name] = now - lap
        lap = now

    g, accounts, _ = build_graph(con)
    step("build")
    n = len(accounts)
    amount = np.array(g.es["amount"], dtype=float) if g.ecount() else np.zeros(0)
    count = np.array(g.es["count"], dtype=float) if g.ecount() else np.zeros(0)
    edges = np.array(g.get_edgelist(), dtype=np.int64).reshape(-1, 2)
    cols: dict[str, np.ndarray] = {
        "fan_in": np.array(g.degree(mode="in"), dtype=float),
        "fan_out": np.array(g.degree(mode="out"), dtype=float),
        "txn_in": np.bincount(edges[:, 1], count, minlength=n) if len(edges) else np.zeros(n),
        "txn_out": np.bincount(edges[:, 0], count, minlength=n) if len(edges) else np.zeros(n),
        "amount_in": np.bincount(edges[:, 1], amount, minlength=n) if len(edges) else np.zeros(n),
        "amount_out": np.bincount(edges[:, 0], amount, minlength=n) if len(edges)
        else np.zeros(n),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.minimum(cols["amount_in"], cols["amount_out"]) / np.maximum(
            cols["amount_in"], cols["amount_out"])
    cols["pass_through"] = np.nan_to_num(ratio)
    cols["reciprocity"] = np.zeros(n)
    if g.ecount():
        mutual = np.array(g.is_mutual(), dtype=float)
        cols["reciprocity"] = np.bincount(edges[:, 0], mutual, minlength=n)
    step("degrees")
    in_cycle = np.zeros(n)
    any_cycle = np.zeros(n)
    members: dict[str, set[str]] = {}
    if cycles and g.ecount():
        # only vertices of non-trivial strongly connected components can be on a cycle
        comp = g.connected_components(mode="strong")
        sizes = np.array(comp.sizes())
        keep = [v for v, c in enumerate(comp.membership) if sizes[c] > 1]
        sub = g.induced_subgraph(keep)
        back = np.array(keep)
        sub_days = sub.es["days"] if sub.ecount() else []
        sources = sub.get_edgelist()
        for cyc in sub.simple_cycles(min=3, max=max_cycle, output="epath"):
            verts = [sources[e][0] for e in cyc]
            for v in verts:
                any_cycle[int(back[v])] += 1
            if not _timed([sub_days[e] for e in cyc], max_gap):
                continue
            ids = [accounts[int(back[v])] for v in verts]
            for v, a in zip(verts, ids, strict=True):
                in_cycle[int(back[v])] += 1
                members.setdefault(a, set()).update(x for x in ids if x != a)
    cols["cycles"] = in_cycle
    cols["cycles_any"] = any_cycle
    step("cycles")
    und = g.as_undirected(mode="collapse") if g.ecount() else ig.Graph(n=n)
    # Leiden on modularity (the refinement of the multilevel/Louvain method): on 100,000
    # accounts 0.9 CPU s instead of 12-15 s for community_multilevel; both are randomised
    comm = (und.community_leiden(objective_function="modularity", n_iterations=2)
            if und.ecount() else None)
    membership = np.array(comm.membership if comm else range(n))
    sizes = np.bincount(membership)
    cols["community_size"] = sizes[membership].astype(float)
    step("communities")
    distance = np.full(n, np.inf)
    paths: dict[str, list[str]] = {}
    if known:
        index = {a: i for i, a in enumerate(accounts)}
        seeds = [index[a] for a in known if a in index]
        if seeds:
            dist = np.array(und.distances(source=seeds), dtype=float)
            nearest = dist.argmin(axis=0)
            distance = dist.min(axis=0)
            for v in np.flatnonzero((distance > 0) & (distance <= 3)):
                path = und.get_shortest_paths(seeds[int(nearest[v])], to=int(v))[0]
                paths[accounts[int(v)]] = [accounts[p] for p in reversed(path)]
    cols["known_distance"] = distance
    step("known")
    return GraphFeatures(accounts=accounts, columns=cols,
                         cycles={a: sorted(m) for a, m in members.items()}, paths=paths,
                         seconds=time.perf_counter() - start, timings=timings)


def graph_hits(features: GraphFeatures) -> list[Hit]:
    """Graph indicators as hits (strength 0..1) for the transparent score."""
    c = features.columns
    hits: list[Hit] = []
    spec = GRAPH_INDICATORS
    for i, account in enumerate(features.accounts):
        if c["fan_in"][i] >= spec["graph_fan_in"]["min"]:
            hits.append(Hit("graph_fan_in", account, min(1.0, c["fan_in"][i] / 24.0),
                            evidence={"senders": int(c["fan_in"][i])}))
        if c["fan_out"][i] >= spec["graph_fan_out"]["min"]:
            hits.append(Hit("graph_fan_out", account, min(1.0, c["fan_out"][i] / 24.0),
                            evidence={"beneficiaries": int(c["fan_out"][i])}))
        if c["cycles"][i] >= 1:
            hits.append(Hit("graph_cycle", account, min(1.0, 0.5 + 0.25 * c["cycles"][i]),
                            related=features.cycles.get(account, [])[:25],
                            evidence={"cycles": int(c["cycles"][i])}))
        if (c["pass_through"][i] >= spec["graph_pass_through"]["min"]
                and c["fan_in"][i] >= 3 and c["fan_out"][i] >= 3):
            hits.append(Hit("graph_pass_through", account, float(c["pass_through"][i]),
                            evidence={"amount_in": round(float(c["amount_in"][i]), 2),
                                      "amount_out": round(float(c["amount_out"][i]), 2)}))
        d = c["known_distance"][i]
        if np.isfinite(d) and d <= spec["graph_near_known"]["min"]:
            path = features.paths.get(account, [account])
            hits.append(Hit("graph_near_known", account, 1.0 if d <= 1 else 0.6,
                            related=path[1:], evidence={"distance": int(d), "path": path}))
    for h in hits:
        h.strength = round(float(h.strength), 4)
    return hits


def feature_table(features: GraphFeatures, *, amounts: bool = True
                  ) -> tuple[list[str], np.ndarray]:
    """(column names, matrix) of graph features per account; ``amounts=False`` drops every
    amount-based column (to check a model does not learn a generator's amount artefact)."""
    names = [k for k in features.columns if amounts or not k.startswith(("amount", "pass"))]
    matrix = np.column_stack([np.nan_to_num(features.columns[k], posinf=99.0) for k in names])
    return names, matrix
