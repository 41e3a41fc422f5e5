"""Screening benchmark: quality on name variants built from the real lists, and throughput.

Usage::

    .venv/bin/python bench/screen_bench.py                 # quality sets + 10,000-query sample
    .venv/bin/python bench/screen_bench.py --scale 1000000 --workers 2
    .venv/bin/python bench/screen_bench.py --threshold 0.75 --json bench/out/screen.json

Lists: the UN Consolidated List (2026-02) and the OFAC SDN CSV snapshot from
``$MAILLON_SHARED/reference/sanctions`` (default ``../shared``). Nothing is downloaded.

Recipe (seed ``--seed``, default 20260227; every set is drawn with its own ``random.Random``):

* ``typo``: the primary name of up to 600 UN persons and entities; one random edit
  (substitution, deletion, insertion or transposition of adjacent letters) in a random part of
  4+ letters, two edits for names of 20+ letters.
* ``reorder``: the same names with their parts shuffled (at least one change of order).
* ``drop_middle``: persons whose name has 3+ parts, one inner part removed.
* ``translit``: Latin spelling variants of person names (ou<->u, ee<->i, y->i, kh->h, ph->f,
  double letters single, Mohammed/Muhammad/Mohamed...), only names the rules change.
* ``original_script`` (persons) and ``original_script_org`` (entities): each UN entry with an
  original-script name (Arabic, Cyrillic) queried by that name, after removing every
  original-script name of that entry from the index. Many entity names in Arabic are
  translations ("al-jama'a al-islamiya al-muqatila al-libiya" = Libyan Islamic Fighting Group),
  which no transliteration can meet; they are reported apart.
* ``negatives``: Faker person names in 8 Latin-script locales (en_US, en_GB, fr_FR, de_DE,
  es_ES, it_IT, pt_BR, tr_TR; 60%), in Arabic and Cyrillic script (ar_AA, ru_RU; 20%) and
  company names (en_US, fr_FR, de_DE; 20%); a negative whose folded name
  equals a listed name is dropped (it is a real homonym, not a non-matching name).

Throughput is end to end (normalisation, blocking, scoring, explanation) on names half list
variants with typos, half Faker names. ``queries_per_s`` is wall clock; ``queries_per_cpu_s``
divides by the CPU time of the processes doing the work, which is what a loaded, shared machine
lets one compare.

A positive is found when its source UN entry is among the matches at the threshold. False
alerts: share of negatives with any match. Precision/F1 over all queries of the quality run:
TP = positives whose entry is found, FP = alerts on negatives plus positives alerted only on
other entries, FN = positives whose entry is missed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from maillon.screen import sources  # noqa: E402
from maillon.screen.entity import Entity  # noqa: E402
from maillon.screen.matcher import DEFAULT_THRESHOLD, Matcher, MatcherConfig, Query  # noqa: E402
from maillon.screen.normalise import tokens  # noqa: E402

LETTERS = "abcdefghijklmnopqrstuvwxyz"
TRANSLIT = [("ou", "u"), ("u", "ou"), ("ee", "i"), ("i", "ee"), ("y", "i"), ("kh", "h"),
            ("ph", "f"), ("mm", "m"), ("dd", "d"), ("ss", "s"), ("ll", "l"),
            ("mohammed", "muhammad"), ("muhammad", "mohamed"), ("mohamed", "mohammad"),
            ("abdul", "abdel"), ("abdel", "abdul"), ("hussein", "husain"), ("ahmed", "ahmad")]


def shared_folder() -> Path:
    base = Path(os.environ.get("MAILLON_SHARED") or ROOT.parent / "shared")
    return base / "reference" / "sanctions"


def load_lists() -> tuple[list[Entity], list[Entity]]:
    folder = shared_folder()
    un = sources.un.load(sources.find_files("un_sc_sanctions", folder))
    ofac = sources.ofac_csv.load(sources.find_files("us_ofac_sdn", folder))
    return un.entities, ofac.entities


def typo(name: str, rng: random.Random) -> str:
    parts = name.split()
    edits = 2 if len(name) >= 20 else 1
    for _ in range(edits):
        options = [i for i, p in enumerate(parts) if len(p) >= 4 and p.isalpha()]
        if not options:
            break
        i = rng.choice(options)
        word = list(parts[i])
        pos = rng.randrange(1, len(word) - 1)
        op = rng.choice(("sub", "del", "ins", "swap"))
        if op == "sub":
            word[pos] = rng.choice(LETTERS).upper() if word[pos].isupper() else rng.choice(LETTERS)
        elif op == "del":
            del word[pos]
        elif op == "ins":
            word.insert(pos, rng.choice(LETTERS))
        else:
            word[pos], word[pos + 1 if pos + 1 < len(word) else pos - 1] = (
                word[pos + 1 if pos + 1 < len(word) else pos - 1], word[pos])
        parts[i] = "".join(word)
    return " ".join(parts)


def reorder(name: str, rng: random.Random) -> str | None:
    parts = name.split()
    if len(parts) < 2:
        return None
    shuffled = parts[:]
    while shuffled == parts:
        rng.shuffle(shuffled)
    return " ".join(shuffled)


def drop_middle(name: str, rng: random.Random) -> str | None:
    parts = name.split()
    if len(parts) < 3:
        return None
    del parts[rng.randrange(1, len(parts) - 1)]
    return " ".join(parts)


def translit(name: str, rng: random.Random) -> str | None:
    low = name.lower()
    rules = [r for r in TRANSLIT if r[0] in low]
    if not rules:
        return None
    rng.shuffle(rules)
    for a, b in rules[:2]:
        low = low.replace(a, b, 1)
    return low.title() if low != name.lower() else None


def quality_sets(un: list[Entity], seed: int, size: int) -> dict[str, list[tuple[Query, str]]]:
    sets: dict[str, list[tuple[Query, str]]] = {}
    base = sorted(un, key=lambda e: e.id)
    for label, fn in (("typo", typo), ("reorder", reorder), ("drop_middle", drop_middle),
                      ("translit", translit)):
        rng = random.Random(f"{seed}-{label}")
        pool = [e for e in base if label not in ("drop_middle", "translit")
                or e.schema == "Person"]
        rng.shuffle(pool)
        out: list[tuple[Query, str]] = []
        for entity in pool:
            variant = fn(entity.caption, rng)
            if variant and variant != entity.caption:
                out.append((Query(f"{label}-{entity.id}", variant), entity.id))
            if len(out) >= size:
                break
        sets[label] = out
    for label, persons in (("original_script", True), ("original_script_org", False)):
        sets[label] = [
            (Query(f"orig-{e.id}-{i}", n.value), e.id) for e in base
            if (e.schema == "Person") == persons
            for i, n in enumerate(x for x in e.names if x.kind == "original")]
    return sets


def negatives(seed: int, count: int, listed: set[tuple[str, ...]]) -> list[Query]:
    from faker import Faker

    people = Faker(["en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "pt_BR", "tr_TR"])
    companies = Faker(["en_US", "fr_FR", "de_DE"])
    scripts = Faker(["ar_AA", "ru_RU"])
    people.seed_instance(seed)
    companies.seed_instance(seed + 1)
    scripts.seed_instance(seed + 2)
    out: list[Query] = []
    while len(out) < count:
        slot = len(out) % 10
        name = (companies.company() if slot in (3, 7) else
                scripts.name() if slot in (5, 9) else people.name())
        if tuple(sorted(tokens(name))) in listed:
            continue
        out.append(Query(f"neg-{len(out)}", name))
    return out


def evaluate(un: list[Entity], ofac: list[Entity], seed: int, size: int, n_neg: int,
             threshold: float, config: MatcherConfig) -> dict[str, Any]:
    sets = quality_sets(un, seed, size)
    stripped = [replace(e, names=[n for n in e.names if n.kind != "original"]) for e in un]
    full = Matcher([("un_sc_sanctions", un), ("us_ofac_sdn", ofac)], config)
    no_orig = Matcher([("un_sc_sanctions", stripped), ("us_ofac_sdn", ofac)], config)
    listed = {tuple(sorted(tokens(n.value))) for e in un + ofac for n in e.names}
    neg = negatives(seed, n_neg, listed)
    report: dict[str, Any] = {"threshold": threshold, "sets": {}}
    tp = fp = fn = 0
    sweep_pos: dict[str, list[float]] = {}
    sweep_other: list[float] = []
    for label, items in sets.items():
        matcher = no_orig if label.startswith("original_script") else full
        every = matcher.screen([q for q, _ in items], 0.5)
        sweep_pos[label] = [max([m.score for m in r if m.entity_id == exp
                                 and m.list_id == "un_sc_sanctions"], default=0.0)
                            for (_, exp), r in zip(items, every, strict=True)]
        results = [[m for m in r if m.score >= threshold] for r in every]
        found = 0
        misses: list[str] = []
        for (query, expected), matches in zip(items, results, strict=True):
            hit = any(m.list_id == "un_sc_sanctions" and m.entity_id == expected
                      for m in matches)
            found += hit
            if hit:
                tp += 1
            else:
                fn += 1
                fp += bool(matches)
                if len(misses) < 5:
                    misses.append(query.name)
        report["sets"][label] = {"queries": len(items),
                                 "recall": round(found / max(1, len(items)), 4),
                                 "missed_examples": misses}
    every = full.screen(neg, 0.5)
    sweep_other = [max([m.score for m in r], default=0.0) for r in every]
    results = [[m for m in r if m.score >= threshold] for r in every]
    alerts = sum(1 for r in results if r)
    fp += alerts
    report["negatives"] = {"queries": len(neg), "false_alerts": alerts,
                           "false_alert_rate": round(alerts / max(1, len(neg)), 4),
                           "examples": [(q.name, r[0].name, round(r[0].score, 3))
                                        for q, r in zip(neg, results, strict=True) if r][:8]}
    report["sweep"] = {
        f"{t:.2f}": {**{k: round(sum(v >= t for v in vals) / max(1, len(vals)), 4)
                        for k, vals in sweep_pos.items()},
                     "false_alert_rate": round(sum(v >= t for v in sweep_other)
                                               / max(1, len(sweep_other)), 4)}
        for t in (0.70, 0.72, 0.75, 0.78, 0.80, 0.82, 0.85, 0.90)}
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    report["overall"] = {"precision": round(precision, 4), "recall": round(recall, 4),
                         "f1": round(2 * precision * recall / max(1e-9, precision + recall), 4)}
    return report


_MATCHER: Matcher | None = None


def _work(chunk: list[Query]) -> tuple[int, float]:
    """Matches found in ``chunk`` and the CPU seconds this process spent on it."""
    assert _MATCHER is not None
    cpu = time.process_time()
    found = sum(1 for r in _MATCHER.screen(chunk) if r)
    return found, time.process_time() - cpu


def throughput(un: list[Entity], ofac: list[Entity], n: int, seed: int, workers: int,
               config: MatcherConfig) -> dict[str, Any]:
    """End-to-end queries/s: names half from list variants (typos), half Faker names."""
    global _MATCHER
    started = time.perf_counter()
    _MATCHER = Matcher([("un_sc_sanctions", un), ("us_ofac_sdn", ofac)], config)
    build = time.perf_counter() - started
    rng = random.Random(seed)
    names = [n.value for e in un + ofac for n in e.names if n.kind != "original"]
    pool = [typo(rng.choice(names), rng) for _ in range(5000)]
    pool += [q.name for q in negatives(seed, 5000, set())]
    queries = [Query(str(i), pool[i % len(pool)] if i < len(pool) else
                     typo(pool[i % len(pool)], rng)) for i in range(n)]
    chunks = [queries[i:i + 5000] for i in range(0, n, 5000)]
    started = time.perf_counter()
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool_:
            parts = pool_.map(_work, chunks)
    else:
        parts = [_work(c) for c in chunks]
    elapsed = time.perf_counter() - started
    cpu = sum(p[1] for p in parts)
    return {"queries": n, "workers": workers, "index_build_s": round(build, 2),
            "names_indexed": len(_MATCHER.names), "seconds": round(elapsed, 2),
            "queries_per_s": round(n / elapsed, 1),
            "cpu_seconds": round(cpu, 2), "queries_per_cpu_s": round(n / max(cpu, 1e-9), 1),
            "with_matches": sum(p[0] for p in parts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=20260227)
    parser.add_argument("--size", type=int, default=600, help="queries per variant set")
    parser.add_argument("--negatives", type=int, default=4000)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--sample", type=int, default=10000, help="throughput sample size")
    parser.add_argument("--scale", type=int, default=0, help="also time this many queries")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args()
    un, ofac = load_lists()
    config = MatcherConfig(threshold=args.threshold)
    report: dict[str, Any] = {"lists": {"un_sc_sanctions": len(un), "us_ofac_sdn": len(ofac)}}
    if not args.skip_quality:
        report["quality"] = evaluate(un, ofac, args.seed, args.size, args.negatives,
                                     args.threshold, config)
    report["throughput"] = throughput(un, ofac, args.sample, args.seed, 1, config)
    if args.scale:
        report["scale"] = throughput(un, ofac, args.scale, args.seed, args.workers, config)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
