"""The Delphi counting rule, the adult/child determination and the framework files."""

from __future__ import annotations

from pathlib import Path

import pytest

from maillon.core.errors import ConfigurationError
from maillon.identify.delphi import (
    ASSESS,
    NO_REFER,
    REFER,
    GradeCounts,
    determine,
    dimension_rule,
    evaluate,
    is_positive,
)
from maillon.identify.frameworks import builtin_frameworks, get_framework, parse_framework


@pytest.mark.parametrize(("strong", "medium", "weak", "clause"), [
    (2, 0, 0, "a"), (3, 1, 0, "a"),
    (1, 1, 0, "b"), (1, 0, 1, "b"),
    (0, 3, 0, "c"), (0, 4, 2, "c"),
    (0, 2, 1, "d"), (0, 2, 3, "d"),
])
def test_positive_combinations(strong: int, medium: int, weak: int, clause: str) -> None:
    result = dimension_rule(GradeCounts(strong, medium, weak))
    assert result is not None and result.startswith(clause)


@pytest.mark.parametrize(("strong", "medium", "weak"), [
    (0, 0, 0), (1, 0, 0), (0, 2, 0), (0, 1, 1), (0, 1, 5), (0, 0, 9), (0, 2, 0),
])
def test_negative_combinations(strong: int, medium: int, weak: int) -> None:
    assert not is_positive(GradeCounts(strong, medium, weak))


def test_every_small_combination_matches_the_rule() -> None:
    for s in range(4):
        for m in range(5):
            for w in range(4):
                expected = s >= 2 or (s == 1 and m + w >= 1) or m >= 3 or (m == 2 and w >= 1)
                assert is_positive(GradeCounts(s, m, w)) is expected, (s, m, w)


GROUPS = {"dr": "recruitment", "cr": "recruitment", "ex": "exploitation", "cd": "means",
          "vd": "means"}


@pytest.mark.parametrize(("positive", "expected"), [
    ({"dr", "ex", "cd"}, True),
    ({"cr", "ex", "vd"}, True),
    ({"dr", "ex"}, False),           # no means at destination
    ({"ex", "cd"}, False),           # no recruitment
    ({"dr", "cd", "vd"}, False),     # no exploitation
    (set(), False),
])
def test_adult_determination(positive: set[str], expected: bool) -> None:
    ok, why = determine({c: c in positive for c in GROUPS}, GROUPS, child=False)
    assert ok is expected
    assert any(line.startswith("recruitment") for line in why)


@pytest.mark.parametrize(("positive", "act", "expected"), [
    ({"ex"}, True, True),            # means not required for a child
    ({"dr", "ex"}, False, True),     # a positive recruitment dimension is the act
    ({"ex"}, False, False),          # no act
    ({"dr", "cd"}, True, False),     # no exploitation
])
def test_child_determination(positive: set[str], act: bool, expected: bool) -> None:
    ok, why = determine({c: c in positive for c in GROUPS}, GROUPS, child=True, act=act)
    assert ok is expected
    assert "means are not required" in why[0]


ADULT_VICTIM = ["dr_nature_job", "dr_wages", "ex_hours", "ex_salary", "cd_documents",
                "cd_debt"]


def test_evaluate_adult_labour_refers_and_explains() -> None:
    fw = get_framework("delphi_adult_labour")
    rec = evaluate(fw, ADULT_VICTIM)
    assert rec.recommendation == REFER and rec.refer
    positive = {d.code: d.reason for d in rec.dimensions if d.positive}
    assert set(positive) == {"deceptive_recruitment", "exploitative_conditions",
                             "coercion_destination"}
    assert positive["coercion_destination"].startswith("positive by rule a")
    assert "not a legal determination" in rec.disclaimer
    assert rec.as_dict()["framework_version"] == fw.version


def test_evaluate_adult_without_means_does_not_refer_but_child_does() -> None:
    fw = get_framework("delphi_adult_labour")
    present = ["ex_hours", "ex_salary"]
    assert evaluate(fw, present).recommendation == NO_REFER
    child = evaluate(fw, present, child=True, act=True)
    assert child.recommendation == REFER and child.path == "child"
    assert any("adult list" in n for n in child.notes)


def test_evaluate_refuses_unknown_indicator() -> None:
    with pytest.raises(ValueError):
        evaluate(get_framework("delphi_adult_labour"), ["made_up"])


def test_ilo_any_indicator_rule() -> None:
    fw = get_framework("ilo_forced_labour")
    assert len(fw.indicator_codes) == 11
    assert evaluate(fw, ["ilo_debt"]).recommendation == ASSESS
    assert evaluate(fw, []).recommendation == NO_REFER


def test_frameworks_are_versioned_and_incomplete_ones_say_so() -> None:
    fws = builtin_frameworks()
    assert {"delphi_adult_labour", "delphi_adult_sexual", "delphi_child_labour",
            "delphi_child_sexual", "ilo_forced_labour", "unodc"} <= set(fws)
    for fw in fws.values():
        assert fw.version and fw.source
        assert len(fw.dimensions) >= 1
        if not fw.complete:
            assert fw.to_complete == "to be completed from the ILO/UNODC publication"
            assert fw.indicator_codes == ()
    adult = fws["delphi_adult_labour"]
    assert [d.group for d in adult.dimensions] == ["recruitment"] * 3 + [
        "exploitation", "means", "means"]


def test_bad_framework_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("id: x\ntitle: x\nversion: '1'\nsource: s\nrule: delphi\ndimensions:\n"
                    "  - {code: a, group: recruitment, title: A, indicators:\n"
                    "     [{code: i, grade: huge, label: I}]}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="grade"):
        parse_framework(path)
