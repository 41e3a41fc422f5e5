"""The same linkage model on Splink's Spark backend gives the same clusters as on DuckDB."""

from __future__ import annotations

import copy
import time
from typing import Any

import pyarrow as pa
import pytest

from maillon.collect.synth import iter_records
from maillon.link.engine import link
from maillon.link.prepare import INPUT_COLUMNS, prepare

pytestmark = pytest.mark.spark


def _frame(n: int = 80) -> Any:
    cols: dict[str, list[str]] = {c: [] for c in INPUT_COLUMNS}
    for r in iter_records(n_records=n, seed=11):
        x = r.row
        for c, v in zip(INPUT_COLUMNS, (x["record_id"], r.org_name, x["prs_FirstName"],
                                        x["prs_SecondName"], x["prs_Birthdate"],
                                        x["prs_Gender"], x["prs_Citizenship"]), strict=True):
            cols[c].append(v)
    return prepare(pa.table(cols))


def test_spark_and_duckdb_give_the_same_clusters(spark: Any) -> None:
    df = _frame()
    duck = link(df, min_probability=0.3)
    model = duck.linker.misc.save_model_to_json()
    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "1")  # tiny data: one task per stage
    try:
        t0 = time.perf_counter()
        on_spark = link(df, trained=copy.deepcopy(model), backend="spark", spark=spark,
                        min_probability=0.3)
        print(f"spark predict {time.perf_counter() - t0:.1f} s")
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", before)
    on_duck = link(df, trained=copy.deepcopy(model), min_probability=0.3)
    assert on_duck.cluster == duck.cluster
    assert on_spark.cluster == on_duck.cluster
    assert any(cid != rid for rid, cid in on_spark.cluster.items())
    a = on_duck.pairs.set_index(["unique_id_l", "unique_id_r"])["match_probability"]
    b = on_spark.pairs.set_index(["unique_id_l", "unique_id_r"])["match_probability"]
    assert set(a.index) == set(b.index)
    assert (a - b.reindex(a.index)).abs().max() < 1e-5
