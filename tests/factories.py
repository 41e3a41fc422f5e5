"""Small named fixture datasets, written by the tests themselves (HTCDS flat layout)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maillon.store.api import Store

HEADER = [
    "record_id", "case_id", "org_Name", "prs_Role", "prs_FirstName", "prs_SecondName",
    "prs_Birthdate", "prs_Gender", "prs_Citizenship", "vic_AgeWhenTrafficked",
    "vic_MethodsOfControl", "vic_TypeOfExploitation", "vic_ForcedLabourIndustry",
    "per_RoleInProcess", "hte_RecruitmentCountry", "hte_ExploitationCountry",
    "hte_ExploitationDateFrom", "hte_ExploitationDateTo", "cas_Status", "cas_RegistrationDate",
    "cas_ReferringOrganisation", "cas_IncomingReferralDate", "con_Consent",
]

GOOD_ROWS = [
    ["POL-1", "C-1", "Police Unit 7", "Victim", "Ana", "Popescu", "1998-03-04", "Feminine",
     "RO", "22", "DebtBondage;WithholdsDocuments", "SexualExploitation", "", "", "RO", "DE",
     "2021-05-01", "2021-11-30", "Active", "2022-01-10", "Shelter North", "2022-01-09", "true"],
    ["POL-2", "C-1", "Police Unit 7", "Perpetrator", "Ion", "Ionescu", "1980", "Masculine",
     "RO;MD", "", "", "", "", "RecruiterOrIntermediary;Exploiter", "", "", "", "", "Active",
     "2022-01-10", "", "", ""],
    ["POL-3", "C-2", "Police Unit 7", "Victim", "Nguyen", "Thi Lan", "2004-07", "Feminine",
     "VN", "16", "PhysicalAbuse", "ForcedLabour", "C_Manufacturing", "", "VN", "GB",
     "2020-02-01", "", "Closed", "2021-03-15", "", "", "false"],
]


def write_csv(path: Path, rows: list[list[str]], header: list[str] | None = None,
              encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header or HEADER)
        writer.writerows(rows)
    return path


def row(**changes: str) -> list[str]:
    """A copy of the first good row with some columns changed, e.g. ``row(record_id="X")``."""
    base = dict(zip(HEADER, GOOD_ROWS[0], strict=True))
    base.update(changes)
    return [base[h] for h in HEADER]


def clear(store: Store, table: str, record_id: str, field: str, token: str | None) -> str | None:
    """Decrypt one stored field with the test run's key file (``MAILLON_KEY_FILE``)."""
    from sqlalchemy import text

    from maillon.core.settings import load_settings
    from maillon.store.crypto import FieldCipher
    from maillon.store.keys import FileKeyProvider

    with store.engine.connect() as conn:
        org = conn.execute(text(f"SELECT organisation_id FROM {table} WHERE id = :i"),  # noqa: S608
                           {"i": record_id}).scalar_one()
    cipher = FieldCipher(FileKeyProvider.open_or_create(load_settings().key_file), store.engine)
    return cipher.decrypt(token, organisation_id=org, record_id=record_id,
                          field=f"{table}.{field}")
