"""The Alembic history builds exactly the tables the models declare, on every backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from maillon.store.api import Store
from maillon.store.registry import Base


@pytest.mark.database
def test_migrations_match_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
