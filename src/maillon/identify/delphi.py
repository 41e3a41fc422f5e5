"""The combination rules: the Delphi counting rule and determination, and ``any_indicator``.

Delphi (ILO/EC 2009, as documented in REFERENCE.md section 3.2). A dimension is *positive* when
the indicators present in it include

* (a) at least 2 strong, or
* (b) 1 strong and at least 1 medium or weak, or
* (c) at least 3 medium, or
* (d) 2 medium and at least 1 weak.

Adult: (deceptive OR coercive recruitment OR recruitment by abuse of vulnerability) AND
exploitative conditions AND (coercion at destination OR abuse of vulnerability at destination).
Child (Palermo Art. 3(c)): the means are not required; the act (recruitment, transport,
transfer, harbouring or receipt, asked as its own question, or any positive recruitment
dimension) plus positive exploitative conditions is enough; positive means dimensions add weight.

The result is a *recommendation* for a screener, never a legal determination.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from maillon.identify.frameworks import Framework

REFER = "refer_as_presumed_victim"
NO_REFER = "not_enough_indicators"
ASSESS = "assess_further"
DISCLAIMER = ("This is a screening recommendation based on indicators, not a legal determination "
              "of victim status; the competent authority decides.")


@dataclass(frozen=True)
class GradeCounts:
    strong: int = 0
    medium: int = 0
    weak: int = 0


def dimension_rule(c: GradeCounts) -> str | None:
    """Which clause of the counting rule makes the dimension positive, or ``None``."""
    if c.strong >= 2:
        return "a: 2 or more strong indicators"
    if c.strong == 1 and c.medium + c.weak >= 1:
        return "b: 1 strong and 1 medium or weak indicator"
    if c.medium >= 3:
        return "c: 3 or more medium indicators"
    if c.medium == 2 and c.weak >= 1:
        return "d: 2 medium and 1 weak indicator"
    return None


def is_positive(c: GradeCounts) -> bool:
    return dimension_rule(c) is not None


@dataclass(frozen=True)
class DimensionResult:
    code: str
    title: str
    group: str
    counts: GradeCounts
    present: tuple[str, ...]
    positive: bool
    reason: str


@dataclass(frozen=True)
class Recommendation:
    framework_id: str
    framework_version: str
    path: str  # adult | child | any
    recommendation: str
    dimensions: tuple[DimensionResult, ...]
    explanation: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    disclaimer: str = DISCLAIMER

    @property
    def refer(self) -> bool:
        return self.recommendation == REFER

    def as_dict(self) -> dict[str, Any]:
        return {
            "framework_id": self.framework_id, "framework_version": self.framework_version,
            "path": self.path, "recommendation": self.recommendation,
            "dimensions": [
                {"code": d.code, "title": d.title, "group": d.group, "positive": d.positive,
                 "reason": d.reason, "present": list(d.present),
                 "counts": {"strong": d.counts.strong, "medium": d.counts.medium,
                            "weak": d.counts.weak}}
                for d in self.dimensions
            ],
            "explanation": list(self.explanation), "notes": list(self.notes),
            "disclaimer": self.disclaimer,
        }


def determine(positive: Mapping[str, bool], groups: Mapping[str, str], *, child: bool,
              act: bool = False, titles: Mapping[str, str] | None = None
              ) -> tuple[bool, list[str]]:
    """The Delphi determination from positive dimensions (code -> positive, code -> group);
    the explanation names dimensions by ``titles`` when given."""
    names = titles or {}
    rec = [names.get(c, c) for c, g in groups.items() if g == "recruitment" and positive.get(c)]
    exp = [names.get(c, c) for c, g in groups.items()
           if g == "exploitation" and positive.get(c)]
    means = [names.get(c, c) for c, g in groups.items() if g == "means" and positive.get(c)]
    why: list[str] = []
    if child:
        has_act = act or bool(rec)
        why.append("child path: the means are not required (Palermo Protocol art. 3(c))")
        why.append("act (recruitment, transport, transfer, harbouring or receipt): "
                   + ("yes" + (f" ({', '.join(rec)})" if rec else " (stated)") if has_act
                      else "no"))
        why.append("exploitation: " + (", ".join(exp) if exp else "no positive dimension"))
        if means:
            why.append("means present, adding weight: " + ", ".join(means))
        return has_act and bool(exp), why
    why.append("recruitment: " + (", ".join(rec) if rec else "no positive dimension"))
    why.append("exploitation: " + (", ".join(exp) if exp else "no positive dimension"))
    why.append("coercion or abuse of vulnerability at destination: "
               + (", ".join(means) if means else "no positive dimension"))
    return bool(rec) and bool(exp) and bool(means), why


def evaluate(fw: Framework, present: Iterable[str], *, child: bool = False,
             act: bool = False) -> Recommendation:
    """The explained recommendation for the indicators ``present`` under framework ``fw``."""
    chosen = set(present)
    unknown = chosen - set(fw.indicator_codes)
    if unknown:
        raise ValueError(f"indicators not in {fw.id}: {sorted(unknown)}")
    dims: list[DimensionResult] = []
    for d in fw.dimensions:
        here = tuple(i.code for i in d.indicators if i.code in chosen)
        grades = [i.grade for i in d.indicators if i.code in chosen]
        counts = GradeCounts(grades.count("strong"), grades.count("medium"), grades.count("weak"))
        if fw.rule == "delphi":
            clause = dimension_rule(counts)
            reason = (f"positive by rule {clause}" if clause else
                      f"not positive ({counts.strong} strong, {counts.medium} medium, "
                      f"{counts.weak} weak)")
            pos = clause is not None
        else:
            pos = bool(here)
            reason = f"{len(here)} indicator(s) present" if here else "no indicator present"
        dims.append(DimensionResult(d.code, d.title, d.group, counts, here, pos, reason))
    notes: list[str] = []
    if fw.rule == "delphi":
        path = "child" if child else "adult"
        if fw.population not in ("any", path):
            notes.append(f"the {fw.population} list was used with the {path} rule")
        ok, why = determine({d.code: d.positive for d in dims},
                            {d.code: d.group for d in dims}, child=child, act=act,
                            titles={d.code: d.title for d in dims})
        recommendation = REFER if ok else NO_REFER
        why.append("recommendation: " + ("refer as presumed victim" if ok
                                         else "the combination rule is not met"))
        if not ok and chosen:
            notes.append("indicators are present: consider further assessment")
    else:
        path = "any"
        n = len(chosen)
        recommendation = ASSESS if n else NO_REFER
        why = [f"{n} indicator(s) present; this framework has no numeric rule",
               "one indicator may suffice in some situations; several taken together point "
               "more strongly: refer for assessment by a trained person" if n else
               "no indicator present"]
    return Recommendation(fw.id, fw.version, path, recommendation, tuple(dims), tuple(why),
                          tuple(notes))
