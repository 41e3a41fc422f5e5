"""The person linkage model (Splink, Fellegi-Sunter) and the plain documentation-style baseline.

:func:`person_settings` builds Maillon's model; :func:`plain_settings` the configuration written
the way Splink's documentation teaches (the benchmark's baseline). Both take the frame made by
:func:`maillon.link.prepare.prepare` and run unchanged on DuckDB and Spark: every level is either
a Splink library level (translated per dialect by Splink) or plain SQL both dialects share
(``=``, ``abs``, ``substr``).

Maillon's model, per comparison (most specific level first; each level's weight is learnt):

* given name: exact (term-frequency adjusted), same nickname group (``tom`` ~ ``thomas``,
  ``nicknames.yaml``), Jaro-Winkler >= 0.92, swapped with the other record's family name,
  same skeleton (``mohammed`` ~ ``muhammad``: transliteration variants), Jaro-Winkler >= 0.8;
* family name: exact (TF), Jaro-Winkler >= 0.92, swapped with the other's given name, same
  skeleton, Jaro-Winkler >= 0.8;
* birth date: same day, one typo in the date, same month, same year (year-only dates reach
  this level), within 1 year, within 5 years;
* sex: same; citizenship: at least one in common; each extra column: exact (TF).

Blocking (:data:`PERSON_BLOCKING`) adds to the usual name/date rules a name-swap rule and a
skeleton rule, which find pairs that exact-name rules miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on
from splink.internals.comparison_level_creator import ComparisonLevelCreator

NAME_JW_HIGH = 0.92
NAME_JW_LOW = 0.8

NEAR_BIRTH_YEARS = 5
"""Name-key blocking rules skip pairs whose known birth years differ by more than this."""
_NEAR_BIRTH = ("(l.birth_year IS NULL OR r.birth_year IS NULL"
               f" OR abs(l.birth_year - r.birth_year) <= {NEAR_BIRTH_YEARS})")
_SAME_SEX = "(l.sex IS NULL OR r.sex IS NULL OR l.sex = r.sex)"
PERSON_BLOCKING: tuple[str, ...] = (
    f"l.given_key = r.given_key AND l.family_key = r.family_key AND {_NEAR_BIRTH}"
    f" AND {_SAME_SEX}",
    "l.family = r.family AND l.birth_year = r.birth_year",
    "l.given_canon = r.given_canon AND l.birth_date = r.birth_date",
    f"l.given_key = r.family_key AND l.family_key = r.given_key AND {_NEAR_BIRTH}"
    f" AND {_SAME_SEX}",
    "l.birth_date = r.birth_date AND substr(l.family_key, 1, 1) = substr(r.family_key, 1, 1)",
)
"""Maillon's prediction blocking rules (an OR-union: a pair is scored if any rule holds).

The name-key rules skip pairs whose birth years are both known and more than
:data:`NEAR_BIRTH_YEARS` apart, or whose sexes are both known and differ: with common names
(small name pools) such pairs are namesakes, and scoring them is most of the cost at a million
records (blocks grow with the square of their size). Measured on 200,000 synthetic records
(``bench/link_bench.py``, seed 7): 1.68 M blocked pairs with a 10-year window and no sex
filter on the swap rule, 1.39 M now, and the same 68,475 true pairs found. Asking the
family/year rule for the same given-name initial would cut them to 0.75 M (122 true pairs
lost) but costs 0.004 F1 on historical_50k (given-name variants that share no initial)."""

PLAIN_BLOCKING: tuple[str, ...] = (
    "l.given = r.given AND l.family = r.family",
    "l.family = r.family AND l.dob = r.dob",
    "l.given = r.given AND l.dob = r.dob",
    "l.family = r.family AND l.birth_year = r.birth_year",
)
"""The baseline's four blocking rules."""


def _null(col: str) -> ComparisonLevelCreator:
    return cll.CustomLevel(f"{col}_l IS NULL OR {col}_r IS NULL").configure(is_null_level=True)


def _given() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="given",
        comparison_levels=[
            _null("given"),
            cll.ExactMatchLevel("given").configure(
                tf_adjustment_column="given", m_probability=0.75),
            cll.CustomLevel("given_canon_l = given_canon_r", "same nickname group").configure(
                m_probability=0.06),
            cll.JaroWinklerLevel("given", NAME_JW_HIGH).configure(m_probability=0.06),
            cll.CustomLevel("given_l = family_r", "given = other's family (swap)").configure(
                m_probability=0.02),
            cll.CustomLevel("given_key_l = given_key_r", "same skeleton").configure(
                m_probability=0.04),
            cll.JaroWinklerLevel("given", NAME_JW_LOW).configure(m_probability=0.03),
            cll.ElseLevel().configure(m_probability=0.04),
        ],
    )


def _family() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="family",
        comparison_levels=[
            _null("family"),
            cll.ExactMatchLevel("family").configure(
                tf_adjustment_column="family", m_probability=0.8),
            cll.JaroWinklerLevel("family", NAME_JW_HIGH).configure(m_probability=0.07),
            cll.CustomLevel("family_l = given_r", "family = other's given (swap)").configure(
                m_probability=0.02),
            cll.CustomLevel("family_key_l = family_key_r", "same skeleton").configure(
                m_probability=0.04),
            cll.JaroWinklerLevel("family", NAME_JW_LOW).configure(m_probability=0.03),
            cll.ElseLevel().configure(m_probability=0.04),
        ],
    )


def _birth(fixed: bool = True) -> cl.CustomComparison:
    # m values fixed, not learnt: EM blocked on names sees many namesakes (common Vietnamese,
    # Chinese, Somali names) and would learn that "matches" often differ by decades. The values
    # are assumptions about how often the same person's birth date is recorded differently
    # across organisations (typo, day/month swap, year only, estimated age), documented in
    # docs/link.md.
    def lvl(creator: ComparisonLevelCreator, m: float) -> ComparisonLevelCreator:
        return creator.configure(m_probability=m, fix_m_probability=fixed)

    return cl.CustomComparison(
        output_column_name="birth",
        comparison_levels=[
            _null("birth_year"),
            lvl(cll.ExactMatchLevel("birth_date"), 0.80),
            lvl(cll.LevenshteinLevel("birth_date", 1), 0.06),
            lvl(cll.CustomLevel("birth_ym_l = birth_ym_r", "same month"), 0.02),
            lvl(cll.CustomLevel("birth_year_l = birth_year_r", "same year"), 0.06),
            lvl(cll.CustomLevel("abs(birth_year_l - birth_year_r) <= 1", "within 1 year"), 0.03),
            lvl(cll.CustomLevel("abs(birth_year_l - birth_year_r) <= 5", "within 5 years"),
                0.02),
            lvl(cll.ElseLevel(), 0.01),
        ],
    )


def _sex() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="sex",
        comparison_levels=[
            _null("sex"),
            cll.ExactMatchLevel("sex").configure(m_probability=0.97),
            cll.ElseLevel().configure(m_probability=0.03),
        ],
    )


def _citizenship() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="citizenship",
        comparison_levels=[
            _null("citizenship"),
            cll.ArrayIntersectLevel("citizenship", 1).configure(m_probability=0.95),
            cll.ElseLevel().configure(m_probability=0.05),
        ],
    )


def _extra(col: str) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name=col,
        comparison_levels=[
            _null(col),
            cll.ExactMatchLevel(col).configure(tf_adjustment_column=col, m_probability=0.9),
            cll.ElseLevel().configure(m_probability=0.1),
        ],
    )


def _id_number() -> cl.CustomComparison:
    # The blind index (keyed HMAC of the normalised number, the same in every organisation):
    # equal indexes mean equal numbers; the number itself never reaches the model. u is fixed:
    # two different persons (almost) never share a number, and random sampling on a store
    # where few records carry one would see mostly true matches. m (learnt): a person's
    # records often carry different documents (passport, national identity card).
    return cl.CustomComparison(
        output_column_name="id_number",
        comparison_levels=[
            _null("id_number"),
            cll.ExactMatchLevel("id_number").configure(
                m_probability=0.7, u_probability=1e-6, fix_u_probability=True),
            cll.ElseLevel().configure(m_probability=0.3, u_probability=1.0,
                                      fix_u_probability=True),
        ],
    )


# Starting u values (probability among non-matching pairs) of the store comparisons: random
# sampling replaces them when it sees the levels; on a small store it may not, and an
# untrained u would default to values that make an equal identity number worth nothing.


def _event_place() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="event_place",
        comparison_levels=[
            _null("event_country"),
            cll.ArrayIntersectLevel("event_city", 1).configure(
                label_for_charts="an event in the same city", m_probability=0.6,
                u_probability=0.01),
            cll.ArrayIntersectLevel("event_country", 1).configure(
                label_for_charts="an event in the same country", m_probability=0.3,
                u_probability=0.09),
            cll.ElseLevel().configure(m_probability=0.1, u_probability=0.9),
        ],
    )


def _event_time() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="event_time",
        comparison_levels=[
            _null("event_month"),
            cll.ArrayIntersectLevel("event_month", 1).configure(
                label_for_charts="overlapping event periods (same month)", m_probability=0.7,
                u_probability=0.02),
            cll.ElseLevel().configure(m_probability=0.3, u_probability=0.98),
        ],
    )


STORE_COLUMNS: tuple[str, ...] = ("id_number", "event_city", "event_country", "event_month")
"""Columns only the store gives (``maillon link run``), added by :func:`person_settings`
with ``store=True``: the identity number's blind index and the trafficking events' cities
(``CC|city``), countries and months (``YYYY-MM``, every month of each event's date range)."""


FRESH = "(l.fresh = 1 OR r.fresh = 1)"
"""Incremental runs: the condition added to every blocking rule, so that only pairs involving
a new or changed record (column ``fresh`` = 1) are scored."""


def person_settings(*, extra: Sequence[str] = (), waterfall: bool = False,
                    prior: float = 1e-4, fixed_birth: bool = True, store: bool = False,
                    fresh_only: bool = False) -> SettingsCreator:
    """Maillon's person model (module docstring); ``extra`` columns are compared exactly.

    ``waterfall`` keeps the per-comparison match weights in the predictions (for the review
    queue); ``prior`` is the starting probability that two random records match; ``store``
    adds the comparisons of :data:`STORE_COLUMNS` (identity number, event places and
    periods) and a blocking rule on the identity number; ``fresh_only`` restricts every
    blocking rule with :data:`FRESH` (the input then needs an integer column ``fresh``).
    """
    comparisons: list[Any] = [_given(), _family(), _birth(fixed_birth), _sex(), _citizenship()]
    comparisons += [_extra(c) for c in extra]
    blocking: list[Any] = list(PERSON_BLOCKING)
    blocking += [f"l.{c} = r.{c} AND l.given_canon = r.given_canon" for c in extra]
    if store:
        comparisons += [_id_number(), _event_place(), _event_time()]
        blocking.append("l.id_number = r.id_number")
    if fresh_only:
        blocking = [f"({rule}) AND {FRESH}" for rule in blocking]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        additional_columns_to_retain=["source"],
        retain_matching_columns=waterfall,
        retain_intermediate_calculation_columns=waterfall,
        em_convergence=0.001,
        max_iterations=25,
    )


def plain_settings(*, extra: Sequence[str] = ()) -> SettingsCreator:
    """The baseline written as Splink's documentation teaches (no nicknames, no skeletons).

    Jaro-Winkler name levels with term frequencies, the library's date-of-birth levels on the
    full date, exact sex, citizenship intersection, exact extras; four blocking rules.
    """
    comparisons: list[Any] = [
        cl.NameComparison("given").configure(term_frequency_adjustments=True),
        cl.NameComparison("family").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d"),
        cl.ExactMatch("sex"),
        cl.ArrayIntersectAtSizes("citizenship", [1]),
    ]
    comparisons += [cl.ExactMatch(c).configure(term_frequency_adjustments=True) for c in extra]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=list[Any](PLAIN_BLOCKING),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


PERSON_TRAINING_RULES: tuple[Any, ...] = (
    block_on("given_key", "family_key"),
    block_on("birth_date"),
)
"""EM sessions of Maillon's model: names fixed then birth date fixed."""

PLAIN_TRAINING_RULES: tuple[Any, ...] = (
    block_on("given", "family"),
    block_on("dob"),
)

DETERMINISTIC_RULES: tuple[str, ...] = (
    "l.given = r.given AND l.family = r.family AND l.birth_date = r.birth_date",
)
"""Rules used to estimate the prior (probability two random records match), recall 0.7."""
