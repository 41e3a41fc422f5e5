"""Small generated case files for the statistics tests (HTCDS flat CSV, seeded)."""

from __future__ import annotations

import random
from pathlib import Path

from maillon.collect import api as collect
from maillon.store.api import Store

ORG = "Police Unit 7"
HEADER = ("record_id,case_id,org_Name,prs_Role,prs_FirstName,prs_SecondName,prs_Birthdate,"
          "prs_Gender,prs_Citizenship,vic_TypeOfExploitation,hte_ExploitationCountry,"
          "cas_Status,cas_RegistrationDate\n")
COUNTRIES = ["FR", "BE", "NG", "RO", "VN", "DE", "BR"]
FORMS = ["SexualExploitation", "ForcedLabour", "ForcedBegging", "ForcedMarriage"]


def case_csv(path: Path, n: int, *, seed: int = 7, org: str = ORG) -> Path:
    rng = random.Random(seed)
    lines = [HEADER]
    for i in range(n):
        case = f"C-{i // 2}"
        role = "Perpetrator" if i % 5 == 4 else "Victim"
        year = rng.choice([2020, 2021, 2022])
        born = rng.randint(1960, 2015)
        gender = rng.choices(["Female", "Male", "NonConforming", ""], [60, 35, 2, 3])[0]
        cit = rng.choices(COUNTRIES, [20, 5, 25, 20, 15, 5, 10])[0]
        form = "" if role == "Perpetrator" else rng.choices(FORMS, [55, 35, 6, 4])[0]
        where = rng.choices(["FR", "BE", "DE", "ES"], [70, 15, 10, 5])[0]
        lines.append(f"P-{i},{case},{org},{role},Given{i},Family{i % 97},{born}-01-01,{gender},"
                     f"{cit},{form},{where},Active,{year}-06-01\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def load_cases(store: Store, folder: Path, n: int = 400, *, seed: int = 7, org: str = ORG
               ) -> None:
    report = collect.import_file(store.engine, case_csv(folder / f"cases-{seed}.csv", n,
                                                        seed=seed, org=org),
                                 collect.ImportOptions())
    assert report.status == "committed", report.message
