"""k-anonymity check and local suppression for record-level extracts.

A record-level extract (one row per counting unit, no identifiers, only coarse attributes) is
k-anonymous when every combination of quasi-identifier values is shared by at least ``k`` rows.
:func:`local_suppression` blanks values (``None`` = suppressed) in the rows of too-small
groups, one attribute at a time, starting with the attribute of most distinct values among the
offending rows, until the extract is k-anonymous. A suppressed value is its own category (as in
CTDC's k-anonymised Global Dataset, whose blanks are locally suppressed cells); rows still in a
group smaller than ``k`` once all their quasi-identifiers are blank are removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from maillon.core.errors import InvalidInput

DEFAULT_K = 11
"""CTDC's k for its k-anonymised Global Dataset."""
SUPPRESSED = None


@dataclass
class KAnonymity:
    k: int
    smallest_group: int
    groups_below_k: int
    rows_below_k: int

    @property
    def ok(self) -> bool:
        return self.rows_below_k == 0


def _sizes(frame: pd.DataFrame, qis: Sequence[str]) -> pd.Series:
    keyed = frame[list(qis)].astype("object").where(frame[list(qis)].notna(), "\x00")
    return keyed.groupby(list(qis), dropna=False, sort=False)[qis[0]].transform("size")


def check(frame: pd.DataFrame, qis: Sequence[str], k: int = DEFAULT_K) -> KAnonymity:
    """How far ``frame`` is from k-anonymity over the quasi-identifiers ``qis``."""
    if k < 2:
        raise InvalidInput("k must be at least 2")
    missing = [q for q in qis if q not in frame.columns]
    if missing:
        raise InvalidInput(f"quasi-identifiers not in the extract: {missing}")
    if frame.empty:
        return KAnonymity(k, 0, 0, 0)
    sizes = _sizes(frame, qis)
    below = sizes < k
    keyed = frame.loc[below, list(qis)].astype("object").fillna("\x00")
    return KAnonymity(k=k, smallest_group=int(sizes.min()),
                      groups_below_k=int(len(keyed.drop_duplicates())),
                      rows_below_k=int(below.sum()))


def local_suppression(frame: pd.DataFrame, qis: Sequence[str], k: int = DEFAULT_K
                      ) -> tuple[pd.DataFrame, int, int]:
    """A k-anonymous copy of ``frame``: (extract, values suppressed, rows removed)."""
    out = frame.copy()
    for q in qis:
        out[q] = out[q].astype("object")
    suppressed = 0
    while True:
        sizes = _sizes(out, qis)
        bad = sizes < k
        if not bad.any():
            return out.reset_index(drop=True), suppressed, len(frame) - len(out)
        rows = out.loc[bad, list(qis)]
        candidates = [(int(rows[q].nunique(dropna=True)), q) for q in qis
                      if rows[q].notna().any()]
        if not candidates:
            out = out.loc[~bad]
            continue
        _, column = max(candidates)
        hit = bad & out[column].notna()
        suppressed += int(hit.sum())
        out.loc[hit, column] = SUPPRESSED
