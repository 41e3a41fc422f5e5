"""Public face of the privacy capability."""

from maillon.privacy.extracts import COLUMNS, ExtractResult, make_extract
from maillon.privacy.subjects import erase_subject, export_subject

__all__ = ["COLUMNS", "ExtractResult", "erase_subject", "export_subject", "make_extract"]
