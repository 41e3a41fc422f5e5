"""Statistics benchmark: all standard tables over 1,000,000 generated case records in DuckDB.

    .venv/bin/python bench/stats_bench.py [--records 1000000] [--threads 2] [--seed 1]

Generates (inside DuckDB, seeded) the raw tables Maillon reads from the store: one row per
person record (80 % victims, 20 % perpetrators) with gender, birth year, registration year and
reporting country; exploitation-type and citizenship codes (about 1.1 per victim); exploitation
events with countries. Then times, in the same run and on the same connection:

* ``scan``: one ``GROUP BY`` over the person records (registration year x gender, counted) —
  the speed-of-light reference;
* ``units``: deriving the counting units (with ``--linked``, one per linked person, whose
  attributes are its earliest record's) (sex, age group, form, citizenship group with EU
  membership by year, M49 region...) with :data:`maillon.stats.source.UNITS_SQL`;
* ``tables``: every standard case table (counts, margins and cell suppression with its LP audit);
* and reports ``(units + tables) / scan``.
"""

from __future__ import annotations

import argparse
import time

import duckdb

from maillon.stats.compute import compute_table
from maillon.stats.definitions import tables
from maillon.stats.source import CaseData, build_units

GENERATE = """
CREATE OR REPLACE TABLE person_raw AS
SELECT 'p' || i AS person_id, {unit} AS unit_id, 'c' || (i // 2) AS case_id,
       'org' || (i % 7) AS organisation_id,
       CASE WHEN hash(i, 1) % 5 = 0 THEN 'Perpetrator' ELSE 'Victim' END AS role,
       CASE WHEN hash(i, 2) % 100 < 62 THEN 'Feminine'
            WHEN hash(i, 2) % 100 < 96 THEN 'Masculine'
            WHEN hash(i, 2) % 100 < 97 THEN 'NonConforming' ELSE NULL END AS gender,
       CASE WHEN hash(i, 3) % 10 < 8 THEN 1960 + CAST(hash(i, 4) % 55 AS INT) END AS birth_year,
       CASE WHEN hash(i, 3) % 10 = 8 THEN '18--20' END AS age_band,
       CAST(NULL AS INT) AS age_trafficked,
       2008 + CAST(hash(i, 5) % 17 AS INT) AS reg_year,
       ['FR', 'BE', 'DE', 'ES', 'IT', 'NL', NULL][1 + CAST(i % 7 AS INT)] AS org_country
FROM range({n}) t(i);

CREATE OR REPLACE TABLE codes_raw AS
SELECT person_id, 'exploitation_type' AS vocabulary,
       ['SexualExploitation', 'SexualExploitation', 'ForcedLabour', 'ForcedBegging',
        'ForcedMarriage', 'ChildLabour'][1 + CAST(hash(person_id, 6) % 6 AS INT)] AS code
FROM person_raw WHERE role = 'Victim'
UNION ALL
SELECT person_id, 'exploitation_type', 'ForcedLabour'
FROM person_raw WHERE role = 'Victim' AND hash(person_id, 7) % 10 = 0
UNION ALL
SELECT person_id, 'citizenship',
       ['FR', 'RO', 'NG', 'VN', 'BG', 'AL', 'CN', 'BR', 'UA', 'MA', 'DE', 'IN', 'HU',
        'GB', 'PL', 'SY'][1 + CAST(hash(person_id, 8) % 16 AS INT)]
FROM person_raw WHERE hash(person_id, 9) % 20 <> 0;

CREATE OR REPLACE TABLE events_raw AS
SELECT case_id, NULL AS person_id,
       ['FR', 'BE', 'DE', 'ES', 'IT', 'NL', 'TH', 'US', 'AE', 'MX'][
           1 + CAST(hash(case_id, 10) % 10 AS INT)] AS country
FROM (SELECT DISTINCT case_id FROM person_raw);
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--linked", action="store_true",
                        help="records grouped into linked persons "
                             "(unit ids drawn among 0.8 x records)")
    args = parser.parse_args()

    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    t0 = time.perf_counter()
    unit = (f"'u' || (hash(i, 11) % {int(args.records * 0.8)})" if args.linked
            else "'p' || i")
    con.execute(GENERATE.format(n=args.records, unit=unit))
    print(f"generated {args.records:,} person records in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    scan = con.execute("SELECT reg_year, gender, count(*) FROM person_raw GROUP BY ALL").fetchall()
    t_scan = time.perf_counter() - t0
    print(f"scan    single GROUP BY over person records   {t_scan:8.3f} s ({len(scan)} groups)")

    t0 = time.perf_counter()
    build_units(con, linked=args.linked)
    t_units = time.perf_counter() - t0
    units = con.execute("SELECT count(*) FROM units").fetchall()[0][0]
    print(f"units   derive counting units                 {t_units:8.3f} s ({units:,} units)")

    data = CaseData(con=con, linked=args.linked, records=args.records)
    t_tables = 0.0
    for defn in tables().values():
        if defn.source != "cases":
            continue
        t0 = time.perf_counter()
        table = compute_table(data, defn.name)
        spent = time.perf_counter() - t0
        t_tables += spent
        audit = table.audit
        print(f"table   {defn.name:38} {spent:8.3f} s ({len(table.rows)} cells, "
              f"{audit.get('primary', 0)} primary, {audit.get('secondary', 0)} secondary "
              "suppressed)")
    total = t_units + t_tables
    print(f"total   units + all tables                    {total:8.3f} s")
    print(f"ratio   (units + tables) / scan = {total / t_scan:.1f}x; "
          f"tables only / scan = {t_tables / t_scan:.1f}x")


if __name__ == "__main__":
    main()
