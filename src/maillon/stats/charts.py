"""Charts of protected tables with matplotlib (Agg): inline SVG for pages, figures for the PDF.

A chart shows one or two dimensions of a table (``chart: {x, series}`` in its YAML) with the
other dimensions at their totals. Suppressed cells are drawn as gaps and listed under the chart:
a chart never shows more than the published table.
"""

from __future__ import annotations

import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure, SubFigure  # noqa: E402

from maillon.stats.compute import StatTable  # noqa: E402
from maillon.stats.definitions import TOTAL, code_label  # noqa: E402

MAX_BARS = 25


def series(table: StatTable) -> tuple[str, str | None, list[str], dict[str, list[float]]]:
    """(x dimension, series dimension, x codes, {series label: values}) for the chart."""
    defn = table.definition
    dims = list(defn.dimensions)
    x = defn.chart.get("x", dims[0])
    s = defn.chart.get("series")
    rest = [d for d in dims if d not in (x, s)]
    picked = [r for r in table.rows if r[x] != TOTAL and all(r[d] == TOTAL for d in rest)
              and (s is None or r[s] != TOTAL)]
    if defn.source == "glotip":
        rest_ok = [r for r in table.rows if r[x] != TOTAL]
        picked = [r for r in rest_ok if all(r.get(d) in ("Total", TOTAL) for d in rest
                                            if d not in ("country", "category", "indicator"))]
    xs = sorted({str(r[x]) for r in picked})
    if defn.chart.get("kind") == "barh":
        totals: dict[str, float] = {}
        for r in picked:
            totals[str(r[x])] = totals.get(str(r[x]), 0) + (r["value"] or 0)
        xs = sorted(xs, key=lambda c: -totals.get(c, 0))[:MAX_BARS]
    data: dict[str, list[float]] = {}
    for r in picked:
        key = code_label(s, str(r[s])) if s else table.metadata["unit"]
        values = data.setdefault(key, [math.nan] * len(xs))
        if str(r[x]) in xs:
            i = xs.index(str(r[x]))
            v = r["value"]
            if v is not None:
                values[i] = (0 if math.isnan(values[i]) else values[i]) + v
    return x, s, xs, data


def draw(fig: Figure | SubFigure, table: StatTable) -> None:
    x, _, xs, data = series(table)
    ax = fig.add_subplot(1, 1, 1)
    labels = [code_label(x, c) for c in xs]
    horizontal = table.definition.chart.get("kind") == "barh"
    n = max(len(data), 1)
    width = 0.8 / n
    for j, (name, values) in enumerate(sorted(data.items())):
        pos = [i + (j - (n - 1) / 2) * width for i in range(len(xs))]
        clean = [0 if math.isnan(v) else v for v in values]
        if horizontal:
            ax.barh(pos, clean, height=width, label=name)
        else:
            ax.bar(pos, clean, width=width, label=name)
    if horizontal:
        ax.set_yticks(range(len(xs)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(table.metadata["unit"])
    else:
        ax.set_xticks(range(len(xs)), labels, rotation=45 if len(xs) > 8 else 0,
                      ha="right" if len(xs) > 8 else "center", fontsize=8)
        ax.set_ylabel(table.metadata["unit"])
    if len(data) > 1:
        ax.legend(fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(table.metadata["title"], fontsize=9)
    if isinstance(fig, Figure):
        fig.tight_layout()


def svg(table: StatTable, width: float = 7.0, height: float = 3.2) -> str:
    """The chart as an SVG document (text kept as text, so it stays accessible)."""
    import matplotlib as mpl

    fig = Figure(figsize=(width, height))
    with mpl.rc_context({"svg.fonttype": "none"}):
        draw(fig, table)
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    text = buf.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def chart_rows(table: StatTable) -> list[dict[str, Any]]:
    """The numbers behind the chart, for a text alternative."""
    x, _, xs, data = series(table)
    return [{"x": code_label(x, c), **{k: v[i] for k, v in data.items()}}
            for i, c in enumerate(xs)]
