"""Public face of the store: open a workspace's database, migrated and ready."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from maillon.core.settings import Settings
from maillon.store.db import drop_schema, make_engine, migrate, session_factory, transaction

__all__ = ["Store", "drop_schema", "open_store", "transaction"]


@dataclass
class Store:
    """An open store: its engine and session factory. ``dialect`` is ``sqlite``/``postgresql``."""

    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @cached_property
    def read_sessions(self) -> sessionmaker[Session]:
        """Sessions for requests that only read, one statement after another.

        On PostgreSQL their connections run in autocommit: no ``BEGIN`` before the first query
        and no ``ROLLBACK`` when the session closes, two round trips fewer per request. At the
        default READ COMMITTED level each statement sees its own snapshot inside a transaction
        too, so the rows read are the same. On SQLite, where a read transaction costs no round
        trip, they are the ordinary sessions. Never write through them: nothing would roll back.
        """
        if self.dialect != "postgresql":
            return self.sessions
        return session_factory(self.engine.execution_options(isolation_level="AUTOCOMMIT"))

    def close(self) -> None:
        self.engine.dispose()


def open_store(settings: Settings, *, schema: str | None = None, upgrade: bool = True) -> Store:
    """Open (and by default migrate to the latest schema) the store ``settings`` point at."""
    engine = make_engine(settings.effective_database_url, schema=schema)
    if upgrade:
        migrate(engine)
    return Store(engine=engine, sessions=session_factory(engine))
