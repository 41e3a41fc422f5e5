"""Public names of the collect capability (import pipeline, case queries, synthetic data)."""

from maillon.collect.batches import BatchView, get_batch, list_batches
from maillon.collect.cases import (
    CaseDetail,
    CaseFilter,
    CaseSummary,
    PersonView,
    count_cases,
    get_case,
    list_cases,
    search_keys,
)
from maillon.collect.fields import FIELDS, FieldSpec
from maillon.collect.profiles import Profile, builtin_profiles, load_profile
from maillon.collect.readers import FORMATS
from maillon.collect.service import (
    ImportOptions,
    ImportReport,
    import_file,
    quarantine_rows,
)

__all__ = [
    "BatchView",
    "get_batch",
    "list_batches",
    "FIELDS",
    "FORMATS",
    "CaseDetail",
    "CaseFilter",
    "CaseSummary",
    "FieldSpec",
    "ImportOptions",
    "ImportReport",
    "PersonView",
    "Profile",
    "builtin_profiles",
    "count_cases",
    "get_case",
    "import_file",
    "list_cases",
    "load_profile",
    "quarantine_rows",
    "search_keys",
]
