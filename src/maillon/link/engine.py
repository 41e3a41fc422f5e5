"""Train, predict and cluster with Splink on DuckDB (default) or Spark.

:func:`link` runs the whole job on a prepared frame and returns the scored pairs and the
clusters. Clustering is done here, not by Splink: connected components (scipy) of the pairs at
or above the threshold, so DuckDB and Spark share the exact same clustering code and the output
does not depend on the backend's row order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from splink import DuckDBAPI, Linker, SettingsCreator

from maillon.link import model as mdl
from maillon.link.defaults import DEFAULT_THRESHOLD
from maillon.link.graph import PROBABILITY_DECIMALS, LinkResult, cluster

log = logging.getLogger(__name__)
__all__ = ["PROBABILITY_DECIMALS", "Backend", "LinkResult", "cluster", "link", "make_linker",
           "retarget", "train"]

Backend = Literal["duckdb", "spark"]

LIST_COLUMNS = frozenset({"citizenship", "event_city", "event_country", "event_month"})
"""Columns holding lists of text (compared by intersection); the others are text, except
:data:`INT_COLUMNS`."""
INT_COLUMNS = frozenset({"birth_year", "fresh"})


def _arrow(df: pd.DataFrame) -> pa.Table:
    fields = []
    for name in df.columns:
        if name in LIST_COLUMNS:
            fields.append(pa.field(name, pa.list_(pa.string())))
        elif name in INT_COLUMNS:
            fields.append(pa.field(name, pa.int64()))
        else:
            fields.append(pa.field(name, pa.string()))
    return pa.Table.from_pandas(df, schema=pa.schema(fields), preserve_index=False)


def _spark_frame(spark: Any, df: pd.DataFrame) -> Any:
    from pyspark.sql import types as T  # noqa: N812

    fields = []
    for name in df.columns:
        if name in LIST_COLUMNS:
            fields.append(T.StructField(name, T.ArrayType(T.StringType()), True))
        elif name in INT_COLUMNS:
            fields.append(T.StructField(name, T.LongType(), True))
        else:
            fields.append(T.StructField(name, T.StringType(), True))
    rows = [
        tuple(None if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))
              else (int(v) if n in INT_COLUMNS else (list(v) if n in LIST_COLUMNS else v))
              for n, v in zip(df.columns, rec, strict=True))
        for rec in df.itertuples(index=False, name=None)
    ]
    return spark.createDataFrame(rows, T.StructType(fields))


def _add_similarity_jar(spark: Any) -> None:
    """Put Splink's string-similarity UDF jar on a running session's class path.

    A session built with ``spark.jars`` pointing at ``similarity_jar_location()`` needs none of
    this; ``ADD JAR`` makes a session built without it (e.g. a test fixture) work too.
    """
    from splink.backends.spark import similarity_jar_location

    jar = similarity_jar_location()
    added = {str(j) for j in spark.sparkContext.listJars()} if hasattr(
        spark.sparkContext, "listJars") else set()
    if not any(jar.split("/")[-1] in j for j in added):
        spark.sql(f"ADD JAR '{jar}'")


def make_linker(df: pd.DataFrame, settings: SettingsCreator | dict[str, Any], *,
                backend: Backend = "duckdb", spark: Any = None) -> Linker:
    """A Splink linker over ``df`` on the chosen backend (Spark needs ``spark``)."""
    if backend == "spark":
        from splink import SparkAPI

        if spark is None:
            raise ValueError("the spark backend needs a SparkSession")
        _add_similarity_jar(spark)
        api: Any = SparkAPI(  # type: ignore[no-untyped-call]
            spark_session=spark, break_lineage_method="persist")
        frame = api.register(_spark_frame(spark, df))
    else:
        api = DuckDBAPI()
        frame = api.register(_arrow(df))
    return Linker(frame, settings, log_level=logging.WARNING)


@dataclass(frozen=True)
class Sampling:
    """How many pairs training looks at.

    u: ``per_record`` random pairs per record, clamped to ``[u_min, u_max]``; EM: at most
    ``em_pairs`` blocked pairs per session (Splink's hash-based record sampling), ``None``
    for every blocked pair.
    """

    per_record: float = 20
    u_min: float = 1e5
    u_max: float = 3e6
    em_pairs: float | None = 2e6

    def u_pairs(self, n_records: int) -> float:
        return float(min(max(n_records * self.per_record, self.u_min), self.u_max)) + 1


MAILLON_SAMPLING = Sampling(em_pairs=4e5)
"""Maillon's sampling: u as the baseline; EM sessions see at most 400,000 pairs (Splink's
hash-based record sampling). Their blocking rules give over a million pairs at 200,000 records
(common names, common birth dates) and m values settle long before that: EM took 2.6 CPU-s
instead of about 10 at 200,000 synthetic records, F1 unchanged on the synthetic data and
0.832 instead of 0.833 on historical_50k."""
PLAIN_SAMPLING = Sampling()
"""The baseline's sampling (the values this benchmark always gave it)."""


def train(linker: Linker, *, training_rules: Sequence[Any], seed: int, n_records: int,
          deterministic: Sequence[str] = mdl.DETERMINISTIC_RULES,
          labels: pd.DataFrame | None = None, sampling: Sampling = MAILLON_SAMPLING
          ) -> dict[str, float]:
    """Unsupervised training: prior from deterministic rules, u by random sampling, m by EM.

    Each step is skipped (keeping the model's starting values) when the data are too few for
    it, e.g. no pair satisfies an EM blocking rule. ``labels`` (``unique_id_l, unique_id_r``:
    pairs reviewers accepted) then re-estimate m when there are at least 10. Returns the
    seconds spent per step (``prior``, ``u``, ``em``, ``labels``).
    """
    tr = linker.training
    steps: dict[str, float] = {}
    t0 = time.perf_counter()
    start = linker._settings_obj._probability_two_random_records_match
    try:
        tr.estimate_probability_two_random_records_match(list(deterministic), recall=0.7)
    except Exception as exc:  # noqa: BLE001 - too few pairs: keep the prior
        log.info("prior not estimated: %s", type(exc).__name__)
    if not 0 < linker._settings_obj._probability_two_random_records_match < 1:
        # no pair satisfies the rules (small data without exact duplicates): a prior of 0
        # would make every match weight minus infinity; keep the starting value
        linker._settings_obj._probability_two_random_records_match = start
    # +1 in u_pairs: not Splink's default value, which would ignore the seed
    t1 = time.perf_counter()
    steps["prior"] = t1 - t0
    tr.estimate_u_using_random_sampling(max_pairs=sampling.u_pairs(n_records), seed=seed)
    t2 = time.perf_counter()
    steps["u"] = t2 - t1
    prior = linker._settings_obj._probability_two_random_records_match
    for rule in training_rules:
        try:
            tr.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=sampling.em_pairs, estimate_without_term_frequencies=True)
        except Exception as exc:  # noqa: BLE001 - EM needs pairs; keep starting m values
            log.info("EM session skipped: %s", type(exc).__name__)
        # EM must not change the prior (Splink does not save it back), but a session that
        # fails for lack of pairs leaves its own estimate (measured: 0.19 on 150 records)
        linker._settings_obj._probability_two_random_records_match = prior
    t3 = time.perf_counter()
    steps["em"] = t3 - t2
    if labels is not None and len(labels) >= 10:
        try:
            sdf = linker._db_api.register(pa.Table.from_pandas(labels, preserve_index=False))
            tr.estimate_m_from_pairwise_labels(sdf)  # type: ignore[no-untyped-call]
        except Exception as exc:  # noqa: BLE001
            log.info("labels not used: %s", type(exc).__name__)
    steps["labels"] = time.perf_counter() - t3
    return steps


def same_shape(trained: dict[str, Any], settings: SettingsCreator) -> bool:
    """Whether ``trained`` (a saved model) has the comparisons and levels of ``settings``, so
    that :func:`retarget` can reuse its parameters."""
    rendered: dict[str, Any] = settings.get_settings("duckdb").as_dict()  # type: ignore[no-untyped-call]

    def shape(model: dict[str, Any]) -> list[tuple[str, int]]:
        return [(str(c.get("output_column_name")), len(c["comparison_levels"]))
                for c in model.get("comparisons", [])]

    return shape(rendered) == shape(trained)


def retarget(trained: dict[str, Any], settings: SettingsCreator, backend: Backend
             ) -> dict[str, Any]:
    """``settings`` rendered for ``backend``'s SQL dialect with ``trained``'s parameters.

    A model saved on DuckDB holds DuckDB SQL (``jaro_winkler_similarity``...); Spark needs its
    own functions. So the model is rebuilt from the dialect-neutral ``settings`` and the
    trained m, u and prior are copied over, level by level. ``settings`` must be the
    configuration ``trained`` was made from.
    """
    rendered = settings.get_settings("spark" if backend == "spark" else "duckdb")
    target: dict[str, Any] = rendered.as_dict()  # type: ignore[no-untyped-call]
    target["probability_two_random_records_match"] = trained[
        "probability_two_random_records_match"]
    pairs = zip(target["comparisons"], trained["comparisons"], strict=True)
    for new, old in pairs:
        for lv_new, lv_old in zip(new["comparison_levels"], old["comparison_levels"],
                                  strict=True):
            for key in ("m_probability", "u_probability"):
                if key in lv_old:
                    lv_new[key] = lv_old[key]
    return target


def link(df: pd.DataFrame, *, settings: SettingsCreator | None = None,
         training_rules: Sequence[Any] = mdl.PERSON_TRAINING_RULES,
         deterministic: Sequence[str] = mdl.DETERMINISTIC_RULES,
         threshold: float = DEFAULT_THRESHOLD, min_probability: float | None = None,
         seed: int = 0, backend: Backend = "duckdb", spark: Any = None,
         labels: pd.DataFrame | None = None, trained: dict[str, Any] | None = None,
         sampling: Sampling = MAILLON_SAMPLING) -> LinkResult:
    """Train the model on ``df`` (a :func:`~maillon.link.prepare.prepare` frame), score the
    blocked pairs with probability >= ``min_probability`` (default ``threshold``) and cluster.

    ``trained``: a model saved by ``linker.misc.save_model_to_json()`` (e.g. on another
    backend), used as is instead of training.
    """
    timings: dict[str, float] = {}
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    if trained is not None:
        model = retarget(trained, settings or mdl.person_settings(), backend)
        linker = make_linker(df, model, backend=backend, spark=spark)
        stages["linker"] = time.perf_counter() - t0
    else:
        linker = make_linker(df, settings or mdl.person_settings(), backend=backend,
                             spark=spark)
        stages["linker"] = time.perf_counter() - t0
        stages.update(train(linker, training_rules=training_rules, seed=seed,
                            n_records=len(df), deterministic=deterministic, labels=labels,
                            sampling=sampling))
    t1 = time.perf_counter()
    timings["train"] = t1 - t0
    cut = threshold if min_probability is None else min(min_probability, threshold)
    predictions = linker.inference.predict(threshold_match_probability=cut)
    stages["predict_sql"] = time.perf_counter() - t1
    pairs = _pairs_frame(predictions)
    t2 = time.perf_counter()
    stages["pairs_frame"] = t2 - t1 - stages["predict_sql"]
    timings["predict"] = t2 - t1
    ids = df["unique_id"].tolist()
    assignment, best = cluster(ids, pairs, threshold)
    timings["cluster"] = stages["cluster"] = time.perf_counter() - t2
    return LinkResult(pairs=pairs, cluster=assignment, best=best, linker=linker,
                      timings=timings, stages=stages)


def _pairs_frame(predictions: Any) -> pd.DataFrame:
    table = predictions.as_pandas_dataframe() if hasattr(predictions, "as_pandas_dataframe") \
        else predictions.as_record_dict()
    df = pd.DataFrame(table)
    if df.empty:
        df = pd.DataFrame({"unique_id_l": pd.Series(dtype=str),
                           "unique_id_r": pd.Series(dtype=str),
                           "match_probability": pd.Series(dtype=float)})
    df["unique_id_l"] = df["unique_id_l"].astype(str)
    df["unique_id_r"] = df["unique_id_r"].astype(str)
    df["match_probability"] = df["match_probability"].astype(float).round(PROBABILITY_DECIMALS)
    swap = df["unique_id_l"] > df["unique_id_r"]
    df.loc[swap, ["unique_id_l", "unique_id_r"]] = df.loc[
        swap, ["unique_id_r", "unique_id_l"]].to_numpy()
    return df.sort_values(["unique_id_l", "unique_id_r"], kind="stable").reset_index(drop=True)
