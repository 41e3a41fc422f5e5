"""Tests of the code lists (maillon.vocab): data integrity, resolution, standards conformance."""

from __future__ import annotations

import csv
import os
import string
from pathlib import Path

import pytest

from maillon import vocab
from maillon.vocab import normalise

REQUIRED = {
    # HTCDS picklists
    "gender", "marital_status", "education_level", "trafficking_status",
    "trafficking_status_decision_org", "relationship_to_trafficker", "recruitment_method",
    "recruitment_website", "methods_of_control", "exploitation_type", "labour_industry",
    "sexual_exploitation_type", "perpetrator_role", "case_status", "referral_reason",
    "support_plan_type", "organisation_type", "event_type", "vulnerability", "migration_status",
    # Maillon's own
    "person_role", "perpetrator_entity_type", "consent_scope",
    # CTDC codebook
    "ctdc_gender", "ctdc_age_band", "ctdc_duration_band", "ctdc_means", "ctdc_exploitation",
    "ctdc_labour_sector", "ctdc_sex_type", "ctdc_recruiter_relation",
}  # fmt: skip

ALL = vocab.names()

# HTCDS field (Field Name including Prefix) -> our list name.
HTCDS_FIELDS = {
    "org_Type": "organisation_type",
    "prs_Gender": "gender",
    "prs_MaritalStatus": "marital_status",
    "prs_HighestLevelOfEducation": "education_level",
    "vic_TraffickingStatus": "trafficking_status",
    "vic_TraffickingStatusDecisionMakingOrg": "trafficking_status_decision_org",
    "vic_RelationshipToTrafficker": "relationship_to_trafficker",
    "vic_RecruitmentWebsitesAndApps": "recruitment_website",
    "vic_ExploitationWebsitesAndApps": "recruitment_website",
    "vic_MethodOfRecruitment": "recruitment_method",
    "vic_MethodsOfControl": "methods_of_control",
    "vic_TypeOfExploitation": "exploitation_type",
    "vic_ForcedLabourIndustry": "labour_industry",
    "vic_TypeOfSexExploitation": "sexual_exploitation_type",
    "vic_Vulnerabilities": "vulnerability",
    "per_RoleInProcess": "perpetrator_role",
    "cas_Status": "case_status",
    "cas_ReasonForIncomingReferral": "referral_reason",
    "cas_ReasonForOutgoingReferral": "referral_reason",
    "hte_Type": "event_type",
    "spl_Type": "support_plan_type",
}

# The 17 MethodsOfControl* flags of the HTCDS Field Definitions.
MOC_FLAGS = [
    "DebtBondage", "TakesEarnings", "RestrictsFinancialAccess", "Threats", "PsychologicalAbuse",
    "PhysicalAbuse", "SexualAbuse", "FalsePromises", "PsychoactiveSubstances",
    "RestrictsMovement", "RestrictsMedicalCare", "ExcessiveWorkingHours", "UsesChildren",
    "ThreatOfLawEnforcement", "WithholdsNecessities", "WithholdsDocuments", "Other",
]  # fmt: skip


# -- general integrity -----------------------------------------------------------------------


def test_required_lists_present() -> None:
    assert REQUIRED <= set(ALL), sorted(REQUIRED - set(ALL))
    assert ALL == sorted(ALL)


@pytest.mark.parametrize("name", ALL)
def test_list_loads_with_metadata(name: str) -> None:
    v = vocab.get(name)
    assert v.name == name
    assert v.title.strip() and v.source.strip() and v.version.strip()
    assert len(v.codes) > 0
    assert vocab.get(name) is v  # cached


@pytest.mark.parametrize("name", ALL)
def test_codes_unique(name: str) -> None:
    codes = vocab.codes(name)
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("name", ALL)
def test_every_code_label_alias_resolves_to_its_own_code(name: str) -> None:
    v = vocab.get(name)
    owner: dict[str, str] = {}
    for c in v.codes:
        for text in (c.code, c.label, *c.aliases):
            key = normalise(text)
            assert owner.setdefault(key, c.code) == c.code, (text, owner[key], c.code)
            assert v.resolve(text) == c.code
            assert v.resolve(text.upper()) == c.code
            assert v.resolve(f"  {text.lower()}. ") == c.code
        assert c.code in v
        assert v.label(c.code) == c.label


@pytest.mark.parametrize("name", ALL)
def test_parents_and_bands_are_consistent(name: str) -> None:
    v = vocab.get(name)
    for c in v.codes:
        if c.parent is not None:
            assert c.parent in v
            assert c.code in v.children(c.parent)
        if c.min is not None and c.max is not None:
            assert c.min <= c.max


@pytest.mark.parametrize("name", ALL)
def test_crosswalk_targets_exist(name: str) -> None:
    v = vocab.get(name)
    for system, target_list in v.crosswalks.items():
        target = vocab.get(target_list)
        for c in v.codes:
            for t in c.maps_to.get(system, ()):
                assert t in target, f"{name}:{c.code} maps_to.{system} {t!r} not in {target_list}"


@pytest.mark.parametrize(
    ("ctdc_list", "htcds_list"),
    [
        ("ctdc_means", "methods_of_control"),
        ("ctdc_exploitation", "exploitation_type"),
        ("ctdc_gender", "gender"),
    ],
)
def test_crosswalks_agree_both_ways(ctdc_list: str, htcds_list: str) -> None:
    ctdc, htcds = vocab.get(ctdc_list), vocab.get(htcds_list)
    for c in ctdc.codes:
        if c.deprecated:
            continue
        for h in c.maps_to.get("htcds", ()):
            assert htcds.map_to(h, "ctdc") == (c.code,), (c.code, h)
    for h in htcds.codes:
        for c_code in h.maps_to.get("ctdc", ()):
            assert h.code in ctdc.map_to(c_code, "htcds"), (h.code, c_code)


def test_unknown_list_and_code() -> None:
    with pytest.raises(KeyError, match="no_such_list"):
        vocab.get("no_such_list")
    with pytest.raises(KeyError, match="gender"):
        vocab.get("gender").label("Nope")
    assert vocab.get("gender").resolve("definitely not a gender") is None
    assert vocab.get("gender").resolve("") is None
    assert "Nope" not in vocab.get("gender")


# -- specific lists --------------------------------------------------------------------------


def test_methods_of_control_has_16_codes_and_all_17_flags_resolve() -> None:
    moc = vocab.get("methods_of_control")
    assert len(moc.codes) == 16 and moc.multi
    for flag in MOC_FLAGS:
        for text in (flag, f"MethodsOfControl{flag}", f"meansOfControl{flag}"):
            assert moc.resolve(text) in moc, text
    assert moc.resolve("UsesChildren") == "ThreatensChildrenFamily"
    assert moc.resolve("ThreatOfLawEnforcement") == "ThreatsLawEnforcement"
    assert moc.resolve("Psychoactive substances") == "PsychoactiveSubstance"
    assert moc.resolve("RestrictsMovement") == "Other"
    flagged = [f for c in moc.codes for f in c.maps_to["htcds_flag"]]
    assert sorted(flagged) == sorted(MOC_FLAGS)


def test_ctdc_means_cover_every_picklist_code() -> None:
    covered = {h for c in vocab.get("ctdc_means").codes for h in c.maps_to.get("htcds", ())}
    assert covered == set(vocab.codes("methods_of_control"))
    means = vocab.get("ctdc_means")
    assert means.resolve("meansWithholdDocuments") == "meansWithholdDocs"
    assert means.resolve("meansOfControlRestrictsMovement") == "meansDenyBasicNeeds"


def test_exploitation_types() -> None:
    assert len(vocab.codes("exploitation_type")) == 11
    ex = vocab.get("ctdc_exploitation")
    assert ex.map_to("isSexualExploit", "htcds") == ("SexualExploitation",)


def test_labour_industry_tiers() -> None:
    li = vocab.get("labour_industry")
    top = li.children(None)
    assert [c[0] for c in top] == list(string.ascii_uppercase[:21])  # ISIC sections A..U
    assert all(c[1] == "_" for c in top)
    assert li.resolve("ISIC F") == "F_Construction"
    tier2 = li.children("A_AgricultureForestryAndFishing")
    assert "A_CropAndAnimalProduction" in tier2
    assert "A_MarineFishingOrAquaculture" in li.children("A_FishingAndAquaculture")
    assert li.resolve("Marine fishing or acquaculture") == "A_MarineFishingOrAquaculture"
    ctdc = vocab.get("ctdc_labour_sector")
    assert ctdc.resolve("sectorOfLabourDomesticWork") == "typeOfLabourDomesticWork"
    assert ctdc.map_to("typeOfLabourAgriculture", "htcds") == ("A_CropAndAnimalProduction",)


def test_relationship_spelling() -> None:
    rel = vocab.get("relationship_to_trafficker")
    assert "Unaquainted" in rel
    assert rel.resolve("Unacquainted") == "Unaquainted"


def test_ctdc_bands() -> None:
    age = vocab.get("ctdc_age_band")
    assert vocab.codes("ctdc_age_band")[0] == "0--8"
    assert age.resolve("09--17") == "9--17"
    assert age.resolve("0—8") == "0--8"
    assert (age.code("9--17").min, age.code("9--17").max) == (9, 17)
    assert (age.code("48+").min, age.code("48+").max) == (48, None)
    dur = vocab.get("ctdc_duration_band")
    assert dur.resolve("13--24 (1-2 yrs)") == "13--24"
    assert dur.code("25+").min == 25
    bands = [(c.min, c.max) for c in age.codes]
    for (_, hi), (lo, _) in zip(bands, bands[1:], strict=False):
        assert hi is not None and lo == hi + 1


def test_deprecated_and_sources() -> None:
    assert vocab.get("vulnerability").deprecated
    assert not vocab.get("gender").deprecated
    for name in ("person_role", "perpetrator_entity_type", "consent_scope"):
        assert vocab.get(name).source == "Maillon"
    assert vocab.codes("event_type") == ("Recruitment", "Transit", "Exploitation")


# -- countries -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FR", "FR"),
        ("fr", "FR"),
        ("FRA", "FR"),
        ("250", "FR"),
        ("France", "FR"),
        ("french republic", "FR"),
        ("4", "AF"),
        ("XK", "XK"),
        ("XKX", "XK"),
        ("Kosovo", "XK"),
        ("Côte d'Ivoire", "CI"),
        ("Russia", "RU"),
        ("Atlantis", None),
        ("ZZ", None),
        ("", None),
        ("9999", None),
    ],
)
def test_country(text: str, expected: str | None) -> None:
    assert vocab.country(text) == expected


def test_country_helpers() -> None:
    assert vocab.country_alpha3("FR") == "FRA"
    assert vocab.country_alpha3("XK") == "XKX"
    assert vocab.country_name("FR") == "France"
    assert vocab.country_name("XK") == "Kosovo"
    assert vocab.country_name("ZZ") is None
    pairs = vocab.countries()
    assert ("XK", "Kosovo") in pairs and len(pairs) >= 250
    assert len({a2 for a2, _ in pairs}) == len(pairs)


# -- conformance with the HTCDS field standard (real file from the shared folder) -------------


def _shared_dir() -> Path:
    env = os.environ.get("MAILLON_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"


def _htcds_csv() -> Path:
    path = _shared_dir() / "reference" / "htcds" / "field-standards-2.0.csv"
    if not path.is_file():
        reason = f"HTCDS field standard not found at {path} (set MAILLON_SHARED)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _htcds_rows() -> dict[str, dict[str, str]]:
    with _htcds_csv().open(encoding="utf-8", newline="") as fh:
        return {r["Field Name including Prefix"]: r for r in csv.DictReader(fh)}


def _cell(value: str) -> list[str]:
    return [v.strip() for v in value.split("\n") if v.strip()]


@pytest.mark.shared
@pytest.mark.parametrize("field", sorted(HTCDS_FIELDS))
def test_htcds_picklist_matches_standard(field: str) -> None:
    row = _htcds_rows()[field]
    v = vocab.get(HTCDS_FIELDS[field])
    names = _cell(row["Value Names (if picklist)"])
    labels = _cell(row["Value Labels (if picklist)"])
    top = [v.code(c) for c in v.children(None)]  # tier 1 only for hierarchical lists
    assert [c.code for c in top] == names
    assert [c.label for c in top] == labels
    assert v.multi == row["Field Type"].startswith("Multiselect")
    assert v.deprecated == (row["Status"] == "DEPRECATED")
    assert field in v.source or field in (v.notes or "")
