"""Benchmark of Maillon's person linkage against a plain Splink configuration.

Both run in the same process on the same prepared data: Maillon's model
(:func:`maillon.link.model.person_settings`, clusters at its operating point) and the plain
configuration written as Splink's documentation teaches (:func:`maillon.link.model.plain_settings`:
Jaro-Winkler name levels with term frequencies, date-of-birth levels, four blocking rules, EM in
two sessions, clusters at 0.95). Scores: pairwise precision/recall/F1 over ALL true pairs as
implied by the final clusters (pairs lost at blocking are misses) and B-cubed.

Data sets:
* ``historical_50k``: Splink's ``historical_figures_with_errors_50k.parquet`` (ground truth
  ``cluster``), read from ``--shared`` (never copied); extra exact columns ``birth_place``,
  ``postcode_fake``, ``occupation`` given to both models.
* ``synth``: multi-organisation records from :mod:`maillon.collect.synth` (ground truth
  ``person_uid``), ``--records`` of them.

``--scale N`` instead deduplicates N generated records with Maillon's model only and reports
wall time and peak memory (``resource.getrusage``); generation is not timed.

    .venv/bin/python bench/link_bench.py                    # both data sets, both models
    .venv/bin/python bench/link_bench.py --scale 1000000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from maillon.collect.synth import iter_records
from maillon.link import model as mdl
from maillon.link.defaults import DEFAULT_THRESHOLD
from maillon.link.engine import PLAIN_SAMPLING, link
from maillon.link.evaluate import score
from maillon.link.prepare import prepare

HISTORICAL = "linkage/historical_figures_with_errors_50k.parquet"
PLAIN_THRESHOLD = 0.95
EXTRA_HISTORICAL = ("birth_place", "postcode_fake", "occupation")


def synth_table(n: int, seed: int) -> tuple[pa.Table, dict[str, str]]:
    cols: dict[str, list[str]] = {c: [] for c in (
        "record_id", "source", "given_name", "family_name", "birth_date", "sex", "citizenship")}
    truth: dict[str, str] = {}
    for r in iter_records(n_records=n, seed=seed):
        x = r.row
        for c, v in (("record_id", x["record_id"]), ("source", r.org_name),
                     ("given_name", x["prs_FirstName"]), ("family_name", x["prs_SecondName"]),
                     ("birth_date", x["prs_Birthdate"]), ("sex", x["prs_Gender"]),
                     ("citizenship", x["prs_Citizenship"])):
            cols[c].append(v)
        truth[x["record_id"]] = r.person_uid
    return pa.table(cols), truth


def historical_table(shared: Path) -> tuple[pa.Table, dict[str, str]]:
    df = pd.read_parquet(shared / HISTORICAL)
    t = pd.DataFrame({
        "record_id": df["unique_id"], "source": "historical",
        "given_name": df["first_name"], "family_name": df["surname"],
        "birth_date": df["dob"], "sex": df["gender"], "citizenship": None,
    })
    for c in EXTRA_HISTORICAL:
        t[c] = df[c]
    table = pa.Table.from_pandas(t.astype(object).where(t.notna(), None),
                                 schema=pa.schema([(c, pa.string()) for c in t.columns]),
                                 preserve_index=False)
    return table, dict(zip(df["unique_id"], df["cluster"], strict=True))


def _cpu() -> float:
    """CPU seconds of this process, all threads (DuckDB's included): less noisy than wall
    time on a shared machine."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _stages(prep: float, result: Any) -> dict[str, float]:
    return {"prepare": round(prep, 2), **{k: round(v, 2) for k, v in result.stages.items()}}


def run_models(name: str, table: pa.Table, truth: dict[str, str], extra: tuple[str, ...],
               thresholds: tuple[float, ...]) -> dict[str, Any]:
    t0, c0 = time.perf_counter(), _cpu()
    df = prepare(table, extra=extra)
    prep, prep_cpu = time.perf_counter() - t0, _cpu() - c0
    out: dict[str, Any] = {"dataset": name, "records": len(df), "prepare_s": round(prep, 2)}

    t0, c0 = time.perf_counter(), _cpu()
    mine = link(df, settings=mdl.person_settings(extra=extra), threshold=DEFAULT_THRESHOLD,
                min_probability=min(thresholds))
    mine_s, mine_cpu = time.perf_counter() - t0 + prep, _cpu() - c0 + prep_cpu
    out["maillon"] = {"threshold": DEFAULT_THRESHOLD, "wall_s": round(mine_s, 2),
                      "cpu_s": round(mine_cpu, 2), "stages_s": _stages(prep, mine),
                      "pairs_scored": len(mine.pairs),
                      **score(mine.cluster, truth).as_dict()}
    from maillon.link.engine import cluster
    sweep = {}
    for th in thresholds:
        assignment, _ = cluster(df["unique_id"].tolist(), mine.pairs, th)
        sweep[str(th)] = score(assignment, truth).as_dict()["f1"]
    out["maillon"]["f1_by_threshold"] = sweep

    plain_df = df.copy()
    plain_df["dob"] = plain_df["birth_date"]
    t0, c0 = time.perf_counter(), _cpu()
    plain = link(plain_df, settings=mdl.plain_settings(extra=extra),
                 training_rules=mdl.PLAIN_TRAINING_RULES, threshold=PLAIN_THRESHOLD,
                 sampling=PLAIN_SAMPLING)
    plain_s, plain_cpu = time.perf_counter() - t0 + prep, _cpu() - c0 + prep_cpu
    out["plain"] = {"threshold": PLAIN_THRESHOLD, "wall_s": round(plain_s, 2),
                    "cpu_s": round(plain_cpu, 2), "stages_s": _stages(prep, plain),
                    "pairs_scored": len(plain.pairs), **score(plain.cluster, truth).as_dict()}
    out["time_ratio"] = round(mine_s / plain_s, 2)
    out["cpu_ratio"] = round(mine_cpu / plain_cpu, 2)
    out["load_average"] = [round(x, 1) for x in os.getloadavg()]
    return out


def _generate(n: int, seed: int, path: str) -> None:
    import pyarrow.parquet as pq

    table, _ = synth_table(n, seed)
    pq.write_table(table, path)


def run_scale(n: int, seed: int) -> dict[str, Any]:
    """Generate in a child process (its memory is not ours), then read, link and cluster."""
    import multiprocessing as mp
    import tempfile

    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/synth.parquet"
        t0 = time.perf_counter()
        child = mp.get_context("spawn").Process(target=_generate, args=(n, seed, path))
        child.start()
        child.join()
        gen_s = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), _cpu()
        df = prepare(pq.read_table(path))
    prep = time.perf_counter() - t0
    result = link(df)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024  # KiB -> GiB
    return {"records": n, "generate_s": round(gen_s, 1), "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1), "peak_rss_gib": round(peak, 2),
            "pairs_scored": len(result.pairs),
            "clusters": len(set(result.cluster.values())),
            "timings": {"read_prepare": round(prep, 1),
                        **{k: round(v, 1) for k, v in result.timings.items()}},
            "stages_s": _stages(prep, result),
            "load_average": [round(x, 1) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared"
                    / "reference")
    ap.add_argument("--records", type=int, default=50_000, help="synthetic records")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=int, default=0, help="only the scale run, with N records")
    ap.add_argument("--only", choices=("historical", "synth"), default=None)
    args = ap.parse_args(argv)
    logging.getLogger("splink").setLevel(logging.ERROR)
    if args.scale:
        print(json.dumps(run_scale(args.scale, args.seed), indent=2))
        return
    thresholds = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)
    results = []
    if args.only in (None, "historical"):
        path = args.shared / HISTORICAL
        if path.is_file():
            table, truth = historical_table(args.shared)
            results.append(run_models("historical_50k", table, truth, EXTRA_HISTORICAL,
                                      thresholds))
        else:
            print(f"skipping historical_50k: {path} not found", file=sys.stderr)
    if args.only in (None, "synth"):
        table, truth = synth_table(args.records, args.seed)
        results.append(run_models(f"synth_{args.records}", table, truth, (), thresholds))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
