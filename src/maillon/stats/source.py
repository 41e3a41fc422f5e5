"""Case data for statistics: the store's non-personal columns, loaded into DuckDB.

Only non-personal columns are read (role, gender, birth year, age band, registration year,
codes, countries): names and other encrypted fields are never selected, let alone decrypted.
The raw tables are then turned into one row per *counting unit* by :data:`UNITS_SQL`, which the
benchmark runs on generated data too.

Counting unit: until record linkage provides a ``person_cluster`` table (``person_id``,
``cluster_id``), each person record is a unit ("records"); when that table exists, each cluster
is ("linked persons") and its attributes are those of its earliest registered record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pandas as pd
from sqlalchemy import Engine, inspect, text

from maillon.stats.definitions import dimensions, eu_members, m49

RAW_COLUMNS = {
    "person_raw": ["person_id", "unit_id", "case_id", "organisation_id", "role", "gender",
                   "birth_year", "age_band", "age_trafficked", "reg_year", "org_country"],
    "codes_raw": ["person_id", "vocabulary", "code"],
    "events_raw": ["case_id", "person_id", "country"],
}

FIRST_RECORD_LINKED = """
    SELECT * FROM person_raw
    QUALIFY row_number() OVER (PARTITION BY unit_id, role
                               ORDER BY reg_year NULLS LAST, person_id) = 1"""
"""Linked: a unit's attributes are those of its earliest registered record."""

UNITS_SQL = """
CREATE OR REPLACE TABLE units AS
WITH first_record AS ({first_record}),
forms AS (
    SELECT c.person_id,
           CASE WHEN count(DISTINCT f.form) > 1 THEN 'MULTI' ELSE min(f.form) END AS form
    FROM codes_raw c JOIN map_form f ON f.code = c.code
    WHERE c.vocabulary = 'exploitation_type'
    GROUP BY c.person_id
),
own_event AS (
    SELECT e.person_id, min(e.country) AS country FROM events_raw e
    WHERE e.person_id IS NOT NULL GROUP BY e.person_id
),
case_event AS (
    SELECT e.case_id, min(e.country) AS country FROM events_raw e
    WHERE e.person_id IS NULL GROUP BY e.case_id
),
expl AS (
    SELECT p.person_id, coalesce(o.country, c.country) AS country
    FROM first_record p
    LEFT JOIN own_event o ON o.person_id = p.person_id
    LEFT JOIN case_event c ON c.case_id = p.case_id
),
base AS (
    SELECT p.*, coalesce(p.org_country, x.country) AS rc, x.country AS expl_country
    FROM first_record p LEFT JOIN expl x ON x.person_id = p.person_id
),
cit AS (
    SELECT b.person_id,
           bool_or(c.code = b.rc) AS own,
           bool_or(eu.alpha2 IS NOT NULL) AS eu,
           min(c.code) AS first_code
    FROM base b
    JOIN codes_raw c ON c.person_id = b.person_id AND c.vocabulary = 'citizenship'
    LEFT JOIN eu ON eu.alpha2 = c.code AND b.reg_year BETWEEN eu.first_year AND eu.last_year
    GROUP BY b.person_id
)
SELECT b.unit_id,
       b.role,
       b.organisation_id,
       coalesce(b.rc, '_U') AS country,
       coalesce(CAST(b.reg_year AS VARCHAR), '_U') AS year,
       coalesce(ms.sex, '_U') AS sex,
       CASE WHEN b.reg_year IS NOT NULL AND b.birth_year IS NOT NULL
                 THEN CASE WHEN b.reg_year - b.birth_year < 18 THEN 'Y_LT18' ELSE 'Y_GE18' END
            WHEN ab.age_group IS NOT NULL THEN ab.age_group
            WHEN b.age_trafficked >= 18 THEN 'Y_GE18'
            ELSE '_U' END AS age_group,
       coalesce(f.form, '_U') AS form,
       CASE WHEN ct.person_id IS NULL THEN '_U'
            WHEN ct.own THEN b.rc
            ELSE ct.first_code END AS citizenship,
       CASE WHEN ct.person_id IS NULL THEN '_U'
            WHEN ct.own THEN 'NAT'
            WHEN b.rc IS NULL OR b.reg_year IS NULL THEN '_U'
            WHEN ct.eu THEN 'EU_OTH'
            ELSE 'NEU' END AS citizenship_group,
       coalesce(m.region, '_U') AS region,
       coalesce(m.subregion, '_U') AS subregion
FROM base b
LEFT JOIN map_sex ms ON ms.gender = b.gender
LEFT JOIN map_age_band ab ON ab.age_band = b.age_band
LEFT JOIN forms f ON f.person_id = b.person_id
LEFT JOIN cit ct ON ct.person_id = b.person_id
LEFT JOIN m49 m ON m.alpha2 = b.expl_country
"""


@dataclass(frozen=True)
class CaseData:
    """An in-memory DuckDB database holding ``units`` (one row per counting unit)."""

    con: duckdb.DuckDBPyConnection
    linked: bool
    records: int

    @property
    def unit_note(self) -> str:
        if self.linked:
            return ("Counting unit: linked persons (records of the same person, as linked by "
                    "record linkage, count once).")
        return ("Counting unit: records. Record linkage has not run, so a person recorded by "
                "several organisations is counted once per record.")


def reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Load the mapping tables (sex, age bands, forms, EU membership, M49) into ``con``."""
    from maillon.vocab.api import country

    dims = dimensions()
    con.execute("CREATE OR REPLACE TABLE map_sex (gender VARCHAR, sex VARCHAR)")
    con.executemany("INSERT INTO map_sex VALUES (?, ?)",
                    list(dims["sex"]["from_gender"].items()))
    con.execute("CREATE OR REPLACE TABLE map_age_band (age_band VARCHAR, age_group VARCHAR)")
    con.executemany("INSERT INTO map_age_band VALUES (?, ?)",
                    list(dims["age_group"]["from_age_band"].items()))
    con.execute("CREATE OR REPLACE TABLE map_form (code VARCHAR, form VARCHAR)")
    con.executemany("INSERT INTO map_form VALUES (?, ?)",
                    list(dims["form"]["from_exploitation_type"].items()))
    con.execute("CREATE OR REPLACE TABLE eu (alpha2 VARCHAR, first_year INT, last_year INT)")
    rows = []
    for code, (joined, left) in eu_members().items():
        last = 9999 if left is None else (left.year if (left.month, left.day) == (12, 31)
                                          else left.year - 1)
        rows.append((code, joined.year, last))
    con.executemany("INSERT INTO eu VALUES (?, ?, ?)", rows)
    con.execute("CREATE OR REPLACE TABLE m49 (alpha2 VARCHAR, region VARCHAR, subregion VARCHAR)")
    m49_rows = []
    for alpha3, area in m49().items():
        alpha2 = country(alpha3)
        if alpha2:
            m49_rows.append((alpha2, area.region, area.subregion))
    con.executemany("INSERT INTO m49 VALUES (?, ?, ?)", m49_rows)


def build_units(con: duckdb.DuckDBPyConnection, *, linked: bool = False) -> None:
    """Derive ``units`` from the raw tables already in ``con`` (one record per unit unless
    ``linked``)."""
    reference_tables(con)
    con.execute(UNITS_SQL.format(
        first_record=FIRST_RECORD_LINKED if linked else "SELECT * FROM person_raw"))


def _has_clusters(engine: Engine) -> bool:
    insp = inspect(engine)
    if not insp.has_table("person_cluster"):
        return False
    names = {c["name"] for c in insp.get_columns("person_cluster")}
    if not {"person_id", "cluster_id"} <= names:
        return False
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1 FROM person_cluster LIMIT 1")).first() is not None


def load_case_data(engine: Engine, organisation_ids: Iterable[str] | None = None) -> CaseData:
    """Read the store's non-personal case columns into DuckDB and derive the units.

    ``organisation_ids`` restricts the records to those organisations (the caller's scope);
    ``None`` reads all.
    """
    linked = _has_clusters(engine)
    orgs = None if organisation_ids is None else sorted(set(organisation_ids))
    params: dict[str, object] = {}

    def in_scope(column: str) -> str:
        if orgs is None:
            return "1 = 1"
        if not orgs:
            return "1 = 0"
        params.update({f"o{i}": o for i, o in enumerate(orgs)})
        return f"{column} IN ({', '.join(f':o{i}' for i in range(len(orgs)))})"

    unit = "coalesce(pc.cluster_id, p.id)" if linked else "p.id"
    cluster_join = "LEFT JOIN person_cluster pc ON pc.person_id = p.id" if linked else ""
    # only fixed SQL fragments and bound parameters go into these queries
    person_sql = f"""
        SELECT p.id, {unit}, p.case_id, p.organisation_id, p.role, p.gender, p.birth_year,
               p.age_band, v.age_when_trafficked, c.registration_date, o.country
        FROM person p
        LEFT JOIN case_file c ON c.id = p.case_id
        LEFT JOIN organisation o ON o.id = p.organisation_id
        LEFT JOIN victim_context v ON v.person_id = p.id
        {cluster_join}
        WHERE {in_scope("p.organisation_id")}"""  # noqa: S608
    codes_sql = f"""
        SELECT pc2.person_id, pc2.vocabulary, pc2.code FROM person_code pc2
        JOIN person p ON p.id = pc2.person_id
        WHERE pc2.vocabulary IN ('exploitation_type', 'citizenship')
          AND {in_scope("p.organisation_id")}"""  # noqa: S608
    events_sql = f"""
        SELECT e.case_id, e.person_id, e.country FROM trafficking_event e
        WHERE e.event_type = 'Exploitation' AND e.country IS NOT NULL
          AND {in_scope("e.organisation_id")}"""  # noqa: S608
    with engine.connect() as conn:
        persons = conn.execute(text(person_sql), params).all()
        codes = conn.execute(text(codes_sql), params).all()
        events = conn.execute(text(events_sql), params).all()
    person_df = pd.DataFrame(
        [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
          _year(r[9]), r[10]) for r in persons],
        columns=RAW_COLUMNS["person_raw"],
    )
    con = duckdb.connect()
    _load(con, "person_raw", person_df, {"birth_year": "Int64", "age_trafficked": "Int64",
                                         "reg_year": "Int64"})
    _load(con, "codes_raw", pd.DataFrame([tuple(r) for r in codes],
                                         columns=RAW_COLUMNS["codes_raw"]), {})
    _load(con, "events_raw", pd.DataFrame([tuple(r) for r in events],
                                          columns=RAW_COLUMNS["events_raw"]), {})
    build_units(con, linked=linked)
    return CaseData(con=con, linked=linked, records=len(person_df))


def _year(value: object) -> int | None:
    if value is None:
        return None
    year = getattr(value, "year", None)
    if isinstance(year, int):
        return year
    return int(str(value)[:4])


def _load(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame,
          ints: dict[str, str]) -> None:
    frame = frame.astype({c: t for c, t in ints.items()})
    for column in frame.columns:
        if column not in ints:
            frame[column] = frame[column].astype("object")
    con.register("_frame", frame)
    casts = ", ".join(
        f'CAST("{c}" AS {"INTEGER" if c in ints else "VARCHAR"}) AS "{c}"' for c in frame.columns
    )
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {casts} FROM _frame")  # noqa: S608
    con.unregister("_frame")
