"""Constants of the link capability that must import without Splink (the CLI reads them)."""

DEFAULT_THRESHOLD = 0.9
"""Maillon model's operating point (match probability), calibrated on ``bench/link_bench.py``."""

REVIEW_BAND = (0.5, 0.97)
"""Pairs scored in ``[low, high)`` go to the review queue (unless already decided)."""
