"""Public face of the identify capability."""

from __future__ import annotations

from maillon.identify.context import Actor, Tools, audit, write_scope
from maillon.identify.delphi import (
    ASSESS,
    NO_REFER,
    REFER,
    GradeCounts,
    Recommendation,
    determine,
    dimension_rule,
    evaluate,
)
from maillon.identify.frameworks import Framework, builtin_frameworks, get_framework
from maillon.identify.i18n import Translator, locales, pick_locale
from maillon.identify.service import (
    CALLER_TYPES,
    Answer,
    ScreeningSummary,
    ScreeningView,
    Subject,
    get_screening,
    is_child,
    list_hotline_calls,
    list_screenings,
    record_hotline_call,
    record_screening,
)

__all__ = [
    "ASSESS", "CALLER_TYPES", "NO_REFER", "REFER", "Actor", "Answer", "Framework",
    "GradeCounts", "Recommendation", "ScreeningSummary", "ScreeningView", "Subject", "Tools",
    "Translator", "audit", "builtin_frameworks", "determine", "dimension_rule", "evaluate",
    "get_framework", "get_screening", "is_child", "list_hotline_calls", "list_screenings",
    "locales", "pick_locale", "record_hotline_call", "record_screening", "write_scope",
]
