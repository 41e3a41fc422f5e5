"""The peer side of the screening comparison: nomenklatura's logic-v2 matcher.

Runs with the PEER venv's python (``bench/peer_venv.sh`` makes it; nomenklatura pins
``duckdb<2``, which is why it does not live in the project's environment). Never imports
maillon. ``bench/screen_bench.py`` writes the inputs and starts this script as a subprocess::

    PEER_PYTHON bench/screen_peer.py --work DIR [--candidates 10]

Inputs in ``DIR`` (FollowTheMoney JSON lines and plain JSON, written by the bench):

* ``entities.ftm.json``: the UN + OFAC entities (ids ``<list id>:<publisher id>``);
* ``entities_no_orig.ftm.json``: the same without any original-script name of a UN entry
  (the index for the ``original_script*`` sets, as in our own run);
* ``queries.json``: ``{"sets": {label: [{"id", "name"}]}, "negatives": [...],
  "throughput": [...]}``.

Output ``DIR/peer_results.json``: per set, for each query, the ``[entity id, score]`` pairs
scoring at least 0.5, and the throughput timing (wall clock and CPU seconds of this process).

Method: candidates come from a 3-gram retrieval (TF-IDF cosine of padded character 3-grams of
the ASCII-folded names, the best name per entity); the ``--candidates`` best entities per
query are scored with ``LogicV2.compare`` (default scoring configuration); the query is a
``LegalEntity`` (any type, like our queries without schema). Reference data that logic-v2
loads lazily is warmed up before any timing.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from followthemoney import model  # type: ignore[import-not-found]
from followthemoney.types import registry  # type: ignore[import-not-found]
from nomenklatura.matching import LogicV2, ScoringConfig  # type: ignore[import-not-found]
from normality import ascii_text  # type: ignore[import-not-found]
from scipy import sparse

KEEP = 0.5


def grams(text: str) -> list[str]:
    folded = " ".join((ascii_text(text) or "").lower().split())
    padded = f"  {folded} "
    return [padded[i:i + 3] for i in range(len(padded) - 2)]


class GramIndex:
    """TF-IDF over character 3-grams of every name; the best name stands for its entity."""

    def __init__(self, entities: list[Any]) -> None:
        self.entities = entities
        self.name_entity: list[int] = []
        docs: list[Counter[str]] = []
        for e_index, proxy in enumerate(entities):
            for name in proxy.get_type_values(registry.name, matchable=True) or []:
                docs.append(Counter(grams(name)))
                self.name_entity.append(e_index)
        self.vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        for r, doc in enumerate(docs):
            for gram, count in doc.items():
                rows.append(r)
                cols.append(self.vocab.setdefault(gram, len(self.vocab)))
                vals.append(float(count))
        matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(self.vocab)))
        df = np.bincount(matrix.indices, minlength=len(self.vocab))
        self.idf = np.log((1 + len(docs)) / (1 + df)) + 1.0
        self.matrix = self._normalise(matrix.multiply(self.idf).tocsr()).T.tocsr()
        self.owner = np.asarray(self.name_entity)

    @staticmethod
    def _normalise(m: Any) -> Any:
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        return sparse.diags(1.0 / np.maximum(norms, 1e-9)) @ m

    def search(self, names: list[str], k: int) -> list[list[int]]:
        rows, cols, vals = [], [], []
        for r, name in enumerate(names):
            for gram, count in Counter(grams(name)).items():
                col = self.vocab.get(gram)
                if col is not None:
                    rows.append(r)
                    cols.append(col)
                    vals.append(count * self.idf[col])
        q = sparse.csr_matrix((vals, (rows, cols)), shape=(len(names), len(self.vocab)))
        sims = (self._normalise(q) @ self.matrix).tocsr()
        out = []
        for r in range(len(names)):
            lo, hi = sims.indptr[r], sims.indptr[r + 1]
            owners = self.owner[sims.indices[lo:hi][np.argsort(-sims.data[lo:hi])]]
            picked: list[int] = []
            for e in owners.tolist():  # best name first: the first k distinct entities
                if e not in picked:
                    picked.append(e)
                    if len(picked) == k:
                        break
            out.append(picked)
        return out


def load(path: Path) -> list[Any]:
    proxies = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            data = json.loads(line)
            proxy = model.make_entity(data["schema"])
            proxy.id = data["id"]
            for prop, values in data["properties"].items():
                proxy.add(prop, values, quiet=True)
            proxies.append(proxy)
    return proxies


def query_proxy(qid: str, name: str) -> Any:
    proxy = model.make_entity("LegalEntity")
    proxy.id = qid
    proxy.add("name", name)
    return proxy


def screen(index: GramIndex, queries: list[dict[str, str]], k: int,
           config: Any) -> list[list[list[Any]]]:
    """``[entity id, score]`` pairs scoring at least ``KEEP``, best first, per query."""
    results = []
    candidates = index.search([q["name"] for q in queries], k)
    for query, cand in zip(queries, candidates, strict=True):
        proxy = query_proxy(query["id"], query["name"])
        found = []
        for e in cand:
            entity = index.entities[e]
            score = float(LogicV2.compare(proxy, entity, config).score)
            if score >= KEEP:
                found.append([entity.id, round(score, 4)])
        found.sort(key=lambda x: -x[1])
        results.append(found)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--candidates", type=int, default=10)
    args = parser.parse_args()
    config = ScoringConfig.defaults()
    started = time.perf_counter()
    full = GramIndex(load(args.work / "entities.ftm.json"))
    no_orig = GramIndex(load(args.work / "entities_no_orig.ftm.json"))
    build = time.perf_counter() - started
    queries = json.loads((args.work / "queries.json").read_text(encoding="utf-8"))
    # warm up: logic-v2 loads its name symbol and transliteration data on first use
    screen(full, [{"id": "warm", "name": "Muhammad Ali"}, {"id": "warm2", "name": "محمد"}],
           2, config)
    report: dict[str, Any] = {"candidates": args.candidates, "index_build_s": round(build, 2),
                              "sets": {}}
    for label, items in queries["sets"].items():
        index = no_orig if label.startswith("original_script") else full
        report["sets"][label] = screen(index, items, args.candidates, config)
    report["negatives"] = screen(full, queries["negatives"], args.candidates, config)
    sample = queries["throughput"]
    wall, cpu = time.perf_counter(), time.process_time()
    found = screen(full, sample, args.candidates, config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    report["throughput"] = {
        "queries": len(sample), "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
        "queries_per_s": round(len(sample) / max(wall, 1e-9), 1),
        "queries_per_cpu_s": round(len(sample) / max(cpu, 1e-9), 1),
        "with_matches": sum(1 for r in found if any(s >= 0.7 for _, s in r))}
    (args.work / "peer_results.json").write_text(json.dumps(report), encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k not in ("sets", "negatives")}))


if __name__ == "__main__":
    main()
