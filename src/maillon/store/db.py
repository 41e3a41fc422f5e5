"""Engines, sessions and migrations for the operational store (SQLite or PostgreSQL).

One function builds an engine from a URL; an optional PostgreSQL ``schema`` confines everything
(tables and Alembic's version table) to that schema through the connection's ``search_path``,
which is how the test suite gets a private schema per run on a shared server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from maillon.core.errors import ConfigurationError


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA cache_size=-262144")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


PING_AFTER_IDLE_SECONDS = 10.0
"""A PostgreSQL connection idle in the pool for longer is pinged before it is handed out."""


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """Check a connection that sat idle before handing it out (server restarted, connection
    dropped by a firewall...): a dead one is replaced at once instead of failing a request.

    SQLAlchemy's ``pool_pre_ping`` pings at EVERY checkout, a round trip more per request
    (two or three per API read); a connection in steady use is alive, so only those idle for
    :data:`PING_AFTER_IDLE_SECONDS` are pinged. A connection that breaks while in use is
    still detected by SQLAlchemy, which then replaces every connection of the pool.
    """
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        with dbapi_conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_conn.rollback()
    except Exception as exc:  # noqa: BLE001 - any failure means: not usable
        raise DisconnectionError(f"idle connection is dead: {exc}") from exc


POOL_SIZE = 20
POOL_OVERFLOW = 40
"""Connections kept open, and extra ones allowed under load (see ``maillon.web.app``: a
request may hold three, and at most 16 requests run at once)."""


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for ``url``; for PostgreSQL, ``schema`` (created if missing) becomes the path."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        pool: dict[str, Any] = {}
        if parsed.database and parsed.database != ":memory:":
            pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
        engine = create_engine(url, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        connect_args: dict[str, Any] = {}
        if schema:
            if not schema.replace("_", "").isalnum():
                raise ConfigurationError(f"schema name {schema!r} must be alphanumeric")
            bootstrap = create_engine(url)
            with bootstrap.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            bootstrap.dispose()
            connect_args["options"] = f"-csearch_path={schema}"
        engine = create_engine(url, connect_args=connect_args, pool_size=POOL_SIZE,
                               max_overflow=POOL_OVERFLOW)
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", _ping_if_idle)
        return engine
    raise ConfigurationError(
        f"unsupported database {backend!r}: use sqlite:///FILE or postgresql+psycopg://..."
    )


def drop_schema(url: str, schema: str) -> None:
    """Drop a PostgreSQL schema and everything in it (used by the tests at the end of a run)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration pointing at the migrations shipped inside the package."""
    cfg = Config()
    location = resources.files("maillon.store") / "migrations"
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Bring the store's schema to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any exception."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def session_on(conn: Connection) -> Iterator[Session]:
    """An ORM session joined to ``conn``'s open transaction; flushed, never committed, on exit.

    Lets ORM code and Core code (such as the audit log) share one transaction.
    """
    with Session(bind=conn, expire_on_commit=False) as session:
        yield session
        session.flush()
