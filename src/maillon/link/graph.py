"""Clustering of scored pairs: connected components at a threshold (no Splink needed).

Kept apart from :mod:`maillon.link.engine` so that code which only clusters or stores results
(the store service, the web routes) imports without Splink.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

PROBABILITY_DECIMALS = 6
"""Probabilities are rounded so that the output is byte-identical across runs and backends."""


@dataclass
class LinkResult:
    """Outcome of :func:`link`.

    ``pairs``: ``unique_id_l, unique_id_r, match_probability`` (plus the waterfall columns when
    asked), every scored pair at or above ``min_probability``; ``cluster`` maps each record id
    to its cluster id (smallest record id of its component); ``best`` maps each clustered
    record to its highest pairwise probability within its cluster; ``timings`` in seconds
    (``train``, ``predict``, ``cluster``: they add up to the whole); ``stages`` the finer
    split (``linker``, ``prior``, ``u``, ``em``, ``labels``, ``predict_sql``, ``pairs_frame``,
    ``cluster``), for profiling.
    """

    pairs: pd.DataFrame
    cluster: dict[str, str]
    best: dict[str, float]
    linker: Any
    timings: dict[str, float] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)


def _order(ids: Sequence[str]) -> np.ndarray:
    """Positions of ``ids`` sorted as numbers when all are digits (``"9" < "10"``), else as
    text (code point order, as Python compares strings)."""
    arr = np.asarray(ids, dtype=object)
    if len(ids) and all(i.isdigit() for i in ids):
        if max(len(i) for i in ids) <= 18:
            nums = np.fromiter((int(i) for i in ids), dtype=np.int64, count=len(ids))
            # ties between equal numbers written differently ("7", "07"): text decides
            return np.lexsort((arr.astype(str), nums))
        return np.asarray(sorted(range(len(ids)), key=lambda k: (int(ids[k]), ids[k])))
    return np.argsort(arr.astype(str), kind="stable")


def cluster(ids: Sequence[str], pairs: pd.DataFrame, threshold: float
            ) -> tuple[dict[str, str], dict[str, float]]:
    """Connected components of ``pairs`` at ``threshold``; see :class:`LinkResult`.

    Record ids that are all digits are ordered as numbers (``"9" < "10"``), others as text.
    Vectorised (numpy/scipy): a million records take about a second.
    """
    index = pd.Index(ids)
    n = len(ids)
    li_all = index.get_indexer(pairs["unique_id_l"])
    ri_all = index.get_indexer(pairs["unique_id_r"])
    prob = pairs["match_probability"].to_numpy(dtype=np.float64)
    strong = prob >= threshold
    li, ri = li_all[strong], ri_all[strong]
    graph = coo_matrix((np.ones(len(li), dtype=np.int8), (li, ri)), shape=(n, n))
    n_comp, labels = connected_components(graph, directed=False)
    order = _order(ids)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    first = np.full(n_comp, n, dtype=np.int64)
    np.minimum.at(first, labels, rank)
    head = order[first]  # per component: position of its smallest record id
    id_arr = np.asarray(ids, dtype=object)
    assignment = dict(zip(ids, id_arr[head[labels]].tolist(), strict=True))
    inside = labels[li_all] == labels[ri_all]
    ends = np.concatenate([li_all[inside], ri_all[inside]])
    probs = np.concatenate([prob[inside], prob[inside]])
    top = pd.Series(probs).groupby(ends).max()
    best = dict(zip(id_arr[top.index.to_numpy()].tolist(), top.to_numpy().tolist(),
                    strict=True))
    return assignment, best
