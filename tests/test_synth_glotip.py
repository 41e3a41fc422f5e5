"""The generator's distributions match what they claim to be derived from (real GLOTIP file)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
import yaml

from maillon.collect.synth import write_single_file

pytestmark = pytest.mark.shared
PROFILE = Path(__file__).resolve().parent.parent / "src/maillon/collect/synth_profile.yaml"
AGE = {"0 to 17 years": "child", "18 years or over": "adult"}
GROUP = {("Female", "child"): "girls", ("Female", "adult"): "women",
         ("Male", "child"): "boys", ("Male", "adult"): "men"}


def _count(text: str) -> float:
    return 2.0 if text.strip() == "<5" else float(text.replace(",", ""))


@pytest.fixture(scope="module")
def glotip_sex_age(shared: Path) -> dict[str, float]:
    from openpyxl import load_workbook

    book = load_workbook(shared / "reference/glotip/data_glotip.xlsx", read_only=True)
    rows = book["data_glotip_1"].iter_rows(values_only=True)
    header = list(next(rows))
    at = {name: header.index(name) for name in header}
    totals: Counter[str] = Counter()
    for r in rows:
        if (r[at["Indicator"]] == "Detected trafficking victims" and r[at["Dimension"]] == "Total"
                and r[at["Category"]] == "Total" and r[at["Iso3_code"]] and r[at["Region"]]
                and 2017 <= int(r[at["Year"]]) <= 2021):
            group = GROUP.get((r[at["Sex"]], AGE.get(r[at["Age"]], "")))
            if group:
                totals[group] += _count(str(r[at["txtVALUE"]]))
    book.close()
    pooled = sum(totals.values())
    return {g: n / pooled for g, n in totals.items()}


def test_profile_shares_are_the_glotip_shares(glotip_sex_age: dict[str, float]) -> None:
    shipped = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))["glotip"]["sex_age"]
    for group, share in glotip_sex_age.items():
        assert shipped[group] == pytest.approx(share, abs=0.005), group


def test_generated_victims_follow_glotip_sex_shares(
    glotip_sex_age: dict[str, float], tmp_path: Path
) -> None:
    path = tmp_path / "cases.csv"
    write_single_file(path=path, n_records=20_000, seed=3)
    with path.open(encoding="utf-8", newline="") as fh:
        genders = Counter(r["prs_Gender"] for r in csv.DictReader(fh)
                          if r["prs_Role"] == "Victim" and r["prs_Gender"] in
                          ("Feminine", "Masculine"))
    female = genders["Feminine"] / (genders["Feminine"] + genders["Masculine"])
    expected = glotip_sex_age["girls"] + glotip_sex_age["women"]
    assert female == pytest.approx(expected, abs=0.05)
