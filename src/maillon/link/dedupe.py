"""``maillon link dedupe``: deduplicate an external file of person records into clusters.

Output CSV (UTF-8, ``\\n`` line ends): ``record_id, cluster_id, match_probability``, exactly one
row per input record in input order; ``cluster_id`` is the smallest record id of the cluster
(as numbers when every record id is digits, else as text); ``match_probability`` is the
record's highest pairwise probability within its cluster, rounded to 6 decimals, empty for a
singleton.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from maillon.link.defaults import DEFAULT_THRESHOLD
from maillon.link.engine import LinkResult, link
from maillon.link.prepare import read_records

OUTPUT_COLUMNS = ("record_id", "cluster_id", "match_probability")


@dataclass(frozen=True)
class DedupeReport:
    """What :func:`dedupe_file` did: counts and seconds per stage."""

    records: int
    clusters: int
    linked_records: int
    pairs_scored: int
    timings: dict[str, float]


def write_clusters(path: Path, df: pd.DataFrame, result: LinkResult) -> None:
    """Write the output CSV (module docstring) for the records of ``df``."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(OUTPUT_COLUMNS)
        for rid in df["unique_id"].tolist():
            p = result.best.get(rid)
            cid = result.cluster[rid]
            out.writerow((rid, cid, "" if p is None else f"{p:.6f}".rstrip("0").rstrip(".")))


def dedupe_file(input_path: Path, output_path: Path, *, threshold: float = DEFAULT_THRESHOLD,
                seed: int = 0) -> DedupeReport:
    """Read, link and cluster ``input_path``; write the clusters CSV to ``output_path``."""
    if not 0.0 < threshold < 1.0:
        raise ValueError("threshold must be strictly between 0 and 1")
    df = read_records(input_path)
    result = link(df, threshold=threshold, seed=seed)
    write_clusters(output_path, df, result)
    sizes = pd.Series(list(result.cluster.values())).value_counts()
    return DedupeReport(
        records=len(df),
        clusters=int(len(sizes)),
        linked_records=int(sizes[sizes > 1].sum()),
        pairs_scored=len(result.pairs),
        timings=result.timings,
    )
