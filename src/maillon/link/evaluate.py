"""Accuracy of a clustering against ground truth: pairwise and B-cubed scores.

Pairwise scores count record pairs: a predicted pair is two records in the same predicted
cluster, a true pair two records of the same true entity. Every true pair counts, so pairs
that no blocking rule produced are misses. Computed from cluster sizes, never by listing
pairs: ``tp = sum over (predicted, true) cells of C(n, 2)``.

B-cubed (Bagga and Baldwin 1998): per record, precision = |pred ∩ true| / |pred| and recall =
|pred ∩ true| / |true| of the clusters containing it, averaged over records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    true_pairs: int
    predicted_pairs: int

    def as_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in vars(self).items()}


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def score(predicted: Mapping[str, str], truth: Mapping[str, str]) -> Scores:
    """Scores of ``predicted`` (record -> cluster) against ``truth`` (record -> entity).

    Only records present in both mappings are scored.
    """
    ids = [r for r in truth if r in predicted]
    df = pd.DataFrame({"p": [predicted[r] for r in ids], "t": [truth[r] for r in ids]})
    cell = df.groupby(["p", "t"]).size()
    psize = df.groupby("p").size()
    tsize = df.groupby("t").size()
    tp = _pairs(cell)
    pp = _pairs(psize)
    tt = _pairs(tsize)
    precision = tp / pp if pp else 1.0
    recall = tp / tt if tt else 1.0
    cells = cell.rename("n").reset_index()
    cells["ps"] = cells["p"].map(psize)
    cells["ts"] = cells["t"].map(tsize)
    n = len(df)
    bp = float((cells["n"] ** 2 / cells["ps"]).sum() / n) if n else 1.0
    br = float((cells["n"] ** 2 / cells["ts"]).sum() / n) if n else 1.0
    return Scores(precision, recall, _f1(precision, recall), bp, br, _f1(bp, br), tt, pp)
