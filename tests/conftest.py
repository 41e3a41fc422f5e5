"""Shared fixtures.

* ``store``: a migrated, empty store. SQLite always; tests marked ``database`` run a second
  time on PostgreSQL when ``MAILLON_TEST_DATABASE_URL`` is set, in a schema of this run's own
  that is dropped at the end (tables are emptied between tests).
* ``shared``: the folder of real reference data (``MAILLON_SHARED`` or ``../shared`` beside the
  repository); tests that need it skip with the reason, except under ``CI=true`` where its
  absence fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from maillon.core.settings import Settings
from maillon.store.api import Store, drop_schema, open_store
from maillon.store.db import make_engine, migrate, session_factory
from maillon.store.registry import Base

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("MAILLON_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"


def shared_path() -> Path:
    return Path(os.environ.get("MAILLON_SHARED") or REPO.parent / "shared")


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared reference folder, or skip (fail under CI=true) when it is absent."""
    path = shared_path()
    if not (path / "reference").is_dir():
        reason = f"reference data not found at {path} (set MAILLON_SHARED)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = ["sqlite"]
        if metafunc.definition.get_closest_marker("database") and PG_URL:
            backends.append("postgresql")
        metafunc.parametrize("backend", backends, scope="function")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "maillon.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_schema() -> Iterator[str]:
    schema = f"maillon_test_{os.getpid()}_{secrets.token_hex(3)}"
    engine = make_engine(PG_URL, schema=schema)
    migrate(engine)
    engine.dispose()
    yield schema
    drop_schema(PG_URL, schema)


@pytest.fixture(autouse=True)
def _keys_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Key file, audit anchor and cheap Argon2 for every test and every subprocess it starts."""
    monkeypatch.setenv("MAILLON_KEY_FILE", str(tmp_path / "maillon-keys" / "keys.json"))
    monkeypatch.setenv("MAILLON_AUDIT_ANCHOR", str(tmp_path / "maillon-keys" / "anchor.json"))
    monkeypatch.setenv("MAILLON_ARGON2_PROFILE", "test")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "maillon-data",
                    key_file=tmp_path / "maillon-keys" / "keys.json",
                    audit_anchor=tmp_path / "maillon-keys" / "anchor.json")


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def store(
    request: pytest.FixtureRequest, backend: str, settings: Settings, _sqlite_template: Path
) -> Iterator[Store]:
    if backend == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(_sqlite_template, settings.data_dir / "maillon.sqlite")
        opened = open_store(settings, upgrade=False)
        yield opened
        opened.close()
        return
    schema = request.getfixturevalue("_pg_schema")
    engine = make_engine(PG_URL, schema=schema)
    opened = Store(engine=engine, sessions=session_factory(engine))
    yield opened
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} CASCADE"))
    opened.close()


@pytest.fixture
def anonymous_client(settings: Settings, store: Store) -> Iterator[TestClient]:
    """The web app with nobody signed in."""
    from maillon.web.app import create_app

    with TestClient(create_app(settings, store)) as c:
        yield c


@pytest.fixture
def client(anonymous_client: TestClient, store: Store) -> TestClient:
    """The web app signed in (bearer token) as a supervisor of "Police Unit 7"."""
    from tests.auth_helpers import sign_in

    sign_in(anonymous_client, store)
    return anonymous_client


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local SparkSession for the whole run (starting one costs seconds).

    Tests that use it are marked ``spark``. Skips when PySpark or Java is missing, except under
    ``CI=true`` where that fails.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - pyspark is a dev dependency
        if IN_CI:
            pytest.fail("pyspark is not installed")
        pytest.skip("pyspark is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if IN_CI:
            pytest.fail("Java is needed for the spark tests")
        pytest.skip("Java is needed for the spark tests")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("maillon-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
