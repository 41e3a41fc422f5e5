"""Alerts: the transparent weighted score, the optional trained model, backtests.

Transparent score of an account = sum over the indicators that fired of ``weight x strength``
(weights in the rule files and in :data:`maillon.money.graph.GRAPH_INDICATORS`). An alert is
raised when the score reaches :data:`DEFAULT_THRESHOLD`; the weights are set so that most single
indicators stay below it ("no single indicator is conclusive"), while strong ones (a match with
case data, structuring, funnel, cycles) reach it at full strength. Nothing is fitted on the data
being scanned.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maillon.money.graph import GRAPH_INDICATORS, GraphFeatures, feature_table
from maillon.money.rules import Hit, Rule

DEFAULT_THRESHOLD = 0.5
MAX_NETWORK = 50


@dataclass
class Alert:
    alert_id: str
    account_id: str
    accounts: list[str]
    score: float
    indicators: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "account_id": self.account_id,
                "accounts": self.accounts, "score": self.score, "indicators": self.indicators}


def weights(rules: Iterable[Rule]) -> dict[str, float]:
    w = {r.id: r.weight for r in rules}
    w.update({k: float(v["weight"]) for k, v in GRAPH_INDICATORS.items()})
    return w


FAMILIES: dict[str, str] = {
    "many_senders_one_beneficiary": "fan_in", "graph_fan_in": "fan_in",
    "one_sender_many_beneficiaries": "fan_out", "graph_fan_out": "fan_out",
    "pass_through": "pass_through", "graph_pass_through": "pass_through",
}
"""Indicators that measure the same thing (a SQL rule over time windows and its graph twin over
the whole period): one concept, one vote. When several of a family fire, only the largest
``weight x strength`` counts in the score (all still appear in the alert as evidence).
The two cycle indicators are not a family: ``graph_cycle`` is a time-ordered cycle at any
amounts, ``circulation_cycle`` adds that the amount is kept along the hops (70-105 %), a
second, distinct fact."""


def score_of(hs: Iterable[Hit], rule_weights: dict[str, float]) -> float:
    """Transparent score: sum of ``weight x strength``, the best one per family."""
    best: dict[str, float] = {}
    for h in hs:
        key = FAMILIES.get(h.rule_id, h.rule_id)
        best[key] = max(best.get(key, 0.0), rule_weights.get(h.rule_id, 0.0) * h.strength)
    return round(sum(best.values()), 4)


def account_scores(hits: Iterable[Hit], rule_weights: dict[str, float]
                   ) -> dict[str, tuple[float, list[Hit]]]:
    by: dict[str, list[Hit]] = {}
    for h in hits:
        by.setdefault(h.account_id, []).append(h)
    return {a: (score_of(hs, rule_weights), hs) for a, hs in by.items()}


def build_alerts(hits: Iterable[Hit], rule_weights: dict[str, float], *,
                 threshold: float = DEFAULT_THRESHOLD, dataset_key: str = "") -> list[Alert]:
    """One alert per account whose score reaches ``threshold``, best first.

    ``accounts``: the subject and the accounts of its network named by the evidence (cycle
    members, senders of a fan-in, beneficiaries of a collector...). ``alert_id`` is stable for
    the same dataset key, account and fired indicators.
    """
    alerts = []
    for account, (score, hs) in account_scores(hits, rule_weights).items():
        if score < threshold:
            continue
        network: list[str] = [account]
        for h in sorted(hs, key=lambda h: -rule_weights.get(h.rule_id, 0) * h.strength):
            network.extend(a for a in h.related if a not in network)
        indicators = [{"id": h.rule_id, "weight": rule_weights.get(h.rule_id, 0.0),
                       "strength": h.strength,
                       "evidence": {**h.evidence, "transactions": h.txn_ids}}
                      for h in sorted(hs, key=lambda h: h.rule_id)]
        fired = ",".join(h.rule_id for h in sorted(hs, key=lambda h: h.rule_id))
        digest = hashlib.sha256(
            f"{dataset_key}|{account}|{fired}".encode()
        ).hexdigest()[:16]
        alerts.append(Alert(alert_id=f"MA-{digest}", account_id=account,
                            accounts=network[:MAX_NETWORK], score=score, indicators=indicators))
    alerts.sort(key=lambda a: (-a.score, a.account_id))
    return alerts


def write_jsonl(alerts: Iterable[Alert], path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for alert in alerts:
            fh.write(json.dumps(alert.as_dict(), ensure_ascii=False, default=str) + "\n")
            n += 1
    return n


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# -- evaluation ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metrics:
    flagged: int
    positives: int
    tp: int
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def metrics(flagged: set[str], labels: dict[str, int], universe: Iterable[str] | None = None
            ) -> Metrics:
    accounts = set(universe) if universe is not None else set(labels)
    flagged = flagged & accounts
    positives = {a for a in accounts if labels.get(a)}
    tp = len(flagged & positives)
    p = tp / len(flagged) if flagged else 0.0
    r = tp / len(positives) if positives else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return Metrics(len(flagged), len(positives), tp, round(p, 4), round(r, 4), round(f, 4))


def backtest(hits: list[Hit], rule_weights: dict[str, float], labels: dict[str, int], *,
             threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """Precision/recall/F1 of each indicator alone (accounts it fires on) and of the combined
    transparent score at ``threshold``, against account labels."""
    per_rule: dict[str, set[str]] = {}
    for h in hits:
        per_rule.setdefault(h.rule_id, set()).add(h.account_id)
    combined = {a.account_id for a in build_alerts(hits, rule_weights, threshold=threshold)}
    return {"rules": {r: metrics(accs, labels).as_dict() for r, accs in sorted(per_rule.items())},
            "combined": metrics(combined, labels).as_dict(), "threshold": threshold}


# -- trained model (optional) -------------------------------------------------------------------

def model_matrix(features: GraphFeatures, hits: list[Hit], rule_ids: list[str], *,
                 amounts: bool = True) -> tuple[list[str], np.ndarray]:
    """Graph features plus each indicator's strength, one row per account of ``features``."""
    names, base = feature_table(features, amounts=amounts)
    index = {a: i for i, a in enumerate(features.accounts)}
    strengths = np.zeros((len(features.accounts), len(rule_ids)))
    col = {r: j for j, r in enumerate(rule_ids)}
    for h in hits:
        if h.account_id in index and h.rule_id in col:
            i, j = index[h.account_id], col[h.rule_id]
            strengths[i, j] = max(strengths[i, j], h.strength)
    return names + [f"rule:{r}" for r in rule_ids], np.hstack([base, strengths])


def train_model(matrix: np.ndarray, y: np.ndarray, *, seed: int = 0) -> Any:
    """A LightGBM gradient-boosted classifier (class-weighted, small and deterministic)."""
    import lightgbm as lgb

    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, num_leaves=31,
                               subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                               is_unbalance=True, random_state=seed, n_jobs=2, verbose=-1,
                               deterministic=True)
    model.fit(matrix, y)
    return model


def best_threshold(y: np.ndarray, proba: np.ndarray) -> float:
    """The probability cut-off maximising F1 on training data."""
    best, cut = -1.0, 0.5
    for t in np.linspace(0.05, 0.95, 37):
        pred = proba >= t
        tp = float((pred & (y == 1)).sum())
        p = tp / pred.sum() if pred.sum() else 0.0
        r = tp / (y == 1).sum() if (y == 1).sum() else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        if f > best:
            best, cut = f, float(t)
    return cut
