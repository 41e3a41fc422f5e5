"""What every capability's command group shares: the root settings and one error format.

The capability CLIs (``maillon link``, ``screen``, ``stats``, ``money``...) are Typer sub-apps;
the root ``maillon`` callback puts the :class:`~maillon.core.settings.Settings` on the root
context. Errors are printed as ``error: <message>`` then one indented line per detail (row,
field, reason), never with Rich markup, since details may quote user data.
"""

from __future__ import annotations

import typer
from rich.console import Console

from maillon.core.errors import MaillonError
from maillon.core.settings import Settings

_err = Console(stderr=True)


def root_settings(ctx: typer.Context) -> Settings:
    """The settings the root ``maillon`` command put on its context."""
    settings: Settings = ctx.find_root().obj
    return settings


def print_error(exc: MaillonError, *, limit: int | None = None) -> None:
    """``error: <message>`` and the first ``limit`` details (all when None) on stderr."""
    _err.print(f"error: {exc.message}", markup=False, highlight=False)
    shown = exc.details if limit is None else exc.details[:limit]
    for detail in shown:
        _err.print(f"  {detail}", markup=False, highlight=False)
    if len(exc.details) > len(shown):
        _err.print(f"  ... and {len(exc.details) - len(shown)} more", markup=False)
