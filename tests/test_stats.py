"""Statistics: table definitions, disclosure control (audited by LP), exports, API, CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from maillon.core.errors import InvalidInput
from maillon.core.settings import Settings
from maillon.stats import api, kanon, sdc
from maillon.stats.definitions import TOTAL, dimensions, eu_members, get_table, in_eu, m49, tables
from maillon.stats.exports import render
from maillon.stats.grid import Dim, Grid
from maillon.store.api import Store
from tests.stats_helpers import load_cases

# --- definitions ---------------------------------------------------------------------------


def test_every_standard_table_is_defined_with_a_unit() -> None:
    names = set(tables())
    assert {"victims_sex_age_year", "victims_form", "victims_citizenship_group",
            "victims_citizenship", "victims_region", "suspects_sex_year", "glotip_victims",
            "glotip_persons"} <= names
    for t in tables().values():
        assert t.unit and t.title and t.dimensions
        if t.source == "cases":
            assert all(d in dimensions() for d in t.dimensions)


def test_eu_membership_by_year_is_data() -> None:
    assert len(eu_members()) == 28
    assert in_eu("GB", 2019) and not in_eu("GB", 2020)
    assert not in_eu("HR", 2012) and in_eu("HR", 2013)
    assert in_eu("PL", 2004) and not in_eu("PL", 2003)
    assert not in_eu("NO", 2020)


def test_m49_regions() -> None:
    areas = m49()
    assert areas["FRA"].region == "Europe" and areas["FRA"].subregion == "Western Europe"
    assert areas["NGA"].subregion == "Sub-Saharan Africa"
    assert areas["MEX"].subregion == "Latin America and the Caribbean"
    assert len(areas) >= 248


# --- the grid and disclosure control --------------------------------------------------------


def _grid(values: list[list[int]]) -> Grid:
    rows = tuple(f"r{i}" for i in range(len(values)))
    cols = tuple(f"c{j}" for j in range(len(values[0])))
    interior = {(r, c): values[i][j] for i, r in enumerate(rows) for j, c in enumerate(cols)}
    return Grid([Dim("a", rows), Dim("b", cols)], interior)


def test_grid_margins_add_up() -> None:
    grid = _grid([[1, 2], [3, 4]])
    assert grid.values[grid.index[(TOTAL, TOTAL)]] == 10
    assert grid.values[grid.index[("r0", TOTAL)]] == 3
    assert grid.values[grid.index[(TOTAL, "c1")]] == 6
    assert grid.is_additive(grid.values)


def test_hierarchical_dimension() -> None:
    dim = Dim("subregion", ("Europe|West", "Europe|East", "Africa|North"),
              {"Europe": ("Europe|West", "Europe|East"), "Africa": ("Africa|North",)})
    grid = Grid([dim], {("Europe|West",): 7, ("Europe|East",): 2, ("Africa|North",): 9})
    assert grid.values[grid.index[("Europe",)]] == 9
    assert grid.values[grid.index[(TOTAL,)]] == 18
    supp = sdc.suppress(grid, 5)
    assert grid.index[("Europe|East",)] in supp.primary
    assert all(iv.width >= 5 for iv in sdc.audit(grid, grid.values, supp.suppressed).values())


def _check_protected(grid: Grid, threshold: int) -> sdc.Suppression:
    supp = sdc.suppress(grid, threshold)
    hidden = supp.suppressed
    for i, v in enumerate(grid.values):
        if i not in hidden:
            assert v == 0 or v >= threshold, f"published cell {grid.keys[i]}={v}"
    # an independent audit (all suppressed cells at once) by linear programming
    for cell, interval in sdc.audit(grid, grid.values, hidden).items():
        assert interval.width >= threshold, (grid.keys[cell], interval)
        assert interval.low <= grid.values[cell] <= interval.high
    return supp


def test_suppression_of_a_small_table() -> None:
    grid = _grid([[20, 3, 40], [15, 30, 25], [12, 22, 9]])
    supp = _check_protected(grid, 5)
    assert supp.primary == {grid.index[("r0", "c1")]}
    assert len(supp.secondary) >= 3


def test_single_hidden_cell_in_a_row_would_be_recoverable() -> None:
    grid = _grid([[20, 3, 40], [15, 30, 25]])
    hidden = {grid.index[("r0", "c1")]}
    interval = sdc.audit(grid, grid.values, hidden)[grid.index[("r0", "c1")]]
    assert interval.width == 0  # margins give it away: hence secondary suppression


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.integers(0, 30), min_size=3, max_size=3), min_size=2, max_size=4),
       st.integers(3, 8))
def test_suppression_property(values: list[list[int]], threshold: int) -> None:
    _check_protected(_grid(values), threshold)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 12), min_size=12, max_size=12), st.integers(3, 6))
def test_suppression_property_three_way(flat: list[int], threshold: int) -> None:
    a, b, c = ("x", "y"), ("p", "q", "r"), ("u", "v")
    interior = {(i, j, k): flat[n] for n, (i, j, k) in enumerate(
        (i, j, k) for i in a for j in b for k in c)}
    _check_protected(Grid([Dim("a", a), Dim("b", b), Dim("c", c)], interior), threshold)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.integers(0, 60), min_size=3, max_size=3), min_size=2, max_size=4),
       st.sampled_from([3, 5, 10]))
def test_controlled_rounding_is_additive(values: list[list[int]], base: int) -> None:
    grid = _grid(values)
    rounded = sdc.controlled_round(grid, base)
    assert grid.is_additive(rounded.values)
    assert rounded.controlled  # two-way tables always have a controlled rounding
    assert all(v % base == 0 for v in rounded.values)
    assert all(abs(int(r) - int(v)) < base for r, v in zip(rounded.values, grid.values,
                                                            strict=True))


def test_dp_counts_are_additive_and_record_epsilon() -> None:
    grid = _grid([[100, 50, 3], [40, 60, 10]])
    result = sdc.dp_counts(grid, 0.5)
    assert result.epsilon == 0.5 and result.scale == 2.0
    assert grid.is_additive(result.values)
    assert (result.values >= 0).all()
    with pytest.raises(InvalidInput):
        sdc.dp_counts(grid, 0)


def test_k_anonymity_and_local_suppression() -> None:
    import pandas as pd

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"sex": rng.choice(["F", "M", "O"], 300, p=[.6, .38, .02]),
                          "age": rng.choice(["child", "adult"], 300),
                          "year": rng.choice(["2020", "2021", "2022", "2023"], 300)})
    before = kanon.check(frame, ["sex", "age", "year"], k=11)
    assert not before.ok
    out, suppressed, removed = kanon.local_suppression(frame, ["sex", "age", "year"], k=11)
    assert kanon.check(out, ["sex", "age", "year"], k=11).ok
    assert suppressed > 0 and len(out) + removed == 300


# --- over the store -------------------------------------------------------------------------


@pytest.mark.database
def test_tables_over_cases(store: Store, tmp_path: Path) -> None:
    load_cases(store, tmp_path, 400)
    data = api.load_case_data(store.engine)
    assert data.records == 400 and not data.linked
    for defn in api.standard_tables("cases"):
        table = api.compute(store.engine, defn.name, data=data)
        meta = table.metadata
        assert meta["counting_unit"] == "records" and "Record linkage has not run" in \
            meta["unit_note"]
        assert meta["protection"]["method"] == "suppression"
        for row in table.rows:
            assert row["value"] is None or row["value"] == 0 or row["value"] >= 5
    form = api.compute(store.engine, "victims_form", data=data)
    total = next(r for r in form.rows if r["year"] == TOTAL and r["form"] == TOTAL)
    assert total["value"] == 320  # 4 in 5 rows are victims
    suspects = api.compute(store.engine, "suspects_sex_year", data=data, method="rounding")
    grand = next(r for r in suspects.rows if r["year"] == TOTAL and r["sex"] == TOTAL)
    assert grand["value"] in (80, 75, 85) and grand["value"] % 5 == 0
    only = api.compute(store.engine, "victims_form", data=data,
                       filters=api.Filters(year=2021, form="SEX"))
    assert {r["year"] for r in only.rows} == {"2021", TOTAL}
    assert only.metadata["filters"] == {"year": 2021, "form": "SEX"}


@pytest.mark.database
def test_counting_unit_switches_to_linked_persons(store: Store, tmp_path: Path) -> None:
    from sqlalchemy import inspect

    if not inspect(store.engine).has_table("person_cluster"):
        pytest.skip("record linkage tables are not installed")
    from sqlalchemy import text

    load_cases(store, tmp_path, 20)
    with store.engine.begin() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM person ORDER BY id"))]
        conn.execute(text("INSERT INTO link_run (id, started_at, actor, threshold, persons, "
                          "pairs, clusters, created, merged, split, labels_used) VALUES "
                          "('run1', CURRENT_TIMESTAMP, 't', 0.9, 0, 0, 0, 0, 0, 0, 0)"))
        conn.execute(text("INSERT INTO link_cluster (id, created_at, size) "
                          "VALUES ('k1', CURRENT_TIMESTAMP, 2)"))
        for pid in ids[:2]:
            conn.execute(text("INSERT INTO person_cluster (person_id, cluster_id, run_id) "
                              "VALUES (:p, 'k1', 'run1')"), {"p": pid})
    data = api.load_case_data(store.engine)
    assert data.linked
    table = api.compute(store.engine, "victims_form", data=data)
    assert table.metadata["counting_unit"] == "linked persons"


@pytest.mark.database
def test_exports_carry_metadata(store: Store, tmp_path: Path) -> None:
    load_cases(store, tmp_path, 200)
    table = api.compute(store.engine, "victims_country")
    text_csv = render(table, "csv").decode()
    assert "# protection: suppression" in text_csv
    body = list(csv.DictReader(line for line in io.StringIO(text_csv)
                               if not line.startswith("#")))
    assert body and set(body[0]) == {"country", "year", "value", "flag"}
    hidden = [r for r in body if r["flag"] == "c"]
    assert all(r["value"] == "" for r in hidden)
    sdmx = render(table, "sdmx-csv").decode().splitlines()
    assert sdmx[0] == ("DATAFLOW,REF_AREA,TIME_PERIOD,OBS_VALUE,OBS_STATUS,CONF_STATUS,"
                       "UNIT_MEASURE,SDC_METHOD")
    assert sdmx[1].startswith("MAILLON:VICTIMS_COUNTRY(1.0),")
    doc = json.loads(render(table, "json"))
    assert doc["metadata"]["protection"]["parameters"] == {"threshold": 5}
    from openpyxl import load_workbook

    path = tmp_path / "t.xlsx"
    path.write_bytes(render(table, "xlsx"))
    book = load_workbook(path)
    assert book.sheetnames == ["data", "metadata"]
    meta = {r[0]: r[1] for r in book["metadata"].iter_rows(values_only=True)}
    assert meta["protection"] == "suppression"
    payload = api.export(store.engine, table, "csv", user="tester")
    from sqlalchemy import select

    from maillon.stats.models import Release

    with store.sessions() as session:
        release = session.execute(select(Release)).scalar_one()
    assert release.method == "suppression" and release.created_by == "tester"
    import hashlib

    assert release.sha256 == hashlib.sha256(payload).hexdigest()


@pytest.mark.database
def test_record_extract_is_k_anonymous(store: Store, tmp_path: Path) -> None:
    load_cases(store, tmp_path, 300)
    frame, info = api.extract_records(store.engine, k=11)
    assert info["k_anonymous"] and info["rows_in"] == 240
    assert kanon.check(frame, list(api.EXTRACT_QIS), 11).ok
    assert "unit_id" not in frame.columns


# --- web ------------------------------------------------------------------------------------


def test_api_and_dashboard(client: object, store: Store, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    load_cases(store, tmp_path, 300)
    listed = client.get("/api/v1/stats/tables").json()
    assert "victims_form" in {t["name"] for t in listed}
    got = client.get("/api/v1/stats/tables/victims_form?year=2021")
    assert got.status_code == 200, got.text
    assert got.json()["metadata"]["filters"] == {"year": 2021}
    rounded = client.get("/api/v1/stats/tables/victims_form?method=rounding&base=10").json()
    assert all(r["value"] % 10 == 0 for r in rounded["rows"])
    exported = client.get("/api/v1/stats/tables/victims_form/export?format=sdmx-csv")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.text.startswith("DATAFLOW,TIME_PERIOD,EXPLOITATION,OBS_VALUE")
    page = client.get("/stats?country=FR", headers={"accept": "text/html"})
    assert page.status_code == 200 and "<svg" in page.text and "Download CSV" in page.text
    bad = client.get("/api/v1/stats/tables/victims_form?form=NOPE")
    assert bad.status_code == 422
    assert client.get("/api/v1/stats/tables/unknown_table").status_code == 404


def test_case_worker_may_not_read_statistics(anonymous_client: object, store: Store) -> None:
    from tests.auth_helpers import sign_in

    sign_in(anonymous_client, store, username="carl.worker", role="case_worker")  # type: ignore[arg-type]
    got = anonymous_client.get("/api/v1/stats/tables")  # type: ignore[attr-defined]
    assert got.status_code == 403


# --- CLI ------------------------------------------------------------------------------------


def test_cli_table_and_publish(store: Store, settings: Settings, tmp_path: Path) -> None:
    from maillon.cli import app

    load_cases(store, tmp_path, 200)
    runner = CliRunner()
    base = ["--data-dir", str(settings.data_dir)]
    got = runner.invoke(app, [*base, "stats", "table", "victims_form", "--format", "json"])
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["metadata"]["table"] == "victims_form"
    out = tmp_path / "t.xlsx"
    got = runner.invoke(app, [*base, "stats", "table", "victims_citizenship_group",
                              "--format", "xlsx", "--output", str(out)])
    assert got.exit_code == 0, got.output
    assert out.read_bytes()[:2] == b"PK"
    got = runner.invoke(app, [*base, "stats", "table", "nope"])
    assert got.exit_code == 2
    got = runner.invoke(app, [*base, "stats", "publish", "--out", str(tmp_path / "rep")])
    assert got.exit_code == 0, got.output
    assert (tmp_path / "rep" / "report.pdf").read_bytes().startswith(b"%PDF")
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "<svg" in html and "Counting unit" in html and "suppressed" in html


def test_table_lookup_errors() -> None:
    from maillon.core.errors import NotFound

    with pytest.raises(NotFound):
        get_table("nope")
