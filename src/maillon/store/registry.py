"""Imports every module that defines tables, so ``Base.metadata`` is complete.

Alembic's environment, the test fixtures and anything that walks all tables import this module
instead of listing the capability packages themselves.
"""

from __future__ import annotations

import maillon.auth.models
import maillon.identify.models
import maillon.link.models
import maillon.money.models
import maillon.refer.models
import maillon.screen.models
import maillon.stats.models  # noqa: F401
import maillon.store.audit_models
import maillon.store.crypto_models
import maillon.store.models  # noqa: F401
from maillon.store.base import Base

__all__ = ["Base"]
