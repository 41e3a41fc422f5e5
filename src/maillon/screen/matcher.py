"""The name matcher: candidate blocking on an inverted key index, then feature scoring.

Two stages (see ``docs/screen.md``):

1. **Blocking.** Every name part of every list name is indexed under several keys: the folded
   token (``t``), its consonant skeleton (``s``), its metaphone (``p``) and its one-character
   deletion neighbourhood (``d``: a token and all its 1-deletions, so any pair of tokens within
   one edit shares a key). A batch of queries becomes a sparse query x key matrix weighted by
   each key's inverse document frequency; one sparse product with the key x name matrix gives
   every query's blocking score against every name at once, and the best ``candidates`` names
   per query go to stage 2. Keys carried by more than ``max_key_share`` of the names are not
   used (they cost much and tell little).
2. **Scoring.** Query and candidate name parts are aligned one to one (greedy on similarity,
   order free, so reordered parts align); a part's similarity is Levenshtein similarity, raised
   by consonant-skeleton agreement when either side was transliterated from another script.
   The name score is the query-weighted share of matched similarity, with a smaller penalty
   for list name parts the query lacks (a dropped middle name). Birth date, nationality,
   identifiers, entity type and alias quality then adjust it; the result is clamped to [0, 1]
   and comes with its explanation ``[{feature, result, weight}]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from rapidfuzz.distance import OSA, Levenshtein
from scipy import sparse

from maillon.screen.entity import ORG_SCHEMAS, BirthDate, Entity
from maillon.screen.normalise import (
    loose_skeleton,
    org_tokens,
    phonetic,
    script_of,
    skeleton,
    split_compounds,
    tokens,
)
from maillon.screen.partsim import PairBatch, PartTable

DEFAULT_THRESHOLD = 0.80
"""Operating point: the score at or above which a pair is a potential match (see the bench)."""

PARTICLES = frozenset("""al el ul bin ibn bint binti bn abu abou abw abd abdel abdul ben bou de del
della der des di du da dos das la le van von ten ter mr mrs ms dr haji hajji hadji mullah
mulla maulvi maulana ud ur ul sheikh shaykh sheik shaikh qari sayed sayyid syed general gen col
colonel imam wa w fy fi""".split())
ORG_TYPES = frozenset("""ltd limited llc inc incorporated co company corp corporation gmbh ag sa
sarl sas srl spa bv nv plc oy ab as kg jsc ojsc cjsc pjsc ooo zao oao pao llp lp pte pty bhd
sdn fze fzco fzc fz lda ltda sae saa kft zrt doo ad ood eood sro spzoo tov pp cv sl slu
establishment est trading group holding holdings international intl enterprise enterprises
industries industry and of the for tndym tnzym""".split())
LOW_WEIGHT = 0.3


@dataclass(frozen=True)
class Query:
    id: str
    name: str
    schema: str = ""
    birth_date: BirthDate | None = None
    country: str | None = None
    identifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Feature:
    feature: str
    result: str | float
    weight: float

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "result": self.result, "weight": self.weight}


@dataclass
class Match:
    list_id: str
    entity_id: str
    name: str
    score: float
    explanation: list[Feature]
    entity: Entity | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"list": self.list_id, "entity_id": self.entity_id, "name": self.name,
                "score": round(self.score, 4),
                "explanation": [f.as_dict() for f in self.explanation]}


@dataclass
class MatcherConfig:
    threshold: float = DEFAULT_THRESHOLD
    list_thresholds: dict[str, float] = field(default_factory=dict)
    candidates: int = 16
    candidate_floor: float = 0.4
    """Names whose blocking score is under this share of the query's best are not scored."""
    max_key_share: float = 0.02
    extra_list_part: float = 0.3
    similarity_power: float = 1.5
    min_part_similarity: float = 0.5
    cross_script_offset: float = 0.06
    """Added to the name score of a query written in another script: its parts are compared
    on consonant skeletons (short vowels are not written), so the same evidence scores lower
    than between two Latin spellings; calibrated on the bench's original-script set."""
    weights: dict[str, float] = field(default_factory=lambda: {
        "dob_match": 0.05, "dob_year_match": 0.02, "dob_year_close": 0.0,
        "dob_mismatch": -0.2, "country_match": 0.03, "country_mismatch": -0.05,
        "identifier_match": 0.95, "schema_mismatch": -0.35, "weak_alias": -0.1,
    })

    def threshold_for(self, list_id: str) -> float:
        return self.list_thresholds.get(list_id, self.threshold)


_VOWEL_SKELS = frozenset("aeiouyw")
"""The skeleton :func:`skeleton` gives a part made of vowels only."""


class PreparedName:
    """A name as the scorer reads it: parts, their weights and skeletons."""

    __slots__ = ("parts", "weights", "skels", "loose", "translit", "concat", "sorted", "total",
                 "compound")

    def __init__(self, text: str, org: bool | None = None, split: bool = False) -> None:
        parts = tokens(text) if org is False else org_tokens(text)
        if split:
            parts = split_compounds(parts)
        self.compound: PreparedName | None = None
        """For a list name: the same name with its Latin compounds split (Shamsuddin ->
        shams din), compared with queries from another script; ``None`` when no compound."""
        self.translit = not text.isascii() and script_of(text) is not None
        self.parts = parts
        weights = []
        for part in parts:
            low = part in PARTICLES or (org is not False and part in ORG_TYPES)
            weights.append(LOW_WEIGHT if low else (0.7 if len(part) <= 2 else 1.0))
        if weights and max(weights) <= LOW_WEIGHT:  # a name made only of low-weight words
            weights = [1.0] * len(weights)
        self.weights = weights
        self.skels = tuple(skeleton(p) for p in parts)
        self.loose = tuple(loose_skeleton(p) for p in parts)
        # a part of vowels only (an acronym: AIAI) has no consonants to meet across scripts
        self.concat = "".join(k for k in self.skels if k not in _VOWEL_SKELS).replace("h", "")
        self.sorted = " ".join(sorted(parts))
        self.total = float(sum(weights))


KEY_TYPES = {"t": 1.0, "d": 0.85, "s": 0.8, "x": 0.7, "p": 0.7, "c": 1.0, "b": 1.0,
             "y": 0.7}
"""Blocking key types and their weight (times the key's idf): exact token, deletion
neighbourhood, consonant skeleton, loose skeleton, metaphone, whole-name skeleton, pair of
parts."""
MULTI_KEY_TYPES = frozenset("dby")
"""Key types with several keys per group (deletions, pairs); the others have one."""
KEY_TYPES_CROSS = {**KEY_TYPES, "x": 1.0, "c": 1.5, "y": 1.0}
"""Weights for a query transliterated from another script: skeletons are what carry over."""
CROSS_EQUAL = {2: 0.85, 3: 0.9, 4: 0.97}
"""Similarity of two parts with equal skeletons across scripts, by skeleton length (short
skeletons are shared by many unrelated names)."""
CROSS_EDGE_PENALTY = 0.08
"""Part similarity lost, across scripts, per end where a vowel meets a consonant."""
CROSS_CANDIDATES = 3
"""A transliterated query keeps this many times more candidates (they are few and hard)."""


def _part_keys(part: str, skel: str, loose: str, with_deletes: bool = True) -> list[str]:
    keys = ["t" + part]
    if len(skel) >= 2:
        keys.append("s" + skel)
    if len(loose) >= 2:
        keys.append("x" + loose)
    code = phonetic(part)
    if len(code) >= 2:
        keys.append("p" + code)
    if with_deletes and len(part) >= 4 and part.isalpha():
        keys.append("d" + part)
        keys.extend("d" + part[:i] + part[i + 1:] for i in range(len(part)))
    return keys


def key_groups(name: PreparedName) -> list[list[str]]:
    """The blocking keys of a name, one group per significant part (+ the whole skeleton)."""
    groups = []
    for part, weight, skel, loose in zip(name.parts, name.weights, name.skels, name.loose,
                                         strict=True):
        if weight > LOW_WEIGHT:
            groups.append(_part_keys(part, skel, loose))
    if len(name.concat) >= 3:
        groups.append(["c" + name.concat])
    strong = sorted({p for p, w in zip(name.parts, name.weights, strict=True)
                     if w > LOW_WEIGHT})[:6]
    if len(strong) >= 2:  # pairs of parts: common parts (Muhammad, Ahmad) together are rare
        groups.append(["b" + a + "|" + b for i, a in enumerate(strong) for b in strong[i + 1:]])
    skels = sorted({x for x, w in zip(name.loose, name.weights, strict=True)
                    if w > LOW_WEIGHT and len(x) >= 2})[:6]
    if len(skels) >= 2:  # the same across scripts
        groups.append(["y" + a + "|" + b for i, a in enumerate(skels) for b in skels[i + 1:]])
    return groups


def _keys(name: PreparedName) -> set[str]:
    return {key for group in key_groups(name) for key in group}


@lru_cache(maxsize=1 << 20)
def part_similarity(a: str, b: str, sa: str, sb: str, cross: bool) -> float:
    if a == b:
        return 1.0
    if cross and len(a) > 2 and len(b) > 2 and a[-1] == "h" and (
            b[-1] == "a" or (b[-1] == "t" and b[-2] in "aeiou")):
        # a final ta marbuta is written -a in Latin (qa'idh: Qaida), and read -at before the
        # next word of a construct ('sbh al-ansar: Asbat al-Ansar)
        a = a[:-1] + ("a" if b[-1] == "a" else "at")
        if a == b:
            return 1.0
        sa = loose_skeleton(a)
    if len(a) == 1 or len(b) == 1:
        return 0.7 if a[0] == b[0] else 0.0
    distance = int(OSA.distance(a, b))
    longest = max(len(a), len(b))
    sim = 1.0 - distance / longest
    if distance == 1 and longest >= 4:  # one typo or spelling variant
        sim = max(sim, 0.9)
    elif distance == 2 and longest >= 7:
        sim = max(sim, 0.85)
    if sa == sb and len(sa) >= 2 and (cross or (distance <= 2 and a[0] == b[0])):
        # same consonants: Raqeeb / Raqib; across scripts (no written short vowels) it is
        # nearly as good as an exact match
        sim = max(sim, CROSS_EQUAL[min(len(sa), 4)] if cross else 0.88)
    elif cross and sa == sb and len(a) <= 3 and len(b) <= 3:
        sim = max(sim, 0.8)  # Ali / 'ly
    if cross:
        if sa == sb and len(sa) >= 2:
            pass
        elif len(sa) >= 2 and len(sb) >= 2:
            sim = max(sim, 0.9 * float(Levenshtein.normalized_similarity(sa, sb)))
        elif skeleton(a) == skeleton(b) and len(a) >= 3:  # Yahya / yhyy: h carries it
            sim = max(sim, 0.8)
        sim -= CROSS_EDGE_PENALTY * _edge_disagreements(a, b)
    return sim


_LATIN_VOWELS = frozenset("aeiou")


def _edge_disagreements(written: str, latin: str) -> int:
    """How many ends of two parts disagree on a vowel, for a part from another script
    (``written``) against a Latin one. Arabic script writes long vowels and a word-initial
    vowel (alef, ain), so a Latin name starting or ending with a vowel should meet one there
    (``Umar`` is not ``mry``, ``Iqbal`` is not ``jbyly``); a final ta marbuta (``h``) or
    ya/waw/alef counts as a vowel, a French silent final ``e`` does not."""
    count = 0
    if (written[0] in _LATIN_VOWELS) != (latin[0] in _LATIN_VOWELS):
        count += 1
    w_end = written[-1] in "aeiouywh"
    l_end = latin[-1] in "aiouy" or (latin[-1] == "e" and len(latin) > 2
                                      and latin[-2] in _LATIN_VOWELS) or latin[-1] == "h"
    if w_end != l_end:
        count += 1
    return count


def name_similarity(q: PreparedName, c: PreparedName, config: MatcherConfig) -> float:
    """Order-free, query-weighted similarity of two prepared names in [0, 1]."""
    q_parts = q.parts
    if not q_parts or not c.parts:
        return 0.0
    cross = q.translit  # only a query written in another script is compared by skeletons
    if cross and c.compound is not None:
        c = c.compound
    elif not cross and q.sorted == c.sorted:  # the same parts in any order
        return 1.0
    c_parts = c.parts
    n_q, n_c = len(q_parts), len(c_parts)
    q_weights = q.weights
    free_q = [True] * n_q
    free_c = [True] * n_c
    left_q, left_c = n_q, n_c
    matched = 0.0
    power = config.similarity_power
    if not cross:  # equal parts pair first, without computing their similarity
        for i, a in enumerate(q_parts):
            for j, b in enumerate(c_parts):
                if a == b and free_c[j]:
                    free_q[i] = free_c[j] = False
                    left_q -= 1
                    left_c -= 1
                    matched += q_weights[i]
                    break
    if left_q and left_c:
        q_skels = q.loose if cross else q.skels
        c_skels = c.loose if cross else c.skels
        floor = config.min_part_similarity
        pairs: list[tuple[float, int, int]] = []
        for i in range(n_q):
            if not free_q[i]:
                continue
            a, sa = q_parts[i], q_skels[i]
            for j in range(n_c):
                if free_c[j]:
                    sim = part_similarity(a, c_parts[j], sa, c_skels[j], cross)
                    if sim >= floor:
                        pairs.append((sim, i, j))
        if len(pairs) > 1:
            pairs.sort(reverse=True)
        for sim, i, j in pairs:
            if free_q[i] and free_c[j]:
                free_q[i] = free_c[j] = False
                left_q -= 1
                matched += q_weights[i] * sim ** power
    used_c_weight = sum(w for w, free in zip(c.weights, free_c, strict=True) if not free)
    return _finish(q, c, matched, free_q, used_c_weight, n_q - left_q, config)


def name_similarity_flat(q: PreparedName, c: PreparedName, cols: list[int],
                         sims: list[float], offset: int, config: MatcherConfig,
                         floor: float = -1.0) -> float:
    """:func:`name_similarity` for a query in Latin script, reading the part similarities
    (raised to ``similarity_power``, -1 under the floor) from a :class:`PairBatch` block:
    query part ``i`` against list part ``j`` is ``sims[offset + cols[j] * len(q.parts) + i]``.
    A name that cannot reach ``floor`` returns 0.0 without being aligned (an upper bound: each
    query part at its best list part, the query's own weight as denominator)."""
    if not q.parts or not c.parts:
        return 0.0
    if q.sorted == c.sorted:
        return 1.0
    n_q = len(q.parts)
    pairs = []
    best = [0.0] * n_q
    for j, col in enumerate(cols):
        base = offset + col * n_q
        for i in range(n_q):
            sim = sims[base + i]
            if sim >= 0.0:
                pairs.append((sim, i, j))
                if sim > best[i]:
                    best[i] = sim
    if floor > 0.0:
        bound = sum(w * b for w, b in zip(q.weights, best, strict=True)) / max(q.total, 1e-9)
        if bound < floor and not (n_q == len(cols) > 1 and float(
                Levenshtein.normalized_similarity(q.sorted, c.sorted))
                ** (config.similarity_power + 0.5) >= floor):
            return 0.0
    if not pairs and n_q != len(cols):
        return 0.0  # nothing aligns and the whole-string rule does not apply
    pairs.sort(reverse=True)
    free_q = [True] * n_q
    free_c = [True] * len(cols)
    used = 0
    matched = used_c_weight = 0.0
    q_weights, c_weights = q.weights, c.weights
    for sim, i, j in pairs:
        if free_q[i] and free_c[j]:
            free_q[i] = free_c[j] = False
            used += 1
            matched += q_weights[i] * sim
            used_c_weight += c_weights[j]
            if used == n_q:
                break
    return _finish(q, c, matched, free_q, used_c_weight, used, config)


def _finish(q: PreparedName, c: PreparedName, matched: float, free_q: list[bool],
            used_c_weight: float, used_q: int, config: MatcherConfig) -> float:
    """The name score from the aligned parts: missing list parts, whole-string and
    cross-script rules."""
    cross = q.translit
    n_q, n_c = len(q.parts), len(c.parts)
    power = config.similarity_power
    extra = c.total - used_c_weight
    factor = config.extra_list_part if used_q > 1 else 2 * config.extra_list_part
    total = q.total
    if cross:  # an article or particle of the original script is often not romanised
        total -= 0.5 * sum(w for w, free in zip(q.weights, free_q, strict=True)
                           if free and w <= LOW_WEIGHT)
    score = matched / (max(total, 1e-9) + factor * extra)
    if n_q == n_c > 1 and score < 1.0:
        # typos spread over short parts: whole-string similarity of the sorted parts
        whole = float(Levenshtein.normalized_similarity(q.sorted, c.sorted))
        score = max(score, whole ** (power + 0.5))
    if n_q == 1 and score < 1.0:  # one fuzzy part is weak evidence
        score *= 0.95
    if cross:
        if n_q > 1 and n_c > 1 and len(q.concat) >= 5 and len(c.concat) >= 5:
            # spacing differs across scripts: compare whole skeletons
            concat = float(Levenshtein.normalized_similarity(q.concat, c.concat))
            score = max(score, 0.92 * concat ** power)
        score += config.cross_script_offset
    return min(1.0, score)


def _dob_feature(query: BirthDate | None, listed: Sequence[BirthDate],
                 weights: dict[str, float]) -> Feature | None:
    if query is None or not listed:
        return None
    best = "mismatch"
    rank = {"mismatch": 0, "year_close": 1, "year_match": 2, "match": 3}
    for dob in listed:
        lo, hi = dob.year, dob.year_to or dob.year
        if lo <= query.year <= hi:
            if (dob.precision == "day" and query.day is not None and query.month == dob.month
                    and query.day == dob.day):
                found = "match"
            elif dob.precision in ("day", "month") and query.month is not None and (
                    query.month != dob.month):
                found = "year_close"
            else:
                found = "year_match"
        elif lo - 1 <= query.year <= hi + 1:
            found = "year_close"
        else:
            found = "mismatch"
        if rank[found] > rank[best]:
            best = found
    key = {"match": "dob_match", "year_match": "dob_year_match", "year_close": "dob_year_close",
           "mismatch": "dob_mismatch"}[best]
    return Feature("birth_date", best, weights[key])


def _norm_id(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


Block = tuple[dict[int, int], int, list[float]]
"""A query's part similarities in its batch: column of each list part id, offset, values."""


class Matcher:
    """An in-memory index over the entities of one or more lists."""

    def __init__(self, lists: Iterable[tuple[str, Sequence[Entity]]],
                 config: MatcherConfig | None = None) -> None:
        self.config = config or MatcherConfig()
        self.entities: list[Entity] = []
        self.entity_list: list[str] = []
        self.names: list[PreparedName] = []
        self.name_text: list[str] = []
        self.name_entity: list[int] = []
        self.name_kind: list[str] = []
        self.identifiers: dict[str, list[int]] = {}
        for list_id, entities in lists:
            for entity in entities:
                e_index = len(self.entities)
                self.entities.append(entity)
                self.entity_list.append(list_id)
                org = entity.schema in ORG_SCHEMAS
                for name in entity.names:
                    prepared = PreparedName(name.value, org=org)
                    if not prepared.parts:
                        continue
                    if not prepared.translit:
                        split = PreparedName(name.value, org=org, split=True)
                        if split.parts != prepared.parts:
                            prepared.compound = split
                    self.names.append(prepared)
                    self.name_text.append(name.value)
                    self.name_entity.append(e_index)
                    self.name_kind.append(name.kind)
                for ident in entity.identifiers:
                    key = _norm_id(ident.value)
                    if len(key) >= 5:
                        self.identifiers.setdefault(key, []).append(e_index)
        self.part_table = PartTable()
        self.name_parts: list[tuple[int, ...]] = [
            tuple(self.part_table.add(p, k) for p, k in zip(name.parts, name.skels, strict=True))
            for name in self.names]
        self.part_table.freeze()
        self.first_name: dict[int, int] = {}
        for n, e_index in enumerate(self.name_entity):
            self.first_name.setdefault(e_index, n)
        self._build_index()

    def _build_index(self) -> None:
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for n, name in enumerate(self.names):
            keys = _keys(name) if name.compound is None else _keys(name) | _keys(name.compound)
            # sorted: the column order (hence the order of float sums in the candidate scores,
            # hence ties at the cut-off) must not follow Python's per-process string hashing
            for key in sorted(keys):
                col = vocab.setdefault(key, len(vocab))
                rows.append(n)
                cols.append(col)
        n_names = max(1, len(self.names))
        data = np.ones(len(rows), dtype=np.float32)
        matrix = sparse.csr_matrix((data, (rows, cols)), shape=(n_names, max(1, len(vocab))))
        matrix.data[:] = 1.0  # a key counted once per name
        df = np.asarray((matrix > 0).sum(axis=0)).ravel()
        limit = max(50, int(self.config.max_key_share * n_names))
        idf = np.log1p(n_names / np.maximum(df, 1)).astype(np.float32)
        idf[df > limit] = 0.0
        self.vocab = vocab
        self.idf = idf
        self.key_name = matrix.T.tocsr()

    # -- stage 1 ---------------------------------------------------------------------------

    def _candidates(self, prepared: Sequence[PreparedName]) -> list[np.ndarray]:
        """Best ``candidates`` names per query: for each query part the best key type that
        hits a name (max over types, so one fuzzy part cannot outweigh an exact one), summed
        over the parts. Vectorised: one sparse product per key type."""
        out: list[np.ndarray] = []
        if not prepared:
            return out
        per_type: dict[str, tuple[list[int], list[int], list[float]]] = {
            t: ([], [], []) for t in KEY_TYPES}
        group_query: list[int] = []
        for r, name in enumerate(prepared):
            weights = KEY_TYPES_CROSS if name.translit else KEY_TYPES
            for group in key_groups(name):
                g = len(group_query)
                group_query.append(r)
                for key in group:
                    col = self.vocab.get(key)
                    if col is None or self.idf[col] <= 0:
                        continue
                    rows, cols, vals = per_type[key[0]]
                    rows.append(g)
                    cols.append(col)
                    vals.append(float(self.idf[col]) * weights[key[0]])
        n_groups = max(1, len(group_query))
        best: Any = None
        for key_type, (rows, cols, vals) in per_type.items():
            if not rows:
                continue
            qm = sparse.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)),
                                   shape=(n_groups, self.key_name.shape[0]))
            hit = (qm @ self.key_name).tocsr()
            if key_type in MULTI_KEY_TYPES:
                # several keys of one type for one part: their mean over the keys that hit
                count = (qm.astype(bool).astype(np.float32) @ self.key_name).tocsr()
                if hit.nnz == count.nnz:
                    hit.data = hit.data / np.maximum(count.data, 1.0)
            best = hit if best is None else best.maximum(hit)
        if best is None:
            return [np.zeros(0, dtype=np.int64) for _ in prepared]
        grouping = sparse.csr_matrix(
            (np.ones(len(group_query), dtype=np.float32),
             (np.asarray(group_query), np.arange(len(group_query)))),
            shape=(len(prepared), n_groups))
        scores = (grouping @ best).tocsr()
        for r in range(len(prepared)):
            k = self.config.candidates * (CROSS_CANDIDATES if prepared[r].translit else 1)
            start, end = scores.indptr[r], scores.indptr[r + 1]
            idx = scores.indices[start:end]
            data = scores.data[start:end]
            if len(idx) > k:
                top = np.argpartition(-data, k)[:k]
                idx, data = idx[top], data[top]
            if len(idx) and not prepared[r].translit:  # far below the best: not worth scoring
                idx = idx[data >= self.config.candidate_floor * float(data.max())]
            out.append(idx)
        return out

    # -- stage 2 ---------------------------------------------------------------------------

    def _score_entity(self, query: Query, q_name: PreparedName, e_index: int,
                      name_indices: list[int], floor: float = -1.0,
                      block: Block | None = None) -> Match | None:
        """The entity's match, or ``None`` when its name similarity is under ``floor`` (the
        caller passes the threshold less the most the other features could add). ``block``:
        the query's part similarities from the batch (see :meth:`screen`)."""
        config = self.config
        best_sim, best_name, best_kind = -1.0, name_indices[0], "primary"
        names, kinds, name_parts = self.names, self.name_kind, self.name_parts
        for n in name_indices:
            if block is None:
                sim = name_similarity(q_name, names[n], config)
            else:
                column, offset, sims = block
                sim = name_similarity_flat(q_name, names[n], [column[p] for p in name_parts[n]],
                                           sims, offset, config, floor)
            kind = kinds[n]
            if kind == "weak" and sim < 0.99:
                sim *= 0.85
            if sim > best_sim:
                best_sim, best_name, best_kind = sim, n, kind
        if best_sim < floor:
            return None
        entity = self.entities[e_index]
        features = [Feature("name", round(best_sim, 4), 1.0)]
        score = best_sim
        w = config.weights
        if best_kind == "weak":
            features.append(Feature("alias_quality", "weak", w["weak_alias"]))
            score += w["weak_alias"]
        if query.schema:
            q_org = query.schema in ORG_SCHEMAS or query.schema == "Organization"
            e_org = entity.schema in ORG_SCHEMAS
            same = (query.schema == entity.schema or (q_org and e_org)
                    or (query.schema == "LegalEntity" and entity.schema != "Vessel"))
            if not same:
                features.append(Feature("schema", "mismatch", w["schema_mismatch"]))
                score += w["schema_mismatch"]
        dob = _dob_feature(query.birth_date, entity.birth_dates, w)
        if dob is not None:
            features.append(dob)
            score += dob.weight
        if query.country:
            country = query.country.lower()
            if country in entity.nationalities or country in entity.countries:
                features.append(Feature("country", "match", w["country_match"]))
                score += w["country_match"]
            elif entity.nationalities:
                features.append(Feature("country", "mismatch", w["country_mismatch"]))
                score += w["country_mismatch"]
        for ident in query.identifiers:
            hits = self.identifiers.get(_norm_id(ident), [])
            if e_index in hits:
                features.append(Feature("identifier", "match", w["identifier_match"]))
                score = max(score, w["identifier_match"])
                break
        score = max(0.0, min(1.0, score))
        return Match(self.entity_list[e_index], entity.id, self.name_text[best_name],
                     score, features, entity)

    def screen(self, queries: Sequence[Query], threshold: float | None = None,
               batch: int = 2000) -> list[list[Match]]:
        """Matches at or above the threshold for each query, best first, in query order."""
        results: list[list[Match]] = []
        for start in range(0, len(queries), batch):
            chunk = queries[start:start + batch]
            prepared = [PreparedName(q.name, org=(q.schema in ORG_SCHEMAS) if q.schema else None)
                        for q in chunk]
            candidates = self._candidates(prepared)
            groups = [self._by_entity(query, cand)
                      for query, cand in zip(chunk, candidates, strict=True)]
            pairs = PairBatch()
            blocks: list[tuple[dict[int, int], int] | None] = []
            for q_name, by_entity in zip(prepared, groups, strict=True):
                if q_name.translit or not q_name.parts or not by_entity:
                    blocks.append(None)  # other scripts: pairwise, on skeletons
                    continue
                ids = list({p for names in by_entity.values() for n in names
                            for p in self.name_parts[n]})
                offset = pairs.add_query(q_name.parts, q_name.skels, ids)
                blocks.append(({u: k for k, u in enumerate(ids)}, offset))
            sims = pairs.similarities(self.part_table, self.config.similarity_power,
                                      self.config.min_part_similarity)
            for query, q_name, by_entity, block in zip(chunk, prepared, groups, blocks,
                                                       strict=True):
                results.append(self._score_query(query, q_name, by_entity, threshold,
                                                 None if block is None else (*block, sims)))
        return results

    def _by_entity(self, query: Query, cand: np.ndarray) -> dict[int, list[int]]:
        """Candidate names by entity, with the entities of a matching identifier."""
        by_entity: dict[int, list[int]] = {}
        for n in cand.tolist():
            by_entity.setdefault(self.name_entity[n], []).append(n)
        for ident in query.identifiers:
            for e_index in self.identifiers.get(_norm_id(ident), []):
                by_entity.setdefault(e_index, [self.first_name[e_index]])
        return by_entity

    def _score_query(self, query: Query, q_name: PreparedName, by_entity: dict[int, list[int]],
                     threshold: float | None, block: Block | None) -> list[Match]:
        matches = []
        if query.identifiers:  # an identifier match can lift any name to 0.95
            bonus = 1.0
        else:
            w = self.config.weights
            bonus = (max(0.0, w["dob_match"], w["dob_year_match"], w["dob_year_close"])
                     if query.birth_date is not None else 0.0)
            bonus += max(0.0, w["country_match"]) if query.country else 0.0
        for e_index, names in by_entity.items():
            list_id = self.entity_list[e_index]
            limit = threshold if threshold is not None else self.config.threshold_for(list_id)
            match = self._score_entity(query, q_name, e_index, names, limit - bonus - 1e-9,
                                       block)
            if match is not None and match.score >= limit:
                matches.append(match)
        matches.sort(key=lambda m: (-m.score, m.list_id, m.entity_id))
        return matches


def idf_summary(matcher: Matcher) -> dict[str, float]:
    """Index figures for the CLI and the bench."""
    return {"entities": len(matcher.entities), "names": len(matcher.names),
            "keys": len(matcher.vocab),
            "unused_keys": float(np.sum(matcher.idf == 0)),
            "log_names": math.log10(max(1, len(matcher.names)))}
