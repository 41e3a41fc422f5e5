"""Stable cluster ids across runs: the rules, as a pure function.

Given the previous assignment (person -> cluster id, with each cluster's creation order) and
this run's components (sets of persons), :func:`reassign` decides every person's cluster id:

* a previous cluster whose persons now fall into several components is **split**: the part
  holding most of its persons keeps the id (ties: the part whose smallest person id is
  smallest), the other parts get other ids;
* a component claimed by several previous clusters is a **merge**: the oldest id survives
  (creation order, then id), the others are retired;
* a component no previous cluster claims gets a new id;
* so a cluster whose persons are unchanged keeps its id, whatever happens elsewhere.

Example: before ``{a, b} -> K1`` (older), ``{c} -> K2``, ``{d, e} -> K3``; now components
``{a, b, c}`` and ``{d}``, ``{e}`` give ``a, b, c -> K1`` (merge, K2 retired), ``d -> K3``
and ``e`` a new id (split of K3; ``d`` wins the tie on the smaller person id).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Reassignment:
    """``cluster``: person -> cluster id; events as ``(kind, kept id, other id, persons)``;
    ``created``: new ids; ``retired``: ids that no longer have persons."""

    cluster: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str, str, str, int]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)


def reassign(components: Sequence[Sequence[str]], previous: Mapping[str, str],
             age: Mapping[str, tuple[object, str]], new_id: Callable[[], str]) -> Reassignment:
    """Cluster ids for ``components`` (see module docstring).

    ``previous``: person -> previous cluster id; ``age``: cluster id -> sort key (oldest
    first), e.g. ``(created_at, id)``; ``new_id``: issues fresh ids.
    """
    comps = [sorted(c) for c in components]
    comps.sort(key=lambda c: c[0])
    comp_of = {p: i for i, c in enumerate(comps) for p in c}
    members: dict[str, list[str]] = {}
    for person, cid in previous.items():
        if person in comp_of:
            members.setdefault(cid, []).append(person)
    claims: dict[int, list[str]] = {}
    split_from: dict[int, str] = {}
    for cid in sorted(members):
        counts = Counter(comp_of[p] for p in members[cid])
        winner = min(counts, key=lambda i: (-counts[i], comps[i][0]))
        claims.setdefault(winner, []).append(cid)
        for i in counts:
            if i != winner:
                split_from.setdefault(i, cid)
    out = Reassignment()
    for i, comp in enumerate(comps):
        owners = sorted(claims.get(i, []), key=lambda c: age[c])
        if owners:
            keep = owners[0]
            for other in owners[1:]:
                out.events.append(("merge", keep, other, len(members[other])))
                out.retired.append(other)
        else:
            keep = new_id()
            out.created.append(keep)
            if i in split_from:
                out.events.append(("split", split_from[i], keep, len(comp)))
        for p in comp:
            out.cluster[p] = keep
    gone = set(previous.values()) - set(members)
    out.retired.extend(sorted(gone))
    return out
