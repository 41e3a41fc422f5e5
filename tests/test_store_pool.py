"""The PostgreSQL pool replaces a connection that died while idle, without failing a request."""

from __future__ import annotations

import os
import secrets

import pytest
from sqlalchemy import text

from maillon.store import db
from maillon.store.db import drop_schema, make_engine

PG_URL = os.environ.get("MAILLON_TEST_DATABASE_URL", "")


@pytest.mark.skipif(not PG_URL, reason="needs MAILLON_TEST_DATABASE_URL (PostgreSQL)")
def test_idle_connection_killed_by_the_server_is_replaced(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    schema = f"maillon_pool_{os.getpid()}_{secrets.token_hex(3)}"
    engine = make_engine(PG_URL, schema=schema)
    try:
        with engine.connect() as conn:
            victim = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as conn:  # the same pooled connection: used, not idle, no ping
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == victim
        other = make_engine(PG_URL)
        with other.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
        other.dispose()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # as if idle for a while
        with engine.connect() as conn:
            replaced = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert replaced != victim
    finally:
        engine.dispose()
        drop_schema(PG_URL, schema)
