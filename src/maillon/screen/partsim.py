"""Part similarities of a batch of queries against their candidates' parts, all at once.

The scorer compares every part of a query with every part of each candidate name. One pair
at a time in Python this was most of a query's cost, so for queries in Latin script the
pairs of a whole batch are listed first, their OSA distances come from one ``rapidfuzz``
``cpdist`` call, and the rules of :func:`maillon.screen.matcher.part_similarity` (one edit
0.9, two edits on 7+ letters 0.85, equal consonant skeletons 0.88 for parts starting with
the same letter at most two edits apart, one-letter parts 0.7 or 0) are applied with numpy.
The similarities are the pairwise function's (``tests/test_screen.py`` checks it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz.distance import OSA
from rapidfuzz.process import cpdist


class PartTable:
    """Every distinct part of the indexed names, with its length, first letter and skeleton."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.parts: list[str] = []
        self.skels: list[str] = []
        self.skel_ids: dict[str, int] = {}
        self.lens = np.zeros(0, dtype=np.int32)
        self.first = np.zeros(0, dtype=np.int32)
        self.skel = np.zeros(0, dtype=np.int32)

    def add(self, part: str, skel: str) -> int:
        """The id of ``part`` (its skeleton ``skel``), added when new."""
        found = self.ids.get(part)
        if found is None:
            found = self.ids[part] = len(self.parts)
            self.parts.append(part)
            self.skels.append(skel)
        return found

    def freeze(self) -> None:
        """Build the arrays once every name is added."""
        count = len(self.parts)
        self.lens = np.fromiter(map(len, self.parts), dtype=np.int32, count=count)
        self.first = np.fromiter((ord(p[0]) for p in self.parts), dtype=np.int32, count=count)
        self.skel = np.fromiter(
            (self.skel_ids.setdefault(s, len(self.skel_ids)) if len(s) >= 2 else -1
             for s in self.skels), dtype=np.int32, count=count)


class PairBatch:
    """The (query part, list part) pairs of a batch, listed query by query."""

    def __init__(self) -> None:
        self.q_text: list[str] = []
        self.q_local: list[int] = []
        self.c_ids: list[int] = []
        self._local_parts: list[str] = []
        self._local_skels: list[str] = []

    def add_query(self, parts: Sequence[str], skels: Sequence[str], ids: Sequence[int]) -> int:
        """List every pair of ``parts`` with the list parts ``ids``; returns the offset of the
        block, where the pair (query part ``i``, ``ids[k]``) is ``offset + k * len(parts) + i``."""
        offset = len(self.q_text)
        base = len(self._local_parts)
        self._local_parts.extend(parts)
        self._local_skels.extend(skels)
        n_ids = len(ids)
        self.q_text.extend(list(parts) * n_ids)
        self.q_local.extend(list(range(base, base + len(parts))) * n_ids)
        self.c_ids.extend(u for u in ids for _ in parts)
        return offset

    def similarities(self, table: PartTable, power: float, floor: float) -> list[float]:
        """Similarity ** ``power`` of every listed pair, -1.0 under ``floor``."""
        if not self.q_text:
            return []
        c_ids = np.asarray(self.c_ids, dtype=np.int64)
        dist = cpdist(self.q_text, [table.parts[u] for u in self.c_ids], scorer=OSA.distance,
                      dtype=np.int32)
        local = np.asarray(self.q_local, dtype=np.int64)
        q_len = np.fromiter(map(len, self._local_parts), dtype=np.int32)[local]
        q_first = np.fromiter((ord(p[0]) for p in self._local_parts), dtype=np.int32)[local]
        q_skel = np.fromiter((table.skel_ids.get(s, -1) if len(s) >= 2 else -1
                              for s in self._local_skels), dtype=np.int32)[local]
        c_len = table.lens[c_ids]
        longest = np.maximum(q_len, c_len)
        sim = 1.0 - dist / longest
        sim = np.where((dist == 1) & (longest >= 4), np.maximum(sim, 0.9), sim)
        sim = np.where((dist == 2) & (longest >= 7), np.maximum(sim, 0.85), sim)
        same_first = q_first == table.first[c_ids]
        same_skel = (q_skel >= 0) & (q_skel == table.skel[c_ids])
        sim = np.where(same_skel & (dist <= 2) & same_first, np.maximum(sim, 0.88), sim)
        sim = np.where((q_len == 1) | (c_len == 1), np.where(same_first, 0.7, 0.0), sim)
        sim = np.where(dist == 0, 1.0, sim)
        out = np.where(sim >= floor, np.power(np.maximum(sim, 0.0), power), -1.0)
        return out.tolist()  # type: ignore[no-any-return]
