"""A frequency table with all its margins, as the disclosure-control methods see it.

Each dimension has leaf codes, optionally groups of leaves (a hierarchy such as M49 regions over
subregions) and a total (``_T``). The table holds every combination of leaf, group and total
codes (interior cells and margins), computed from the interior counts by summation, so it is
additive by construction. :meth:`Grid.constraints` lists the additivity relations
``parent = sum(children)`` that the suppression audit, the rounding and the checks use.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from maillon.stats.definitions import TOTAL


@dataclass(frozen=True)
class Dim:
    """One dimension: ``leaves`` in order, ``groups`` (group code -> its leaves) optional."""

    name: str
    leaves: tuple[str, ...]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def codes(self) -> tuple[str, ...]:
        """All codes along this axis: leaves, then groups, then the total."""
        return self.leaves + tuple(self.groups) + (TOTAL,)

    def children(self, code: str) -> tuple[str, ...]:
        """Codes whose sum is ``code``: a group's leaves, the total's groups (or leaves)."""
        if code == TOTAL:
            return tuple(self.groups) if self.groups else self.leaves
        return self.groups.get(code, ())

    def matrix(self) -> np.ndarray:
        """Rows: every code; columns: leaves; 1 where the row's cell sums that leaf."""
        index = {c: i for i, c in enumerate(self.leaves)}
        mat = np.zeros((len(self.codes), len(self.leaves)), dtype=np.int64)
        for i in range(len(self.leaves)):
            mat[i, i] = 1
        for j, members in enumerate(self.groups.values()):
            for leaf in members:
                mat[len(self.leaves) + j, index[leaf]] = 1
        mat[-1, :] = 1
        return mat


class Grid:
    """All cells of a table: ``keys[i]`` (one code per dimension) and ``values[i]``."""

    def __init__(self, dims: Sequence[Dim], interior: Mapping[tuple[str, ...], int]) -> None:
        self.dims = list(dims)
        shape = tuple(len(d.leaves) for d in self.dims)
        dense = np.zeros(shape, dtype=np.int64)
        positions = [{c: i for i, c in enumerate(d.leaves)} for d in self.dims]
        for key, value in interior.items():
            dense[tuple(pos[c] for pos, c in zip(positions, key, strict=True))] += int(value)
        self.leaf_values = dense
        self.keys: list[tuple[str, ...]] = list(itertools.product(*(d.codes for d in self.dims)))
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.values = self._expand(dense)
        leaf_sets = [set(d.leaves) for d in self.dims]
        self.interior = np.array(
            [all(c in s for c, s in zip(k, leaf_sets, strict=True)) for k in self.keys]
        )
        self._constraints: list[tuple[int, list[int]]] | None = None

    def _expand(self, dense: np.ndarray) -> np.ndarray:
        full = dense
        for axis, dim in enumerate(self.dims):
            full = np.moveaxis(np.tensordot(dim.matrix(), full, axes=([1], [axis])), 0, axis)
        return full.reshape(-1)

    def with_interior(self, leaf_values: np.ndarray) -> np.ndarray:
        """Values of every cell for other interior values (margins re-summed)."""
        return self._expand(leaf_values.reshape(self.leaf_values.shape))

    def constraints(self) -> list[tuple[int, list[int]]]:
        """``(parent, children)`` cell indexes of every additivity relation."""
        if self._constraints is not None:
            return self._constraints
        found: list[tuple[int, list[int]]] = []
        for i, key in enumerate(self.keys):
            for axis, dim in enumerate(self.dims):
                kids = dim.children(key[axis])
                if not kids:
                    continue
                children = [self.index[key[:axis] + (kid,) + key[axis + 1:]] for kid in kids]
                found.append((i, children))
        self._constraints = found
        return found

    def is_additive(self, values: np.ndarray) -> bool:
        return all(values[p] == values[c].sum() for p, c in self.constraints())

    def total_index(self) -> int:
        return self.index[tuple(TOTAL for _ in self.dims)]
