"""STR drafts: goAML XML and a one-page PDF summary of an alert.

The XML follows the structure of the UNODC goAML "Schema documentation" for a report of type
STR (``report`` / ``rentity_id``, ``submission_code``, ``report_code``, ``reporting_person``,
``reason``, ``action``, ``report_indicators`` and ``transaction`` elements with ``t_from_my_client``
/ ``t_to_my_client`` accounts). It was written from that documentation only and has NOT been
checked against a real goAML file or validated with an FIU's XSD: every FIU customises the
schema, so the draft is a starting point that an analyst completes in the FIU's tool.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import duckdb

from maillon.money.model import Dataset

INDICATOR_PREFIX = "HT"
"""Report indicator code prefix (an FIU maps them to its own list)."""


def _sub(parent: Element, tag: str, text: Any = None) -> Element:
    el = SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _transactions(dataset: Dataset | None, ids: list[str]) -> list[dict[str, Any]]:
    if dataset is None or not ids:
        return []
    con: duckdb.DuckDBPyConnection = dataset.connect()
    try:
        cur = con.execute("SELECT * FROM transactions WHERE txn_id IN (SELECT unnest(?)) "
                          "ORDER BY ts", [ids])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def _when(ts: Any) -> str:
    if isinstance(ts, str):
        return datetime.fromisoformat(ts).strftime("%Y-%m-%dT%H:%M:%S")
    return str(ts.strftime("%Y-%m-%dT%H:%M:%S"))


def goaml_xml(alert: dict[str, Any], *, dataset: Dataset | None = None,
              rentity_id: str = "0", reporter: str = "Maillon analyst",
              currency: str = "EUR", rows: list[dict[str, Any]] | None = None) -> bytes:
    """A goAML STR draft for one alert (dict as in alerts.jsonl); the evidence transactions
    come from ``dataset``, or from ``rows`` already read (the alert queue keeps them)."""
    report = Element("report")
    _sub(report, "rentity_id", rentity_id)
    _sub(report, "submission_code", "E")
    _sub(report, "report_code", "STR")
    _sub(report, "entity_reference", alert["alert_id"])
    _sub(report, "submission_date", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    _sub(report, "currency_code_local", currency)
    person = _sub(report, "reporting_person")
    _sub(person, "last_name", reporter)
    names = ", ".join(i["id"] for i in alert["indicators"])
    _sub(report, "reason", f"Possible human trafficking (HUMAN TRAFFICKING FIN-2020-A008). "
                           f"Account {alert['account_id']} scored {alert['score']} on red-flag "
                           f"indicators: {names}. Network: {', '.join(alert['accounts'])}.")
    _sub(report, "action", "Draft produced by Maillon; to be reviewed before submission.")
    ids = sorted({t for i in alert["indicators"]
                  for t in (i.get("evidence") or {}).get("transactions", [])})
    txns = (sorted((r for r in rows if r.get("txn_id") in set(ids)), key=lambda r: str(r["ts"]))
            if rows is not None else _transactions(dataset, ids))
    for txn in txns:
        t = _sub(report, "transaction")
        _sub(t, "transactionnumber", txn["txn_id"])
        _sub(t, "transaction_location", txn.get("city") or "")
        _sub(t, "date_transaction", _when(txn["ts"]))
        _sub(t, "transmode_code", {"cash": "K", "atm": "A", "card": "C", "wire": "E",
                                   "online": "O", "crypto": "V"}.get(txn["channel"], "E"))
        _sub(t, "amount_local", f"{float(txn['amount']):.2f}")
        side = _sub(t, "t_from_my_client" if txn["src_account"] else "t_from")
        _sub(side, "from_funds_code", "K" if txn["channel"] in ("cash", "atm") else "E")
        if txn["src_account"]:
            _sub(_sub(side, "from_account"), "account", txn["src_account"])
        _sub(side, "from_country", txn.get("country") or "")
        side = _sub(t, "t_to_my_client" if txn["dst_account"] else "t_to")
        _sub(side, "to_funds_code", "K" if txn["channel"] in ("cash", "atm") else "E")
        if txn["dst_account"]:
            _sub(_sub(side, "to_account"), "account", txn["dst_account"])
        else:
            _sub(side, "to_country", txn.get("counterparty_country") or txn.get("country") or "")
    indicators = _sub(report, "report_indicators")
    for i in alert["indicators"]:
        _sub(indicators, "indicator", f"{INDICATOR_PREFIX}-{i['id']}")
    body: bytes = tostring(report, encoding="utf-8")
    return body if body.startswith(b"<?xml") else b'<?xml version="1.0"?>\n' + body


def pdf_summary(alert: dict[str, Any], path: Path, *, svg_graph: bool = True) -> Path:
    """A one-page PDF: score, indicators with their evidence, and the alert's network."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8.27, 11.69))
    fig.text(0.06, 0.95, f"Suspicious activity draft - alert {alert['alert_id']}", size=14,
             weight="bold")
    fig.text(0.06, 0.92, f"Subject account {alert['account_id']}  score {alert['score']}  "
             f"network of {len(alert['accounts'])} accounts", size=10)
    y = 0.88
    for ind in alert["indicators"]:
        ev = {k: v for k, v in (ind.get("evidence") or {}).items() if k != "transactions"}
        fig.text(0.06, y, f"- {ind['id']} (weight {ind['weight']}, strength "
                          f"{ind.get('strength', '')})", size=9, weight="bold")
        y -= 0.018
        fig.text(0.09, y, ", ".join(f"{k}: {v}" for k, v in ev.items())[:120], size=8)
        y -= 0.022
        if y < 0.5:
            break
    ax = fig.add_axes((0.1, 0.05, 0.8, 0.38))
    ax.set_axis_off()
    nodes = alert["accounts"][:30]
    angles = [2 * 3.14159 * i / max(1, len(nodes)) for i in range(len(nodes))]
    import math

    pos = {a: (0.0, 0.0) if i == 0 else (math.cos(angles[i]), math.sin(angles[i]))
           for i, a in enumerate(nodes)}
    for a in nodes[1:]:
        ax.plot([0, pos[a][0]], [0, pos[a][1]], color="#999999", lw=0.6)
    for a, (x, yy) in pos.items():
        ax.scatter([x], [yy], s=120 if a == alert["account_id"] else 40,
                   color="#b22222" if a == alert["account_id"] else "#4682b4")
        ax.annotate(a, (x, yy), fontsize=6, ha="center", va="bottom")
    fig.text(0.06, 0.02, "Draft generated by Maillon. Indicators are not conclusive on their "
             "own; review before any report.", size=7)
    fig.savefig(path, format="pdf")
    plt.close(fig)
    return path


def network_svg(alert: dict[str, Any], size: int = 360) -> str:
    """A small server-side SVG of the alert's network (subject in the centre)."""
    import math
    from html import escape

    nodes = alert["accounts"][:30]
    c = size / 2
    r = size / 2 - 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
             f'viewBox="0 0 {size} {size}" role="img" aria-label="alert network">']
    pos = {}
    for i, a in enumerate(nodes):
        if i == 0:
            pos[a] = (c, c)
        else:
            ang = 2 * math.pi * (i - 1) / max(1, len(nodes) - 1)
            pos[a] = (c + r * math.cos(ang), c + r * math.sin(ang))
    for a in nodes[1:]:
        parts.append(f'<line x1="{c:.1f}" y1="{c:.1f}" x2="{pos[a][0]:.1f}" '
                     f'y2="{pos[a][1]:.1f}" stroke="#999" stroke-width="1"/>')
    for i, a in enumerate(nodes):
        x, y = pos[a]
        colour = "#b22222" if i == 0 else "#4682b4"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{9 if i == 0 else 6}" '
                     f'fill="{colour}"><title>{escape(a)}</title></circle>')
        parts.append(f'<text x="{x:.1f}" y="{y - 10:.1f}" font-size="9" '
                     f'text-anchor="middle">{escape(a)}</text>')
    parts.append("</svg>")
    return "".join(parts)
