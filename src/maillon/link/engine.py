"""Train, predict and cluster with Splink on DuckDB (default) or Spark.

:func:`link` runs the whole job on a prepared frame and returns the scored pairs and the
clusters. Clustering is done here, not by Splink: connected components (scipy) of the pairs at
or above the threshold, so DuckDB and Spark share the exact same clustering code and the output
does not depend on the backend's row order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from splink import DuckDBAPI, Linker, SettingsCreator

from maillon.link import model as mdl
from maillon.link.defaults import DEFAULT_THRESHOLD

log = logging.getLogger(__name__)

Backend = Literal["duckdb", "spark"]


PROBABILITY_DECIMALS = 6
"""Probabilities are rounded so that the output is byte-identical across runs and backends."""


@dataclass
class LinkResult:
    """Outcome of :func:`link`.

    ``pairs``: ``unique_id_l, unique_id_r, match_probability`` (plus the waterfall columns when
    asked), every scored pair at or above ``min_probability``; ``cluster`` maps each record id
    to its cluster id (smallest record id of its component); ``best`` maps each clustered
    record to its highest pairwise probability within its cluster; ``timings`` in seconds.
    """

    pairs: pd.DataFrame
    cluster: dict[str, str]
    best: dict[str, float]
    linker: Any
    timings: dict[str, float] = field(default_factory=dict)


def _arrow(df: pd.DataFrame) -> pa.Table:
    fields = []
    for name in df.columns:
        if name == "citizenship":
            fields.append(pa.field(name, pa.list_(pa.string())))
        elif name == "birth_year":
            fields.append(pa.field(name, pa.int64()))
        else:
            fields.append(pa.field(name, pa.string()))
    return pa.Table.from_pandas(df, schema=pa.schema(fields), preserve_index=False)


def _spark_frame(spark: Any, df: pd.DataFrame) -> Any:
    from pyspark.sql import types as T  # noqa: N812

    fields = []
    for name in df.columns:
        if name == "citizenship":
            fields.append(T.StructField(name, T.ArrayType(T.StringType()), True))
        elif name == "birth_year":
            fields.append(T.StructField(name, T.LongType(), True))
        else:
            fields.append(T.StructField(name, T.StringType(), True))
    rows = [
        tuple(None if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))
              else (int(v) if n == "birth_year" else (list(v) if n == "citizenship" else v))
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


def train(linker: Linker, *, training_rules: Sequence[Any], seed: int, n_records: int,
          deterministic: Sequence[str] = mdl.DETERMINISTIC_RULES,
          labels: pd.DataFrame | None = None) -> None:
    """Unsupervised training: prior from deterministic rules, u by random sampling, m by EM.

    Each step is skipped (keeping the model's starting values) when the data are too few for
    it, e.g. no pair satisfies an EM blocking rule. ``labels`` (``unique_id_l, unique_id_r``:
    pairs reviewers accepted) then re-estimate m when there are at least 10.
    """
    tr = linker.training
    try:
        tr.estimate_probability_two_random_records_match(list(deterministic), recall=0.7)
    except Exception as exc:  # noqa: BLE001 - too few pairs: keep the prior
        log.info("prior not estimated: %s", type(exc).__name__)
    max_pairs = float(min(max(n_records * 20, 1e5), 3e6)) + 1  # +1: not Splink's default
    tr.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    for rule in training_rules:
        try:
            tr.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=2e6, estimate_without_term_frequencies=True)
        except Exception as exc:  # noqa: BLE001 - EM needs pairs; keep starting m values
            log.info("EM session skipped: %s", type(exc).__name__)
    if labels is not None and len(labels) >= 10:
        try:
            sdf = linker._db_api.register(pa.Table.from_pandas(labels, preserve_index=False))
            tr.estimate_m_from_pairwise_labels(sdf)  # type: ignore[no-untyped-call]
        except Exception as exc:  # noqa: BLE001
            log.info("labels not used: %s", type(exc).__name__)


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


def _ordered(ids: Sequence[str]) -> Callable[[str], Any]:
    if all(i.isdigit() for i in ids):
        return lambda s: (int(s), s)
    return lambda s: s


def cluster(ids: Sequence[str], pairs: pd.DataFrame, threshold: float
            ) -> tuple[dict[str, str], dict[str, float]]:
    """Connected components of ``pairs`` at ``threshold``; see :class:`LinkResult`.

    Record ids that are all digits are ordered as numbers (``"9" < "10"``), others as text.
    """
    index = {rid: i for i, rid in enumerate(ids)}
    n = len(ids)
    strong = pairs[pairs["match_probability"] >= threshold]
    li = strong["unique_id_l"].map(index).to_numpy(dtype=np.int64)
    ri = strong["unique_id_r"].map(index).to_numpy(dtype=np.int64)
    graph = coo_matrix((np.ones(len(li), dtype=np.int8), (li, ri)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    key = _ordered(ids)
    head: dict[int, str] = {}
    for rid, lab in zip(ids, labels.tolist(), strict=True):
        cur = head.get(lab)
        if cur is None or key(rid) < key(cur):
            head[lab] = rid
    assignment = {rid: head[lab] for rid, lab in zip(ids, labels.tolist(), strict=True)}
    best: dict[str, float] = {}
    lab_l = labels[pairs["unique_id_l"].map(index).to_numpy(dtype=np.int64)]
    lab_r = labels[pairs["unique_id_r"].map(index).to_numpy(dtype=np.int64)]
    inside = pairs[lab_l == lab_r]
    for col in ("unique_id_l", "unique_id_r"):
        top = inside.groupby(col)["match_probability"].max()
        for rid, p in top.items():
            if p > best.get(str(rid), -1.0):
                best[str(rid)] = float(p)
    return assignment, best


def link(df: pd.DataFrame, *, settings: SettingsCreator | None = None,
         training_rules: Sequence[Any] = mdl.PERSON_TRAINING_RULES,
         deterministic: Sequence[str] = mdl.DETERMINISTIC_RULES,
         threshold: float = DEFAULT_THRESHOLD, min_probability: float | None = None,
         seed: int = 0, backend: Backend = "duckdb", spark: Any = None,
         labels: pd.DataFrame | None = None, trained: dict[str, Any] | None = None
         ) -> LinkResult:
    """Train the model on ``df`` (a :func:`~maillon.link.prepare.prepare` frame), score the
    blocked pairs with probability >= ``min_probability`` (default ``threshold``) and cluster.

    ``trained``: a model saved by ``linker.misc.save_model_to_json()`` (e.g. on another
    backend), used as is instead of training.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if trained is not None:
        model = retarget(trained, settings or mdl.person_settings(), backend)
        linker = make_linker(df, model, backend=backend, spark=spark)
    else:
        linker = make_linker(df, settings or mdl.person_settings(), backend=backend,
                             spark=spark)
        train(linker, training_rules=training_rules, seed=seed, n_records=len(df),
              deterministic=deterministic, labels=labels)
    t1 = time.perf_counter()
    timings["train"] = t1 - t0
    cut = threshold if min_probability is None else min(min_probability, threshold)
    predictions = linker.inference.predict(threshold_match_probability=cut)
    pairs = _pairs_frame(predictions)
    t2 = time.perf_counter()
    timings["predict"] = t2 - t1
    ids = df["unique_id"].tolist()
    assignment, best = cluster(ids, pairs, threshold)
    timings["cluster"] = time.perf_counter() - t2
    return LinkResult(pairs=pairs, cluster=assignment, best=best, linker=linker,
                      timings=timings)


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
