"""Serving the web app with uvicorn: one process, or several worker processes on one socket.

With ``workers > 1`` uvicorn starts each worker as a fresh Python process that imports
:func:`app_from_environment` and builds its own app: the settings travel as ``MAILLON_*``
environment variables (resolved by the parent, so command-line options hold in every worker),
and each worker opens its own store (engine and pool) without migrating it (the parent did).

What is shared between workers, and how (see ``docs/security.md``, "Several server processes"):
sessions, the login failure counter and lock live in the database; audit appenders serialise in
the database (PostgreSQL advisory lock, SQLite write lock; the group commits of audited reads
also take a file lock beside the SQLite file) and the anchor file is written under a file lock;
each worker keeps its own data-key cache and session cache
(:data:`maillon.web.security.SESSION_CACHE_SECONDS`).
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from maillon.core.settings import SETTINGS, Settings, load_settings
from maillon.store.api import Store, open_store

APP_FACTORY = "maillon.web.serve:app_from_environment"
"""Import string uvicorn workers build their app from."""


MAX_DEFAULT_WORKERS = 4
"""Cap of the default: each worker imports the whole app (memory) and may hold up to 48
PostgreSQL connections under a burst (16 requests x 3); ask for more with ``--workers``."""


def default_workers() -> int:
    """One worker per core the process may use, at least 1, at most ``MAX_DEFAULT_WORKERS``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_WORKERS))


def settings_environment(settings: Settings) -> dict[str, str]:
    """``settings`` as the ``MAILLON_*`` variables :func:`load_settings` reads back."""
    env: dict[str, str] = {}
    for setting in SETTINGS:
        value = getattr(settings, setting.name)
        env[setting.env] = str(value.resolve() if hasattr(value, "resolve") else value)
    return env


def app_from_environment() -> FastAPI:
    """A worker's app: settings from the environment, its own store, closed at shutdown."""
    from maillon.web.app import create_app

    settings = load_settings()
    store = open_store(settings, upgrade=False)
    app = create_app(settings, store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _started()
        try:
            yield
        finally:
            _stopping(app)
            store.close()

    app.router.lifespan_context = lifespan
    return app


def _started() -> None:
    """Once the app is built: its start-up objects (modules, routes, vocabularies) live as long
    as the process, so they are moved out of the garbage collector's sight and its full
    collections no longer walk them while requests wait."""
    gc.collect()
    gc.freeze()


def _stopping(app: FastAPI) -> None:
    """Before the store closes: anchor the audit entries of the last moments' reads."""
    app.state.security.audit.flush_anchor()


def run(settings: Settings, store: Store, *, port: int, workers: int = 1) -> None:
    """Serve until interrupted: in this process (``workers`` 1), else in ``workers`` processes.

    ``store`` is this process's open (migrated) store: used by the single-process server,
    left idle by the parent of several workers.
    """
    import uvicorn

    if workers <= 1:
        from maillon.web.app import create_app

        app = create_app(settings, store)
        _started()
        try:
            uvicorn.run(app, host=settings.host, port=port, log_level="warning")
        finally:
            _stopping(app)
        return
    os.environ.update(settings_environment(settings))
    uvicorn.run(APP_FACTORY, factory=True, workers=workers, host=settings.host, port=port,
                log_level="warning")
