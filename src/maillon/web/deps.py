"""Request-scoped helpers shared by the JSON API and the HTML pages."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from maillon.core.errors import FieldError, InvalidInput
from maillon.core.ids import new_id
from maillon.core.settings import Settings
from maillon.store.api import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def db_session(request: Request) -> AsyncIterator[Session]:
    """A session for one request, closed at the end. Creating it touches no connection, so it
    needs no thread. Closing returns its connection to the pool, which rolls back what the
    request left open: on PostgreSQL a round trip to the server, done in the thread pool; on
    SQLite a local call that ends a read in microseconds, done here, which spares every
    request a second trip through the thread pool (the endpoints commit their own writes)."""
    async with _request_session(get_store(request), read_only=False) as session:
        yield session


async def read_session(request: Request) -> AsyncIterator[Session]:
    """Like :func:`db_session`, for routes that only read: see ``Store.read_sessions``.

    Its connection runs in autocommit on PostgreSQL, so no transaction is ever open when it
    closes and returning it to the pool sends nothing to the server: it is closed here on
    every engine, which spares each read a second trip through the thread pool."""
    async with _request_session(get_store(request), read_only=True) as session:
        yield session


@asynccontextmanager
async def _request_session(store: Store, *, read_only: bool) -> AsyncIterator[Session]:
    session = store.read_sessions() if read_only else store.sessions()
    try:
        yield session
    finally:
        if read_only or store.dialect == "sqlite":
            session.close()
        else:
            await run_in_threadpool(session.close)


def save_upload(upload: UploadFile, settings: Settings) -> tuple[Path, str]:
    """Store an uploaded file under ``<data_dir>/uploads`` and return ``(path, original name)``.

    The caller deletes the file once imported: it holds personal data in clear, and the
    quarantine keeps (encrypted) whatever must be fixed.

    The stored name is a fresh id plus the sanitised suffix, so a crafted file name can never
    leave the uploads folder. Files over ``max_upload_mb`` are refused.
    """
    original = Path(upload.filename or "upload.csv").name
    suffix = re.sub(r"[^A-Za-z0-9.]", "", Path(original).suffix)[:10]
    folder = settings.data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{new_id()}{suffix}"
    limit = settings.max_upload_mb * 1024 * 1024
    with target.open("wb") as out:
        shutil.copyfileobj(upload.file, out, length=1 << 20)
    if target.stat().st_size > limit:
        target.unlink()
        raise InvalidInput(
            f"file larger than {settings.max_upload_mb} MiB",
            [FieldError(field="file", reason="file too large")],
        )
    if target.stat().st_size == 0:
        target.unlink()
        raise InvalidInput("the uploaded file is empty", [FieldError(field="file",
                                                                     reason="empty file")])
    return target, original
