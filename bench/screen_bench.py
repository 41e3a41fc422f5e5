"""Screening benchmark: quality on name variants built from the real lists, and throughput.

Usage::

    bench/peer_venv.sh                                     # once: the logic-v2 peer venv
    .venv/bin/python bench/screen_bench.py                 # quality sets + 10,000-query sample
    .venv/bin/python bench/screen_bench.py --scale 1000000 --workers 2
    .venv/bin/python bench/screen_bench.py --threshold 0.75 --json bench/out/screen.json

Side by side with nomenklatura's logic-v2 (``bench/peer_venv.sh`` makes its venv under
``bench/out/peer-venv``; without it the comparison is skipped with a message, ``--no-peer``
skips it too): the same quality sets, negatives and throughput sample and the list entities
are written as FollowTheMoney JSON to a temporary folder, ``bench/screen_peer.py`` runs with the
peer venv's python (3-gram TF-IDF retrieval of ``--peer-candidates`` entities, then
``LogicV2.compare``), and both are printed side by side, each at its operating threshold
(ours ``--threshold``, logic-v2 0.70, yente's default), with sweeps in the JSON.

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
import subprocess
import sys
import tempfile
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


Scored = list[list[tuple[str, float]]]
"""Per query, the ``(list id:entity id, score)`` pairs scoring at least 0.5, best first."""


def score_ours(un: list[Entity], ofac: list[Entity], sets: dict[str, list[tuple[Query, str]]],
               neg: list[Query], config: MatcherConfig) -> tuple[dict[str, Scored], Scored]:
    """Our matcher's scores on every quality set and on the negatives (at 0.5 and up)."""
    stripped = [replace(e, names=[n for n in e.names if n.kind != "original"]) for e in un]
    full = Matcher([("un_sc_sanctions", un), ("us_ofac_sdn", ofac)], config)
    no_orig = Matcher([("un_sc_sanctions", stripped), ("us_ofac_sdn", ofac)], config)

    def run(matcher: Matcher, queries: list[Query]) -> Scored:
        return [[(f"{m.list_id}:{m.entity_id}", m.score) for m in r]
                for r in matcher.screen(queries, 0.5)]

    by_set = {label: run(no_orig if label.startswith("original_script") else full,
                         [q for q, _ in items]) for label, items in sets.items()}
    return by_set, run(full, neg)


def metrics(sets: dict[str, list[tuple[Query, str]]], neg: list[Query],
            by_set: dict[str, Scored], neg_scored: Scored, threshold: float,
            sweep: tuple[float, ...]) -> dict[str, Any]:
    """Recall per set, false alerts, precision/F1 at ``threshold``, and a threshold sweep.

    A positive is found when ``un_sc_sanctions:<its entry>`` scores at least the threshold.
    TP = positives found, FP = alerts on negatives plus positives alerted only on other
    entries, FN = positives missed."""
    report: dict[str, Any] = {"threshold": threshold, "sets": {}}
    tp = fp = fn = 0
    best_pos: dict[str, list[float]] = {}
    for label, items in sets.items():
        found = 0
        misses: list[str] = []
        best_pos[label] = []
        for (query, expected), scored in zip(items, by_set[label], strict=True):
            key = f"un_sc_sanctions:{expected}"
            own = max([s for k, s in scored if k == key], default=0.0)
            best_pos[label].append(own)
            if own >= threshold:
                found += 1
                tp += 1
            else:
                fn += 1
                fp += any(s >= threshold for _, s in scored)
                if len(misses) < 5:
                    misses.append(query.name)
        report["sets"][label] = {"queries": len(items),
                                 "recall": round(found / max(1, len(items)), 4),
                                 "missed_examples": misses}
    best_neg = [max([s for _, s in r], default=0.0) for r in neg_scored]
    alerts = sum(1 for v in best_neg if v >= threshold)
    fp += alerts
    report["negatives"] = {"queries": len(neg), "false_alerts": alerts,
                           "false_alert_rate": round(alerts / max(1, len(neg)), 4),
                           "examples": [(q.name, r[0][0], round(r[0][1], 3))
                                        for q, r in zip(neg, neg_scored, strict=True)
                                        if r and r[0][1] >= threshold][:8]}
    report["sweep"] = {
        f"{t:.2f}": {**{k: round(sum(v >= t for v in vals) / max(1, len(vals)), 4)
                        for k, vals in best_pos.items()},
                     "false_alert_rate": round(sum(v >= t for v in best_neg)
                                               / max(1, len(best_neg)), 4)}
        for t in sweep}
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    report["overall"] = {"precision": round(precision, 4), "recall": round(recall, 4),
                         "f1": round(2 * precision * recall / max(1e-9, precision + recall), 4)}
    return report


SWEEP = (0.70, 0.72, 0.75, 0.78, 0.80, 0.82, 0.85, 0.90)


def test_sets(un: list[Entity], ofac: list[Entity], seed: int, size: int, n_neg: int
              ) -> tuple[dict[str, list[tuple[Query, str]]], list[Query]]:
    """The quality sets and the non-matching names (see the recipe above)."""
    listed = {tuple(sorted(tokens(n.value))) for e in un + ofac for n in e.names}
    return quality_sets(un, seed, size), negatives(seed, n_neg, listed)


def evaluate(un: list[Entity], ofac: list[Entity], sets: dict[str, list[tuple[Query, str]]],
             neg: list[Query], threshold: float, config: MatcherConfig) -> dict[str, Any]:
    by_set, neg_scored = score_ours(un, ofac, sets, neg, config)
    return metrics(sets, neg, by_set, neg_scored, threshold, SWEEP)


# -- the peer: nomenklatura's logic-v2 in its own venv -------------------------------------

PEER_PYTHON = ROOT / "bench" / "out" / "peer-venv" / "bin" / "python"
PEER_THRESHOLD = 0.70
"""yente's default match threshold for logic-v2."""
PEER_SWEEP = (0.50, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90)


def ftm_record(list_id: str, entity: Entity, originals: bool = True) -> dict[str, Any]:
    """One entity as a FollowTheMoney record (``id`` = ``<list id>:<publisher id>``)."""
    props: dict[str, list[str]] = {}
    kind_prop = {"primary": "name", "alias": "alias", "weak": "weakAlias",
                 "previous": "previousName", "original": "alias"}
    for name in entity.names:
        if name.kind == "original" and not originals:
            continue
        props.setdefault(kind_prop[name.kind], []).append(name.value)
    if entity.schema == "Person":
        for dob in entity.birth_dates:
            years = range(dob.year, (dob.year_to or dob.year) + 1)
            props.setdefault("birthDate", []).extend(
                [dob.text()] if dob.precision != "range" else [str(y) for y in years])
        if entity.nationalities:
            props["nationality"] = list(entity.nationalities)
        if entity.gender:
            props["gender"] = [entity.gender]
    if entity.countries:
        props["country"] = list(entity.countries)
    if entity.identifiers:
        props["idNumber" if entity.schema == "Person" else "registrationNumber"] = [
            i.value for i in entity.identifiers]
    return {"id": f"{list_id}:{entity.id}", "schema": entity.schema, "properties": props}


def run_peer(un: list[Entity], ofac: list[Entity], sets: dict[str, list[tuple[Query, str]]],
             neg: list[Query], sample: list[Query], python: Path,
             candidates: int) -> dict[str, Any]:
    """Write the same quality sets, negatives and throughput sample with the list entities
    as FollowTheMoney JSON, run ``bench/screen_peer.py`` with the peer venv's python, and
    read its scores back into the same metrics as ours."""
    with tempfile.TemporaryDirectory(prefix="screen-peer-") as tmp:
        work = Path(tmp)
        for file, originals in (("entities.ftm.json", True), ("entities_no_orig.ftm.json", False)):
            with (work / file).open("w", encoding="utf-8") as out:
                for list_id, entities in (("un_sc_sanctions", un), ("us_ofac_sdn", ofac)):
                    for entity in entities:
                        keep = originals or list_id != "un_sc_sanctions"
                        record = ftm_record(list_id, entity, keep)
                        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        queries = {"sets": {label: [{"id": q.id, "name": q.name} for q, _ in items]
                            for label, items in sets.items()},
                   "negatives": [{"id": q.id, "name": q.name} for q in neg],
                   "throughput": [{"id": q.id, "name": q.name} for q in sample]}
        (work / "queries.json").write_text(json.dumps(queries, ensure_ascii=False),
                                           encoding="utf-8")
        started = time.perf_counter()
        subprocess.run([str(python), str(ROOT / "bench" / "screen_peer.py"), "--work", tmp,
                        "--candidates", str(candidates)], check=True)
        total = time.perf_counter() - started
        raw = json.loads((work / "peer_results.json").read_text(encoding="utf-8"))

    def back(rows: list[list[list[Any]]]) -> Scored:
        return [[(str(k), float(v)) for k, v in r] for r in rows]

    quality = metrics(sets, neg, {k: back(v) for k, v in raw["sets"].items()},
                      back(raw["negatives"]), PEER_THRESHOLD, PEER_SWEEP)
    return {"matcher": "nomenklatura logic-v2", "version": peer_version(python),
            "retrieval": f"3-gram TF-IDF, {candidates} entities per query",
            "index_build_s": raw["index_build_s"], "subprocess_s": round(total, 1),
            "quality": quality, "throughput": raw["throughput"]}


def peer_version(python: Path) -> str:
    done = subprocess.run([str(python), "-c", "import importlib.metadata as m; "
                           "print(m.version('nomenklatura'))"],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def side_by_side(ours: dict[str, Any], ours_speed: dict[str, Any],
                 peer: dict[str, Any]) -> str:
    """A text table: quality and throughput of both matchers, each at its operating point."""
    rows = [("", f"maillon @ {ours['threshold']:.2f}",
             f"logic-v2 @ {peer['quality']['threshold']:.2f}")]
    for label, data in ours["sets"].items():
        rows.append((f"recall {label}", f"{data['recall']:.3f}",
                     f"{peer['quality']['sets'][label]['recall']:.3f}"))
    rows.append(("false-alert rate", f"{ours['negatives']['false_alert_rate']:.4f}",
                 f"{peer['quality']['negatives']['false_alert_rate']:.4f}"))
    for key in ("precision", "recall", "f1"):
        rows.append((key, f"{ours['overall'][key]:.3f}",
                     f"{peer['quality']['overall'][key]:.3f}"))
    q_ours, q_peer = ours_speed["queries_per_s"], peer["throughput"]["queries_per_s"]
    rows.append((f"queries/s ({ours_speed['queries']:,} sample)", f"{q_ours:,.0f}",
                 f"{q_peer:,.1f}"))
    c_ours, c_peer = ours_speed["queries_per_cpu_s"], peer["throughput"]["queries_per_cpu_s"]
    rows.append(("queries per CPU-second", f"{c_ours:,.0f}", f"{c_peer:,.1f}"))
    rows.append(("speed ratio (wall / CPU)", f"{q_ours / max(q_peer, 1e-9):.1f}x / "
                 f"{c_ours / max(c_peer, 1e-9):.1f}x", "1x"))
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, width, strict=True))
                     for r in rows)


_MATCHER: Matcher | None = None


def _work(chunk: list[Query]) -> tuple[int, float]:
    """Matches found in ``chunk`` and the CPU seconds this process spent on it."""
    assert _MATCHER is not None
    cpu = time.process_time()
    found = sum(1 for r in _MATCHER.screen(chunk) if r)
    return found, time.process_time() - cpu


def sample_queries(un: list[Entity], ofac: list[Entity], n: int, seed: int) -> list[Query]:
    """The throughput names: half list names with a typo, half Faker names (then typos of
    those for runs beyond 10,000)."""
    rng = random.Random(seed)
    names = [n.value for e in un + ofac for n in e.names if n.kind != "original"]
    pool = [typo(rng.choice(names), rng) for _ in range(5000)]
    pool += [q.name for q in negatives(seed, 5000, set())]
    return [Query(str(i), pool[i % len(pool)] if i < len(pool) else
                  typo(pool[i % len(pool)], rng)) for i in range(n)]


def throughput(un: list[Entity], ofac: list[Entity], queries: list[Query], workers: int,
               config: MatcherConfig) -> dict[str, Any]:
    """End-to-end queries/s of ``Matcher.screen`` over ``queries``."""
    global _MATCHER
    started = time.perf_counter()
    _MATCHER = Matcher([("un_sc_sanctions", un), ("us_ofac_sdn", ofac)], config)
    build = time.perf_counter() - started
    n = len(queries)
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
    parser.add_argument("--peer", type=Path, default=PEER_PYTHON,
                        help="python of the peer venv (bench/peer_venv.sh makes it)")
    parser.add_argument("--peer-candidates", type=int, default=10)
    parser.add_argument("--no-peer", action="store_true", help="skip the logic-v2 comparison")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args()
    un, ofac = load_lists()
    config = MatcherConfig(threshold=args.threshold)
    report: dict[str, Any] = {"lists": {"un_sc_sanctions": len(un), "us_ofac_sdn": len(ofac)}}
    sets, neg = test_sets(un, ofac, args.seed, args.size, args.negatives)
    if not args.skip_quality:
        report["quality"] = evaluate(un, ofac, sets, neg, args.threshold, config)
    sample = sample_queries(un, ofac, args.sample, args.seed)
    report["throughput"] = throughput(un, ofac, sample, 1, config)
    if args.scale:
        report["scale"] = throughput(un, ofac, sample_queries(un, ofac, args.scale, args.seed),
                                     args.workers, config)
    table = ""
    if args.no_peer or args.skip_quality:
        pass
    elif not args.peer.exists():
        print(f"peer comparison skipped: no peer venv at {args.peer} "
              "(make it with bench/peer_venv.sh)", file=sys.stderr)
    else:
        report["peer"] = run_peer(un, ofac, sets, neg, sample, args.peer,
                                  args.peer_candidates)
        table = side_by_side(report["quality"], report["throughput"], report["peer"])
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if table:
        print("\nSide by side (same quality sets, same throughput sample, one process each):")
        print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
