"""Several server processes over one store: `maillon serve --workers N`.

What must hold across processes: one audit hash chain (appenders serialise in the database,
the anchor file is written under a file lock), sign-in failures and locks counted in the
database (not per process, or guessing could be spread over workers), sessions in the database
(a sign-out, or a revocation, holds in every worker within the session cache time).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from maillon.auth import api as auth
from maillon.collect import api as collect
from maillon.core.settings import Settings
from maillon.store.api import Store
from maillon.store.audit import AuditLog, verify
from maillon.store.audit_models import AuditEntry
from maillon.store.base import table_of
from maillon.web.security import SESSION_CACHE_SECONDS, SessionCache
from tests import auth_helpers
from tests.auth_helpers import PASSWORD, make_user, organisation_id
from tests.factories import GOOD_ROWS, write_csv

PG_URL = os.environ.get("MAILLON_TEST_DATABASE_URL", "")
BIN = Path(sys.executable).parent / "maillon"
KEY = bytes(range(32))
APPENDER = textwrap.dedent("""
    import sys, threading
    from pathlib import Path
    from maillon.store.audit import AuditLog
    from maillon.store.db import make_engine

    url, schema, anchor, name, count = sys.argv[1:6]
    engine = make_engine(url, schema=schema or None)
    audit = AuditLog(bytes(range(32)), Path(anchor))

    def work(thread):
        for i in range(int(count)):
            with audit.audit_scope(engine) as conn:
                audit.append(conn, actor=f"{name}-{thread}", action="read", resource="case",
                             resource_id=str(i), source="127.0.0.1")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
""")

pytestmark = pytest.mark.database


def _database_url(store: Store, backend: str, request: pytest.FixtureRequest) -> tuple[str, str]:
    """The store's URL for another process, and its PostgreSQL schema ('' on SQLite)."""
    if backend == "sqlite":
        return store.engine.url.render_as_string(hide_password=False), ""
    return PG_URL, str(request.getfixturevalue("_pg_schema"))


def test_two_processes_append_to_one_chain(store: Store, backend: str, tmp_path: Path,
                                           request: pytest.FixtureRequest) -> None:
    url, schema = _database_url(store, backend, request)
    anchor = tmp_path / "shared-anchor.json"
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, url, schema, str(anchor),
                               f"p{n}", "60"]) for n in range(2)]
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    with store.engine.connect() as conn:
        result = verify(conn, key=KEY, anchor_path=anchor)
        seqs = conn.execute(select(table_of(AuditEntry).c.seq)).scalars().all()
    assert result.ok, result.reason
    assert sorted(seqs) == list(range(1, 241)), "every append kept, none lost or duplicated"
    assert result.anchored_seq == 240, "the anchor names the newest entry"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def workspace(store: Store, settings: Settings, tmp_path: Path) -> str:
    """Two cases of "Police Unit 7" and its supervisor; returns the supervisor's TOTP secret."""
    owner = organisation_id(store, "Police Unit 7")
    report = collect.import_file(store.engine, write_csv(tmp_path / "cases.csv", GOOD_ROWS),
                                 collect.ImportOptions(owner_organisation_id=owner,
                                                       keys=auth_helpers.test_keys()))
    assert report.status == "committed", report
    return make_user(store, username="sam.supervisor", role="supervisor",
                     organisation="Police Unit 7")


@pytest.fixture
def served(store: Store, settings: Settings, backend: str, workspace: str,
           request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, str]]]:
    """``maillon serve --workers 2`` on the test's store; yields its base URL and env."""
    env = dict(os.environ, MAILLON_DATA_DIR=str(settings.data_dir))
    if backend == "postgresql":
        schema = request.getfixturevalue("_pg_schema")
        sep = "&" if "?" in PG_URL else "?"
        env["MAILLON_DATABASE_URL"] = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    port = _free_port()
    server = subprocess.Popen([str(BIN), "serve", "--port", str(port), "--workers", "2"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # each worker imports the whole app
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "maillon serve --workers 2 did not start"
            time.sleep(0.3)
        yield base, env
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


def _sign_in(base: str, secret: str) -> str:
    response = httpx.post(f"{base}/api/v1/auth/login", json={
        "username": "sam.supervisor", "password": PASSWORD,
        "totp": pyotp.TOTP(secret).now()}, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def test_two_workers_share_the_audit_chain_sessions_and_lockout(
        served: tuple[str, dict[str, str]], workspace: str, store: Store) -> None:
    """One server start (each costs seconds): concurrent reads, then sign-out, then lockout."""
    base, env = served
    headers = {"Authorization": f"Bearer {_sign_in(base, workspace)}"}
    listed = httpx.get(f"{base}/api/v1/cases", headers=headers, timeout=30)
    assert listed.status_code == 200, listed.text
    ids = [c["id"] for c in listed.json()["items"]]
    assert len(ids) == 2
    statuses: list[int] = []

    def reader(n: int) -> None:
        for i in range(15):  # a new connection each time: accepted by either worker
            response = httpx.get(f"{base}/api/v1/cases/{ids[(n + i) % 2]}", headers=headers,
                                 timeout=60)
            statuses.append(response.status_code)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 60
    verified = subprocess.run([str(BIN), "audit", "verify"], env=env, capture_output=True,
                              text=True, timeout=300)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout

    # Signed out through one worker: refused by every worker once their caches expire.
    assert httpx.post(f"{base}/api/v1/auth/logout", headers=headers,
                      timeout=30).status_code == 204
    time.sleep(SESSION_CACHE_SECONDS + 0.5)
    for _ in range(6):
        assert httpx.get(f"{base}/api/v1/cases", headers=headers, timeout=30).status_code == 401

    # Sign-in failures are counted in the database: spread over workers, they still lock.
    for _ in range(5):  # MAX_FAILURES wrong guesses, each on a new connection
        wrong = httpx.post(f"{base}/api/v1/auth/login", json={
            "username": "sam.supervisor", "password": "not the password",
            "totp": pyotp.TOTP(workspace).now()}, timeout=30)
        assert wrong.status_code == 401
    right = httpx.post(f"{base}/api/v1/auth/login", json={
        "username": "sam.supervisor", "password": PASSWORD,
        "totp": pyotp.TOTP(workspace).now()}, timeout=30)
    assert right.status_code == 401
    with store.sessions() as session:
        user = session.scalars(select(auth.User).where(
            auth.User.username == "sam.supervisor")).one()
        assert user.failed_logins == 5 and user.locked_until is not None, "locked for all"


def test_revocation_elsewhere_ends_a_cached_session(anonymous_client: TestClient,
                                                    store: Store) -> None:
    """A session revoked outside this process (CLI, another worker) stops working once this
    process's cache entry ends; a sign-out through this process ends it at once."""
    anonymous_client.app.state.session_cache = SessionCache(seconds=0.3)  # type: ignore[attr-defined]
    from tests.auth_helpers import sign_in

    sign_in(anonymous_client, store)
    assert anonymous_client.get("/api/v1/cases").status_code == 200
    with store.sessions() as session, session.begin():
        user = session.scalars(select(auth.User).where(
            auth.User.username == "sam.supervisor")).one()
        assert auth.revoke_user_sessions(session, user_id=user.id) == 1
    time.sleep(0.4)
    assert anonymous_client.get("/api/v1/cases").status_code == 401


def test_one_audit_log_per_process_groups_anchor_writes(store: Store, tmp_path: Path) -> None:
    """Many threads of one process: every entry kept, the anchor on the newest at the end."""
    audit = AuditLog(KEY, tmp_path / "anchor.json")

    def work(n: int) -> None:
        for i in range(25):
            with audit.audit_scope(store.engine) as conn:
                audit.append(conn, actor=f"t{n}", action="read", resource="case",
                             resource_id=str(i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store.engine.connect() as conn:
        result = audit.verify(conn)
    assert result.ok and result.entries == 150 and result.anchored_seq == 150, result


def test_kept_alive_connections_are_closed_now_and_then(anonymous_client: TestClient) -> None:
    """Every REQUESTS_PER_CONNECTION-th answer on one connection says ``Connection: close``,
    so a client's connections spread over the server processes instead of staying with one."""
    from maillon.web.app import REQUESTS_PER_CONNECTION

    closing = [anonymous_client.get("/api/v1/health").headers.get("connection")
               for _ in range(2 * REQUESTS_PER_CONNECTION)]
    assert closing.count("close") == 2
    assert closing[REQUESTS_PER_CONNECTION - 1] == closing[-1] == "close"
