"""Synthetic case generator (maillon.collect.synth)."""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from maillon.collect.synth import (
    COLUMNS,
    iter_records,
    load_profile,
    write_dataset,
    write_single_file,
)
from maillon.collect.synth_names import strip_diacritics, transliterate, typo

EXPECTED_COLUMNS = (
    "record_id,case_id,org_Name,prs_Role,prs_FirstName,prs_MiddleName,prs_SecondName,"
    "prs_Birthdate,prs_Gender,prs_Citizenship,prs_IdentityNumber,prs_Email,prs_MobilePhone,"
    "prs_MaritalStatus,prs_PrimaryLanguage,vic_TraffickingStatus,"
    "vic_TraffickingStatusDecisionMakingOrg,vic_RelationshipToTrafficker,vic_AgeWhenTrafficked,"
    "vic_MethodOfRecruitment,vic_RecruitmentWebsitesAndApps,vic_MethodsOfControl,"
    "vic_TypeOfExploitation,vic_ForcedLabourIndustry,vic_TypeOfSexExploitation,"
    "per_RoleInProcess,per_EntityType,per_AgeAtOffence,cas_Status,cas_RegistrationDate,"
    "cas_ReasonForCaseClosure,hte_RecruitmentCountry,hte_RecruitmentState,hte_RecruitmentCity,"
    "hte_RecruitmentDate,hte_TransitCountry,hte_TransitCity,hte_TransitDate,"
    "hte_ExploitationCountry,hte_ExploitationState,hte_ExploitationCity,"
    "hte_ExploitationDateFrom,hte_ExploitationDateTo,cas_ReferringOrganisation,"
    "cas_IncomingReferralDate,cas_ReasonForIncomingReferral,cas_ReferredOrganisation,"
    "cas_OutgoingReferralDate,cas_ReasonForOutgoingReferral,spl_Type,con_Consent,con_ConsentDate"
).split(",")

REASONS = {"AdditionalServicesRequired", "MigrationOrChangeOfLocation", "Other"}
# HTCDS v2.0 value names, written out independently of the generator's own tables.
ALLOWED: dict[str, set[str]] = {
    "prs_Role": {"Victim", "Perpetrator", "Witness"},
    "prs_Gender": {"Feminine", "Masculine", "TransgenderFeminine", "TransgenderMasculine",
                   "NonConforming", "NonSpecifiedUnknown"},
    "prs_MaritalStatus": {"Single", "Married", "Widowed", "Divorced", "Separated",
                          "RegisteredPartnership"},
    "vic_TraffickingStatus": {"PossibleVictimOfTrafficking", "ActualVictimOfTrafficking",
                              "NotAVictimOfTrafficking"},
    "vic_TraffickingStatusDecisionMakingOrg": {"Police", "NGO", "CourtOrProsecution",
                                               "NonPoliceGovernmentalOrganization", "Other"},
    "vic_RelationshipToTrafficker": {"Familial", "Acquainted", "Unaquainted"},
    "vic_MethodOfRecruitment": {
        "AtAPlaceOfBusiness", "AtAnEducationalInstitution", "AtWork",
        "ThroughOnlineSocialNetworks", "ThroughAnOnlineAdvertisement",
        "ThroughATelevisionAdvert", "ThroughANewspaperAdvert", "ThroughFamilyOrFamilyEvents",
        "ThroughFriendsOrSocialEvents", "Other"},
    "vic_RecruitmentWebsitesAndApps": {
        "Facebook", "Instagram", "WhatsApp", "Telegram", "FacebookMessenger", "Viber",
        "SnapChat", "Line", "4Sale", "WeChat", "QQ", "QZone", "TikTok", "Twitter", "Other"},
    "vic_MethodsOfControl": {
        "PhysicalThreats", "ThreatsLawEnforcement", "ThreatensChildrenFamily", "DebtBondage",
        "FalsePromises", "PhysicalAbuse", "SexualAbuse", "TakesEarnings",
        "RestrictsFinancialAccess", "RestrictsMedicalCare", "WithholdsNecessities",
        "PsychologicalAbuse", "PsychoactiveSubstance", "ExcessiveWorkingHours",
        "WithholdsDocuments", "Other"},
    "vic_TypeOfExploitation": {
        "ForcedLabour", "SexualExploitation", "ChildLabour", "ForcedMarriage", "Servitude",
        "ForcedMilitaryByNonStateActors", "OrganRemoval", "ForcedBegging", "ForcedAdoption",
        "Surrogacy", "Other"},
    "vic_ForcedLabourIndustry": {
        "A_AgricultureForestryAndFishing", "B_MiningAndQuarrying", "C_Manufacturing",
        "D_ElectricityGasSteamAndAirConditioningSupply", "E_WaterSupplySewerageWasteManagement",
        "F_Construction", "G_WholesaleAndRetailTradeRepairOfMotorVehicles",
        "H_TransportationAndStorage", "I_AccommodationAndFoodServiceActivities",
        "J_InformationAndCommunication", "K_FinancialAndInsuranceActivities",
        "L_RealEstateActivities", "M_ProfessionalScientificAndTechnicalActivities",
        "N_AdministrativeAndSupportServiceActivities", "O_PublicAdministrationAndDefence",
        "P_Education", "Q_HumanHealthAndSocialWorkActivities",
        "R_ArtsEntertainmentAndRecreation", "S_OtherServiceActivities",
        "T_ActivitiesOfHouseholdsAsEmployers", "U_ActivitiesOfExtraterritorialOrganizations"},
    "vic_TypeOfSexExploitation": {"Prostitution", "Pornography", "RemoteInteractiveServices",
                                  "PrivateSexualServices"},
    "per_RoleInProcess": {
        "TravellingPartner", "Transporter", "RecruiterOrIntermediary", "BrokerTravelAgent",
        "TransferredIndividual", "HarbouredIndividual", "SoldIndividual", "BoughtIndividual",
        "ReceivedIndividual", "ControlledIndividual", "Smuggler", "Abuser", "Kidnapper",
        "Exploiter", "Other"},
    "per_EntityType": {"Individual", "Business"},
    "cas_Status": {"Active", "FollowUp", "Closed", "ClosedReferred"},
    "cas_ReasonForIncomingReferral": REASONS,
    "cas_ReasonForOutgoingReferral": REASONS,
    "spl_Type": {"Education", "Financial", "Health", "LabourExploitationRehabilitation", "Legal",
                 "Livelihood", "RightsBasedTraining", "SexualExploitationRehabilitation",
                 "SocialCare"},
    "con_Consent": {"true", "false"},
}
MULTI = {"vic_MethodOfRecruitment", "vic_RecruitmentWebsitesAndApps", "vic_MethodsOfControl",
         "vic_TypeOfExploitation", "vic_TypeOfSexExploitation", "per_RoleInProcess", "spl_Type"}
DATES = ("cas_RegistrationDate", "hte_RecruitmentDate", "hte_TransitDate",
         "hte_ExploitationDateFrom", "hte_ExploitationDateTo", "cas_IncomingReferralDate",
         "cas_OutgoingReferralDate", "con_ConsentDate")
COUNTRIES = ("hte_RecruitmentCountry", "hte_TransitCountry", "hte_ExploitationCountry")


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("synth")
    summary = write_dataset(out_dir=out, n_records=6000, seed=7)
    return out, summary


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def test_columns_constant() -> None:
    assert list(COLUMNS) == EXPECTED_COLUMNS


def test_determinism(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_dataset(out_dir=a, n_records=1500, seed=3)
    write_dataset(out_dir=b, n_records=1500, seed=3)
    write_dataset(out_dir=c, n_records=1500, seed=4)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_files_and_header(dataset: tuple[Path, object]) -> None:
    out, summary = dataset
    names = sorted(p.name for p in out.iterdir())
    assert names == ["labour-inspectorate.csv", "migration-agency.csv", "ngo.csv",
                     "police.csv", "truth.csv"]
    total = 0
    for path in out.glob("*.csv"):
        if path.name == "truth.csv":
            continue
        header, rows = _read(path)
        assert header == EXPECTED_COLUMNS
        total += len(rows)
        assert len({r["org_Name"] for r in rows}) == 1
    assert total == 6000
    assert summary.total_records == 6000  # type: ignore[attr-defined]


def test_values_within_htcds(dataset: tuple[Path, object]) -> None:
    out, _ = dataset
    seen: dict[str, set[str]] = defaultdict(set)
    roles: dict[str, int] = defaultdict(int)
    for path in out.glob("*.csv"):
        if path.name == "truth.csv":
            continue
        for row in _read(path)[1]:
            roles[row["prs_Role"]] += 1
            for col, allowed in ALLOWED.items():
                cell = row[col]
                if not cell:
                    continue
                values = cell.split(";") if col in MULTI else [cell]
                assert len(values) == len(set(values)), (col, cell)
                for value in values:
                    assert value in allowed, (col, value)
                    seen[col].add(value)
            for col in DATES:
                if row[col]:
                    date.fromisoformat(row[col])
            birth = row["prs_Birthdate"]
            if birth:
                assert len(birth) in (4, 10)
                if len(birth) == 10:
                    assert date.fromisoformat(birth) < date(2026, 1, 1)
                else:
                    assert 1920 < int(birth) < 2026
            for code in row["prs_Citizenship"].split(";") if row["prs_Citizenship"] else []:
                assert len(code) == 2 and code.isupper()
            for col in COUNTRIES:
                assert row[col] == "" or (len(row[col]) == 2 and row[col].isupper())
            if row["prs_Role"] != "Victim":
                assert not any(row[c] for c in COLUMNS if c.startswith("vic_")), row
                assert not any(row[c] for c in COLUMNS if c.startswith(("hte_", "spl_")))
            if row["prs_Role"] != "Perpetrator":
                assert not any(row[c] for c in COLUMNS if c.startswith("per_")), row
            if row["prs_Role"] == "Victim":
                assert row["vic_TypeOfExploitation"]
                if row["vic_TypeOfSexExploitation"]:
                    assert "SexualExploitation" in row["vic_TypeOfExploitation"]
                if row["vic_ForcedLabourIndustry"]:
                    assert "Labour" in row["vic_TypeOfExploitation"]
    victims = roles["Victim"] / sum(roles.values())
    assert 0.65 <= victims <= 0.85
    assert {"ForcedLabour", "SexualExploitation"} <= seen["vic_TypeOfExploitation"]
    assert {"Feminine", "Masculine"} <= seen["prs_Gender"]


def test_record_ids_and_truth(dataset: tuple[Path, object]) -> None:
    out, summary = dataset
    record_org: dict[tuple[str, str], str] = {}
    for path in out.glob("*.csv"):
        if path.name == "truth.csv":
            continue
        header, rows = _read(path)
        ids = [r["record_id"] for r in rows]
        assert len(ids) == len(set(ids))
        for r in rows:
            record_org[(r["org_Name"], r["record_id"])] = r["case_id"]
    _, truth = _read(out / "truth.csv")
    assert len(truth) == len(record_org)
    assert {(t["org_Name"], t["record_id"]) for t in truth} == set(record_org)
    orgs_of: dict[str, set[str]] = defaultdict(set)
    for t in truth:
        orgs_of[t["person_uid"]].add(t["org_Name"])
    multi = sum(1 for orgs in orgs_of.values() if len(orgs) > 1)
    assert multi > 0
    assert 0.15 <= multi / len(orgs_of) <= 0.45
    assert multi == summary.persons_multi_org  # type: ignore[attr-defined]


def test_iter_records_matches_single_file(tmp_path: Path) -> None:
    path = tmp_path / "all.csv"
    truth = tmp_path / "truth.csv"
    write_single_file(path=path, n_records=800, seed=11, truth_path=truth)
    header, rows = _read(path)
    assert header == EXPECTED_COLUMNS
    records = list(iter_records(n_records=800, seed=11))
    assert [r.row for r in records] == rows
    assert [r.person_uid for r in records] == [t["person_uid"] for t in _read(truth)[1]]
    assert all(r.org_name == r.row["org_Name"] for r in records)


def test_more_organisations_and_no_duplicates() -> None:
    orgs = {r.org_name for r in iter_records(n_records=3000, seed=1, organisations=8)}
    assert len(orgs) == 8
    single = list(iter_records(n_records=500, seed=1, organisations=1))
    assert len({r.org_name for r in single}) == 1


def test_profile_shares_are_distributions() -> None:
    g = load_profile()["glotip"]
    assert sum(g["sex_age"].values()) == pytest.approx(1.0, abs=1e-3)
    for shares in g["form_by_sex_age"].values():
        assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)


def test_name_helpers() -> None:
    assert transliterate("Олександр", "ua") == "Oleksandr"
    assert transliterate("Олександр", "ua_alt") == "Oleksandr"
    assert transliterate("Юлія", "ua") == "Yuliia"
    assert strip_diacritics("Nguyễn Thị") == "Nguyen Thi"
    import random

    rng = random.Random(0)
    for _ in range(50):
        t = typo("Mohammed", rng)
        assert t != "" and t[0] == "M"


def test_twenty_thousand_records(tmp_path: Path) -> None:
    summary = write_single_file(path=tmp_path / "20k.csv", n_records=20_000, seed=5)
    assert summary.total_records == 20_000
    with (tmp_path / "20k.csv").open(encoding="utf-8") as fh:
        assert sum(1 for _ in fh) == 20_001


def test_generated_files_import_cleanly(tmp_path: Path) -> None:
    """Every row the generator writes passes the importer's validation (HTCDS profile)."""
    from maillon.collect.api import ImportOptions, import_file
    from maillon.core.settings import Settings
    from maillon.store.api import open_store

    write_dataset(out_dir=tmp_path / "d", n_records=3000, seed=11)
    store = open_store(Settings(data_dir=tmp_path / "ws"))
    for path in sorted((tmp_path / "d").glob("*.csv")):
        if path.name == "truth.csv":
            continue
        report = import_file(store.engine, path, ImportOptions())
        assert report.status == "committed", (path.name, report.errors[:5])
    store.close()
