"""``maillon stats publish``: a static HTML report and a PDF, with charts and method notes.

Only protected tables go in; each table's section says its counting unit, its protection method
and parameters, and the notes from its definition. The PDF is drawn with matplotlib (one page
per table: chart, the published figures of the chart, notes).
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from maillon.stats import charts
from maillon.stats.compute import StatTable
from maillon.stats.exports import code_text, shown


@dataclass
class Report:
    html: Path
    pdf: Path
    tables: list[str]


def _table_html(table: StatTable) -> str:
    dims = list(table.definition.dimensions)
    head = "".join(f"<th scope='col'>{html.escape(d.replace('_', ' '))}</th>" for d in dims)
    body = []
    for row in table.rows[:400]:
        cells = "".join(f"<td>{html.escape(code_text(d, row[d]))}</td>"
                        for d in dims)
        body.append(f"<tr>{cells}<td class='num'>{html.escape(shown(row))}</td></tr>")
    more = (f"<p>{len(table.rows) - 400} more cells in the CSV/XLSX exports.</p>"
            if len(table.rows) > 400 else "")
    return (f"<table><thead><tr>{head}<th scope='col'>value</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{more}")


def _section(table: StatTable) -> str:
    m = table.metadata
    p = m["protection"]
    return f"""
<section id="{html.escape(table.name)}">
<h2>{html.escape(m['title'])}</h2>
<figure>{charts.svg(table)}<figcaption>{html.escape(m['title'])}</figcaption></figure>
<dl>
<dt>Counting unit</dt><dd>{html.escape(m['unit'])}. {html.escape(m['unit_note'])}</dd>
<dt>Protection</dt><dd>{html.escape(p['method'])}: {html.escape(p['description'])}</dd>
<dt>Notes</dt><dd>{html.escape(m['notes'])}</dd>
<dt>Source</dt><dd>{html.escape(m['source'])}</dd>
</dl>
<details><summary>Published figures</summary>{_table_html(table)}</details>
</section>"""


def write_html(tables: list[StatTable], path: Path, title: str) -> None:
    sections = "".join(_section(t) for t in tables)
    toc = "".join(f"<li><a href='#{html.escape(t.name)}'>{html.escape(t.metadata['title'])}"
                  "</a></li>" for t in tables)
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 0 auto; padding: 1rem;
       line-height: 1.4; }}
svg {{ max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; font-size: .85rem; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .15rem .5rem; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
dt {{ font-weight: 600; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Statistics produced by Maillon. Every table is protected against disclosure of individual
persons before publication; "c" marks a confidential (suppressed) cell, "&lt;5" a count that
the source (UNODC) published as below five.</p>
<h2>Contents</h2><ul>{toc}</ul>
{sections}
</body></html>
"""
    path.write_text(doc, encoding="utf-8")


def _text_page(pdf: PdfPages, lines: list[str]) -> None:
    fig = Figure(figsize=(8.27, 11.69))
    fig.text(0.06, 0.96, "\n".join(lines), va="top", ha="left", fontsize=8, family="monospace")
    pdf.savefig(fig)  # type: ignore[no-untyped-call]


def write_pdf(tables: list[StatTable], path: Path, title: str) -> None:
    with PdfPages(path) as pdf:
        intro = [title, "", "Methodological notes", ""]
        for t in tables:
            m = t.metadata
            intro += textwrap.wrap(f"{m['title']}: {m['unit']}. {m['unit_note']} "
                                   f"Protection: {m['protection']['description']}", 95)
            intro.append("")
        _text_page(pdf, intro[:120])
        for t in tables:
            fig = Figure(figsize=(8.27, 11.69))
            top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.2])  # type: ignore[misc]
            charts.draw(top, t)
            rows = charts.chart_rows(t)
            lines = textwrap.wrap(f"Notes: {t.metadata['notes']}", 100)
            lines += textwrap.wrap(f"Protection: {t.metadata['protection']['description']}", 100)
            lines.append("")
            for r in rows[:40]:
                values = ", ".join(f"{k}={'c' if v != v else int(v)}" for k, v in r.items()
                                   if k != "x")
                lines.append(f"{str(r['x'])[:30]:30} {values}"[:110])
            bottom.text(0.04, 0.98, "\n".join(lines), va="top", ha="left", fontsize=7,
                        family="monospace")
            pdf.savefig(fig)


def publish(tables: list[StatTable], out_dir: Path, title: str = "Trafficking in human beings:"
            " statistics") -> Report:
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "report.html"
    pdf_path = out_dir / "report.pdf"
    write_html(tables, html_path, title)
    write_pdf(tables, pdf_path, title)
    return Report(html_path, pdf_path, [t.name for t in tables])
