"""GLOTIP import: format checks on small fixtures; the real file (``shared``) loaded in full and
known totals recomputed from the raw sheet."""

from __future__ import annotations

from pathlib import Path

import pytest

from maillon.core.errors import InvalidFile, InvalidInput
from maillon.stats import api
from maillon.stats.definitions import m49
from maillon.stats.glotip import HEADER, import_glotip
from maillon.store.api import Store

ROWS = [
    ("FRA", "France", "Europe", "Western Europe", "Detected trafficking victims", "Total", "Total",
     "Total", "Total", 2019, "Counts", "1,486", "GLOTIP"),
    ("FRA", "France", "Europe", "Western Europe", "Detected trafficking victims", "Total", "Total",
     "Female", "Total", 2019, "Counts", "751", "GLOTIP"),
    ("FRA", "France", "Europe", "Western Europe", "Persons convicted", "Total", "Total",
     "Male", "Total", 2019, "Counts", "<5", "GLOTIP"),
    ("CAR", None, None, None, "Detected trafficking victims", "Total", "Total", "Total", "Total",
     2019, "Counts", "12", "GLOTIP"),
]


def _xlsx(path: Path, rows: list[tuple[object, ...]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.create_sheet("data_glotip_1", 0)
    sheet.append(HEADER)
    for r in rows:
        sheet.append(list(r))
    book.save(path)
    return path


@pytest.mark.database
def test_import_and_tables(store: Store, tmp_path: Path) -> None:
    report = import_glotip(store.engine, _xlsx(tmp_path / "g.xlsx", ROWS))
    assert report.rows == 4 and report.below_threshold == 1 and report.years == (2019, 2019)
    table = api.compute(store.engine, "glotip_victims", filters=api.Filters(country="FR"))
    total = next(r for r in table.rows if r["sex"] == "Total" and r["age"] == "Total")
    assert total["value"] == 1486 and total["country"] == "FRA"
    persons = api.compute(store.engine, "glotip_persons")
    convicted = persons.rows[0]
    assert convicted["value"] is None and convicted["flag"] == "<5"
    assert persons.metadata["protection"]["method"] == "source"
    again = import_glotip(store.engine, _xlsx(tmp_path / "g.xlsx", ROWS[:2]))
    assert again.rows == 2
    assert len(api.compute(store.engine, "glotip_victims").rows) == 2  # replaced, not added


def test_malformed_rows_are_reported(store: Store, tmp_path: Path) -> None:
    bad = [
        ROWS[0],
        ("FRA", "France", "Europe", "Western Europe", "Detected trafficking victims", "Total",
         "Total", "Total", "Total", 2019, "Counts", "about 12", "GLOTIP"),
        ("FRA", "France", "Europe", "Western Europe", None, "Total", "Total", "Total", "Total",
         2019, "Counts", "4", "GLOTIP"),
        ("FRA", "France", "Europe", "Western Europe", "Detected trafficking victims", "Total",
         "Total", "Both", "Total", "20x9", "Counts", "4", "GLOTIP"),
    ]
    with pytest.raises(InvalidInput) as caught:
        import_glotip(store.engine, _xlsx(tmp_path / "bad.xlsx", bad))
    found = {(d.row, d.field) for d in caught.value.details}
    assert found == {(2, "txtVALUE"), (3, "Indicator"), (4, "Year")}
    assert not api.compute(store.engine, "glotip_victims").rows  # nothing imported
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InvalidFile):
        import_glotip(store.engine, wrong)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InvalidFile):
        import_glotip(store.engine, broken)


def test_csv_with_the_same_header(store: Store, tmp_path: Path) -> None:
    import csv

    path = tmp_path / "g.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    assert import_glotip(store.engine, path).rows == 4


@pytest.mark.shared
def test_real_glotip_file(shared: Path, store: Store) -> None:
    """All 46,556 rows load; totals read straight from the sheet match Maillon's tables."""
    from openpyxl import load_workbook

    path = shared / "reference" / "glotip" / "data_glotip.xlsx"
    report = import_glotip(store.engine, path)
    assert report.rows == 46_556
    assert report.years == (2003, 2021)
    raw: dict[tuple[str, int], str] = {}
    regions: dict[str, tuple[str, str]] = {}
    below = 0
    book = load_workbook(path, read_only=True)
    for row in book.worksheets[0].iter_rows(min_row=2, values_only=True):
        iso3, _, region, subregion, indicator, dimension, _, sex, age, year, _, value, _ = row
        below += value == "<5"
        if region and iso3:
            regions[str(iso3)] = (str(region), str(subregion))
        if (indicator, dimension, sex, age) == ("Detected trafficking victims", "Total",
                                                "Total", "Total"):
            raw[(str(iso3), int(year))] = str(value)
    book.close()
    assert report.below_threshold == below == 23_076
    for (iso3, year) in [("FRA", 2019), ("FRA", 2020), ("USA", 2018), ("NGA", 2016)]:
        if (iso3, year) not in raw:
            continue
        table = api.compute(store.engine, "glotip_victims",
                            filters=api.Filters(country=iso3, year=year))
        total = next(r for r in table.rows if r["sex"] == "Total" and r["age"] == "Total")
        expected = raw[(iso3, year)]
        if expected == "<5":
            assert total["value"] is None and total["flag"] == "<5"
        else:
            assert total["value"] == int(expected.replace(",", "")), (iso3, year)
    assert raw[("FRA", 2019)] == "1,486"
    # our M49 data agrees with GLOTIP's region and subregion for every country
    areas = m49()
    mismatched = {c: r for c, r in regions.items()
                  if (areas[c].region, areas[c].subregion) != r}
    assert not mismatched


def test_eurostat_profile(store: Store, tmp_path: Path) -> None:
    """A hand-written file in Eurostat's SDMX-CSV layout (not a real download: see docs)."""
    from maillon.stats.eurostat import import_eurostat

    path = tmp_path / "crim_thb_vctz.csv"
    path.write_text(
        "DATAFLOW,LAST UPDATE,freq,citizen,leg_stat,sex,unit,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG\n"
        "ESTAT:CRIM_THB_VCTZ(1.0),24/01/24,A,TOTAL,VICT,T,NR,FR,2019,1486,\n"
        "ESTAT:CRIM_THB_VCTZ(1.0),24/01/24,A,NEU27_2020,VICT,F,NR,EL,2019,40,\n"
        "ESTAT:CRIM_THB_VCTZ(1.0),24/01/24,A,TOTAL,VICT,T,NR,DE,2019,,\n", encoding="utf-8")
    report = import_eurostat(store.engine, path)
    assert report.rows == 2
    table = api.compute(store.engine, "glotip_victims", filters=api.Filters(country="FR"))
    assert table.rows[0]["value"] == 1486
    by_cit = api.compute(store.engine, "glotip_victims_citizenship",
                         filters=api.Filters(country="GR"))
    assert by_cit.rows[0]["category"] == "NEU27_2020"
    path.write_text("DATAFLOW,geo,TIME_PERIOD,OBS_VALUE,leg_stat,sex\nX,ZZ,2019,5,VICT,T\n",
                    encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        import_eurostat(store.engine, path)
    assert caught.value.details[0].field == "geo"
