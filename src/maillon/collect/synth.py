"""Synthetic multi-organisation trafficking case data (``maillon synth cases``).

Generates "HTCDS flat CSV" files: one row per person in a case, the 52 columns of
:data:`COLUMNS`, coded cells holding HTCDS v2.0 value names, multi-valued cells joined with
``;`` and ``""`` meaning unknown.  Several organisations (police, NGO, labour inspectorate,
migration agency, ...) each write their own file; about ``duplicate_share`` of the persons are
recorded by two or more of them, with the spelling, date and citizenship discrepancies that
make record linkage hard.  The ground truth (which records are the same person) goes to
``truth.csv`` and never into the import files.

Distributions live in ``synth_profile.yaml`` next to this module (sex, age and form of
exploitation and victims' citizenships derived from UNODC GLOTIP; the rest are labelled
assumptions).  Output is a pure function of the arguments: one ``random.Random(seed)`` drives
everything and name pools are read from Faker's data tuples, not from Faker's generator, so the
same seed gives byte-identical files on every run and platform with the same Faker version.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TextIO

import yaml

from maillon.collect.synth_cases import CaseGenerator

COLUMNS: tuple[str, ...] = (
    "record_id", "case_id", "org_Name", "prs_Role",
    "prs_FirstName", "prs_MiddleName", "prs_SecondName", "prs_Birthdate", "prs_Gender",
    "prs_Citizenship", "prs_IdentityNumber", "prs_Email", "prs_MobilePhone",
    "prs_MaritalStatus", "prs_PrimaryLanguage",
    "vic_TraffickingStatus", "vic_TraffickingStatusDecisionMakingOrg",
    "vic_RelationshipToTrafficker", "vic_AgeWhenTrafficked", "vic_MethodOfRecruitment",
    "vic_RecruitmentWebsitesAndApps", "vic_MethodsOfControl", "vic_TypeOfExploitation",
    "vic_ForcedLabourIndustry", "vic_TypeOfSexExploitation",
    "per_RoleInProcess", "per_EntityType", "per_AgeAtOffence",
    "cas_Status", "cas_RegistrationDate", "cas_ReasonForCaseClosure",
    "hte_RecruitmentCountry", "hte_RecruitmentState", "hte_RecruitmentCity",
    "hte_RecruitmentDate", "hte_TransitCountry", "hte_TransitCity", "hte_TransitDate",
    "hte_ExploitationCountry", "hte_ExploitationState", "hte_ExploitationCity",
    "hte_ExploitationDateFrom", "hte_ExploitationDateTo",
    "cas_ReferringOrganisation", "cas_IncomingReferralDate", "cas_ReasonForIncomingReferral",
    "cas_ReferredOrganisation", "cas_OutgoingReferralDate", "cas_ReasonForOutgoingReferral",
    "spl_Type", "con_Consent", "con_ConsentDate",
)
"""Header of every generated import file, in order (a fixed interface of the importer)."""

TRUTH_COLUMNS: tuple[str, ...] = ("org_Name", "record_id", "person_uid")
"""Header of ``truth.csv``: which person each record describes."""

PROFILE_PATH = Path(__file__).with_name("synth_profile.yaml")


@cache
def load_profile() -> Mapping[str, Any]:
    """The shipped distributions (``synth_profile.yaml``), parsed once per process."""
    with PROFILE_PATH.open(encoding="utf-8") as fh:
        data: Mapping[str, Any] = yaml.safe_load(fh)
    return data


@dataclass(frozen=True)
class SynthRecord:
    """One generated row: the organisation that wrote it, its cells and the true person.

    ``row`` maps every name of :data:`COLUMNS` to a string (``""`` = unknown).
    ``person_uid`` (``P0000042``) is ground truth and is not part of ``row``.
    """

    org_name: str
    row: dict[str, str]
    person_uid: str


@dataclass
class SynthSummary:
    """What :func:`write_dataset` or :func:`write_single_file` wrote.

    ``files`` maps organisation name to its CSV path (one shared path for a single file);
    ``records`` and ``cases`` count rows and distinct case ids per organisation; ``persons``
    counts distinct true persons and ``persons_multi_org`` those recorded by 2+ organisations.
    """

    files: dict[str, Path] = field(default_factory=dict)
    truth: Path | None = None
    records: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    persons: int = 0
    persons_multi_org: int = 0

    @property
    def total_records(self) -> int:
        """Rows written over all organisations."""
        return sum(self.records.values())


class _RowWriter:
    """CSV rows as ``csv.writer`` would write them, but faster for plain cells.

    A row whose cells hold no comma, quote or line break is joined directly (the output is
    byte-identical to ``csv.writer``'s); any other row goes through ``csv.writer``.  Lines are
    buffered and written in blocks.
    """

    def __init__(self, fh: TextIO, width: int) -> None:
        self._fh = fh
        self._csv = csv.writer(fh, lineterminator="\n")
        self._commas = width - 1
        self._buf: list[str] = []

    def writerow(self, cells: Sequence[str]) -> None:
        line = ",".join(cells)
        if line.count(",") == self._commas and not _SPECIAL.search(line):
            self._buf.append(line)
            if len(self._buf) >= 4096:
                self.flush()
        else:
            self.flush()
            self._csv.writerow(cells)

    def flush(self) -> None:
        if self._buf:
            self._buf.append("")
            self._fh.write("\n".join(self._buf))
            self._buf.clear()


_SPECIAL = re.compile(r'["\r\n]')


def _uid(n: int) -> str:
    return f"P{n:07d}"


def _rows(n_records: int, seed: int, organisations: int,
          duplicate_share: float) -> tuple[CaseGenerator, Iterator[tuple[int, list[str], int]]]:
    if n_records < 0:
        raise ValueError("n_records must not be negative")
    gen = CaseGenerator(load_profile(), seed=seed, organisations=organisations,
                        duplicate_share=duplicate_share)
    return gen, itertools.islice(gen.rows(), n_records)


def iter_records(*, n_records: int, seed: int = 42, organisations: int = 4,
                 duplicate_share: float = 0.3) -> Iterator[SynthRecord]:
    """Yield ``n_records`` rows (persons in cases, about 70-75% victims), deterministically.

    Rows come incident by incident: an incident's cases appear in referral order across the
    organisations that recorded it.  The last incident may be cut short to hit ``n_records``
    exactly.  ``organisations`` beyond the six profiled ones reuse them with a number suffix.
    """
    gen, rows = _rows(n_records, seed, organisations, duplicate_share)
    for oi, cells, uid in rows:
        yield SynthRecord(gen.orgs[oi]["name"], dict(zip(COLUMNS, cells, strict=True)),
                          _uid(uid))


def _summarise(summary: SynthSummary, gen: CaseGenerator, seen: dict[int, int]) -> None:
    for org in gen.orgs:
        summary.records[org["name"]] = org["records"]
        summary.cases[org["name"]] = org["cases"]
    summary.persons = len(seen)
    summary.persons_multi_org = sum(1 for mask in seen.values() if mask & (mask - 1))


def write_dataset(*, out_dir: Path, n_records: int, seed: int = 42, organisations: int = 4,
                  duplicate_share: float = 0.3) -> SynthSummary:
    """Write ``<org-slug>.csv`` per organisation and ``truth.csv`` into ``out_dir``.

    Files are UTF-8 with a header row and ``\\n`` line endings; ``out_dir`` is created if
    needed and existing files of the same names are overwritten.  An organisation that
    received no record still gets a file with only the header.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    gen, rows = _rows(n_records, seed, organisations, duplicate_share)
    summary = SynthSummary(truth=out_dir / "truth.csv")
    handles = []
    writers: list[_RowWriter] = []
    try:
        for org in gen.orgs:
            path = out_dir / f"{org['slug']}.csv"
            summary.files[org["name"]] = path
            fh = path.open("w", encoding="utf-8", newline="")
            handles.append(fh)
            w = _RowWriter(fh, len(COLUMNS))
            w.writerow(COLUMNS)
            writers.append(w)
        truth_fh = (out_dir / "truth.csv").open("w", encoding="utf-8", newline="")
        handles.append(truth_fh)
        truth = _RowWriter(truth_fh, len(TRUTH_COLUMNS))
        writers.append(truth)
        truth.writerow(TRUTH_COLUMNS)
        seen: dict[int, int] = {}
        for oi, cells, uid in rows:
            writers[oi].writerow(cells)
            truth.writerow((cells[2], cells[0], _uid(uid)))
            seen[uid] = seen.get(uid, 0) | (1 << oi)
        for w in writers:
            w.flush()
    finally:
        for fh in handles:
            fh.close()
    _summarise(summary, gen, seen)
    return summary


def write_single_file(*, path: Path, n_records: int, seed: int = 42, organisations: int = 4,
                      duplicate_share: float = 0.3, truth_path: Path | None = None
                      ) -> SynthSummary:
    """Write all organisations' rows into one CSV at ``path`` (``org_Name`` tells them apart).

    The rows are the same as :func:`write_dataset` with the same arguments, interleaved in
    generation order.  The ground truth is written only if ``truth_path`` is given.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    gen, rows = _rows(n_records, seed, organisations, duplicate_share)
    summary = SynthSummary(truth=truth_path)
    seen: dict[int, int] = {}
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = _RowWriter(fh, len(COLUMNS))
        w.writerow(COLUMNS)
        if truth_path is None:
            for oi, cells, uid in rows:
                w.writerow(cells)
                seen[uid] = seen.get(uid, 0) | (1 << oi)
        else:
            with truth_path.open("w", encoding="utf-8", newline="") as tfh:
                truth = _RowWriter(tfh, len(TRUTH_COLUMNS))
                truth.writerow(TRUTH_COLUMNS)
                for oi, cells, uid in rows:
                    w.writerow(cells)
                    truth.writerow((cells[2], cells[0], _uid(uid)))
                    seen[uid] = seen.get(uid, 0) | (1 << oi)
                truth.flush()
        w.flush()
    _summarise(summary, gen, seen)
    summary.files = {org["name"]: path for org in gen.orgs}
    return summary
