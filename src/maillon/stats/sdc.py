"""Statistical disclosure control of frequency tables.

* :func:`suppress`: primary suppression of cells below the threshold (1 .. threshold-1; zeros
  are published, as Eurostat does: "0 = you know there are none"), then secondary suppression
  until every suppressed cell's feasible interval, given the published cells and all margins,
  is at least ``threshold`` wide. Suppressed cells are published alike (no "<5"): telling a
  reader that a cell is below 5 would narrow its interval to [1, 4].
* :func:`audit`: the attacker's view. For each suppressed cell, the smallest and largest value
  it can take in any non-negative table that agrees with every published cell and margin,
  found by linear programming (``scipy.optimize.linprog``, HiGHS).
* :func:`controlled_round`: every cell (margins included) to a multiple of the base, each
  rounded up or down, the table still additive (a 0/1 integer programme, ``scipy.optimize.milp``).
* :func:`dp_counts`: differentially private interior counts (OpenDP discrete Laplace), margins
  summed from them, so the table stays additive; epsilon recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from maillon.core.errors import InvalidInput
from maillon.stats.grid import Grid

DEFAULT_THRESHOLD = 5
"""Smallest count published, as UNODC GLOTIP publishes counts below it as ``<5``."""


@dataclass
class Interval:
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass
class Suppression:
    """Which cells are suppressed, why, and the audit of each."""

    primary: set[int] = field(default_factory=set)
    secondary: set[int] = field(default_factory=set)
    intervals: dict[int, Interval] = field(default_factory=dict)

    @property
    def suppressed(self) -> set[int]:
        return self.primary | self.secondary

    def min_width(self) -> float | None:
        if not self.intervals:
            return None
        return min(i.width for i in self.intervals.values())


def audit(grid: Grid, values: np.ndarray, suppressed: set[int],
          cells: set[int] | None = None) -> dict[int, Interval]:
    """Feasible interval of each cell in ``cells`` (default: all suppressed cells).

    Unknowns are the suppressed cells (>= 0); every published cell is fixed at its value; the
    constraints are all the table's additivity relations.
    """
    wanted = sorted(suppressed if cells is None else cells)
    if not wanted:
        return {}
    order = sorted(suppressed)
    col = {c: j for j, c in enumerate(order)}
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    rhs: list[float] = []
    r = 0
    for parent, children in grid.constraints():
        members = [(parent, 1.0)] + [(c, -1.0) for c in children]
        if not any(m in col for m, _ in members):
            continue
        known = 0.0
        for m, coef in members:
            if m in col:
                rows.append(r)
                cols.append(col[m])
                data.append(coef)
            else:
                known += coef * float(values[m])
        rhs.append(-known)
        r += 1
    a_eq = sparse.csr_matrix((data, (rows, cols)), shape=(r, len(order))) if r else None
    b_eq = np.array(rhs) if r else None
    out: dict[int, Interval] = {}
    for cell in wanted:
        bounds: list[float] = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(order))
            c[col[cell]] = sign
            res = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            if res.status == 3:  # unbounded
                bounds.append(math.inf if sign < 0 else 0.0)
            elif res.status != 0:
                raise RuntimeError(f"suppression audit failed: {res.message}")
            else:
                bounds.append(sign * float(res.fun))
        out[cell] = Interval(low=bounds[0], high=bounds[1])
    return out


def suppress(grid: Grid, threshold: int = DEFAULT_THRESHOLD,
             values: np.ndarray | None = None) -> Suppression:
    """Primary and secondary suppression, audited by LP (see module docstring)."""
    if threshold < 1:
        raise InvalidInput("the suppression threshold must be at least 1")
    vals = grid.values if values is None else values
    result = Suppression(primary={i for i, v in enumerate(vals) if 0 < v < threshold})
    if not result.primary:
        return result
    relations = [[parent, *children] for parent, children in grid.constraints()]
    released: set[int] = set()
    pinned: set[int] = set()
    member_of: dict[int, list[int]] = {}
    for r, members in enumerate(relations):
        for m in members:
            member_of.setdefault(m, []).append(r)
    total = grid.total_index()

    def cost(i: int, current: int | None) -> tuple[int, int, int, int]:
        taken = result.suppressed
        # relations this cell would leave with a single suppressed cell (each needs a partner)
        singles = sum(1 for r in member_of.get(i, ()) if r != current
                      and not any(m in taken for m in relations[r]))
        return (int(i == total), singles, 0 if grid.interior[i] else 1, int(vals[i]))

    def pick(options: list[int], deficit: float, current: int | None) -> int:
        enough = [n for n in options if vals[n] >= deficit]
        if enough:
            return min(enough, key=lambda n: cost(n, current))
        return max(options, key=lambda n: int(vals[n]))

    def add_partner(cell: int, deficit: float, current: int | None = None) -> bool:
        taken = result.suppressed
        pools = [relations[current]] if current is not None else [
            relations[r] for r in member_of.get(cell, ())]
        options = sorted({m for pool in pools for m in pool if m not in taken})
        if not options:  # widen: any cell related to a suppressed cell
            options = sorted({m for c in taken for r in member_of.get(c, ())
                              for m in relations[r] if m not in taken})
        if not options:
            return False
        fresh = [o for o in options if o not in released]
        fresh_enough = [o for o in fresh if vals[o] >= deficit]
        chosen = pick(fresh_enough or options, deficit, current)
        if chosen in released:
            pinned.add(chosen)  # suppressed again: it stays suppressed from now on
        result.secondary.add(chosen)
        return True

    # 1. cheap pass: no additivity relation may hold exactly one suppressed cell
    changed = True
    while changed:
        changed = False
        for r, members in enumerate(relations):
            hidden = [m for m in members if m in result.suppressed]
            if len(hidden) == 1:
                deficit = max(threshold - int(vals[hidden[0]]), 1)
                changed = add_partner(hidden[0], deficit, r) or changed
    # 2. LP audit; more suppression where an interval is too narrow. Suppressing a cell only
    # widens the other intervals, so only failing and newly suppressed cells are re-audited.
    pending = set(result.suppressed)
    while pending:
        checked = audit(grid, vals, result.suppressed, pending)
        result.intervals.update(checked)
        before = set(result.suppressed)
        # a secondary cell whose value the published cells already determine (width 0) hides
        # nothing: publish it; fixing it at its only feasible value changes no other interval
        exact = {c for c, iv in checked.items()
                 if c in result.secondary and c not in pinned and iv.width <= 1e-9}
        result.secondary -= exact
        released.update(exact)
        for cell in exact:
            result.intervals.pop(cell, None)
        for cell, interval in checked.items():
            if interval.width < threshold and cell not in exact:
                add_partner(cell, threshold - interval.width)
        added = result.suppressed - (before - exact)  # re-suppressed cells count as new
        failing = {c for c, iv in checked.items() if iv.width < threshold} - exact
        if failing and not added:
            raise RuntimeError("secondary suppression could not protect every cell")
        pending = failing | added
    # no final re-audit: an interval recorded above can only have widened since
    return result


@dataclass
class Rounding:
    values: np.ndarray
    base: int
    controlled: bool
    """True: every cell is a multiple of ``base``; False: interior rounded, margins summed."""


def controlled_round(grid: Grid, base: int = 5, time_limit: float = 20.0) -> Rounding:
    """Round every cell up or down to a multiple of ``base`` keeping the table additive.

    Cells already multiples of ``base`` (zeros included) stay as they are. The rounding with the
    least total absolute change is found by a 0/1 programme. Three-way tables do not always have
    a controlled rounding; then interior cells are rounded to the nearest multiple and margins
    are their sums (still additive, margins not all multiples of the base).
    """
    if base < 2:
        raise InvalidInput("the rounding base must be at least 2")
    vals = grid.values.astype(np.int64)
    floor = (vals // base) * base
    free = np.flatnonzero(vals % base)
    if free.size == 0:
        return Rounding(vals.copy(), base, True)
    col = {int(c): j for j, c in enumerate(free)}
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    rhs: list[float] = []
    r = 0
    for parent, children in grid.constraints():
        members = [(parent, 1.0)] + [(c, -1.0) for c in children]
        if not any(m in col for m, _ in members):
            continue
        known = 0.0
        for m, coef in members:
            known += coef * float(floor[m])
            if m in col:
                rows.append(r)
                cols.append(col[m])
                data.append(coef * base)
        rhs.append(-known)
        r += 1
    remainder = (vals[free] - floor[free]).astype(float)
    cost = (base - 2 * remainder)
    constraints = []
    if r:
        a = sparse.csr_matrix((data, (rows, cols)), shape=(r, free.size))
        constraints.append(LinearConstraint(a, np.array(rhs), np.array(rhs)))
    res = milp(cost, constraints=constraints, integrality=np.ones(free.size),
               bounds=Bounds(0, 1), options={"time_limit": time_limit})
    if res.status == 0 and res.x is not None:
        out = floor.copy()
        out[free] += base * np.round(res.x).astype(np.int64)
        if grid.is_additive(out):
            return Rounding(out, base, True)
    leaves = grid.leaf_values.reshape(-1)
    rounded = (np.floor(leaves / base + 0.5) * base).astype(np.int64)
    return Rounding(grid.with_interior(rounded), base, False)


@dataclass
class DPResult:
    values: np.ndarray
    epsilon: float
    scale: float
    mechanism: str = "discrete Laplace (OpenDP make_laplace), sensitivity 1"


def dp_counts(grid: Grid, epsilon: float) -> DPResult:
    """Epsilon-differentially private counts: noise on interior cells, margins summed.

    Each counting unit is in exactly one interior cell, so adding or removing one unit changes
    the interior vector by 1 in L1 norm: the discrete Laplace mechanism with scale 1/epsilon is
    epsilon-DP. Clamping at zero and summing margins are post-processing.
    """
    if not epsilon > 0:
        raise InvalidInput("epsilon must be positive")
    import opendp.prelude as dp

    dp.enable_features("contrib")
    scale = 1.0 / epsilon
    meas = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int),
                             scale=scale)
    spent = float(meas.map(1))  # type: ignore[no-untyped-call]
    if spent > epsilon * (1 + 1e-9):
        raise RuntimeError(f"privacy map gives {spent}, above epsilon {epsilon}")
    leaves = grid.leaf_values.reshape(-1)
    noisy = np.array(meas([int(v) for v in leaves]), dtype=np.int64)
    noisy = np.maximum(noisy, 0)
    return DPResult(grid.with_interior(noisy), epsilon, scale)


def describe(method: str, params: dict[str, Any]) -> str:
    """One sentence for the notes of a table protected by ``method``."""
    if method == "suppression":
        return (f"Cells below {params['threshold']} are suppressed (primary), with further cells "
                "suppressed (secondary) so that no suppressed cell can be narrowed to an interval "
                f"narrower than {params['threshold']} from the published cells and margins "
                "(checked by linear programming). Suppressed cells are shown as 'c'.")
    if method == "rounding":
        how = ("controlled rounding: every cell, margins included, is a multiple of "
               f"{params['base']} and the table adds up" if params.get("controlled") else
               f"interior cells rounded to the nearest multiple of {params['base']}, margins are "
               "their sums")
        return f"Counts are rounded ({how})."
    if method == "dp":
        return (f"Counts carry random noise for differential privacy (epsilon = "
                f"{params['epsilon']}, discrete Laplace, scale {params['scale']:.3g}); margins are "
                "sums of the noisy cells.")
    if method == "source":
        return "Figures as published by the source, with the source's own suppression."
    return method
