"""Group commit of audit entries that record reads, and their deferred anchor.

Every API read of personal data appends one audit entry before the data leaves the server. One
transaction and one anchor write per read would cost more than the read itself (SQLite's write
lock, the head read, the commit, then the anchor file's two fsyncs and a rename: about 2 ms of
CPU on the reference machine), so :class:`GroupedAppender` shares that work:

* **Group commit.** Request threads queue their entries; the first to get the group's lock
  writes every queued entry in one transaction (:meth:`AuditLog.append_many`), the others find
  theirs written when they get the lock. Each caller returns once ITS entry is committed, with
  its own ``seq``. If the transaction fails, every caller of the group gets the error.
* **Deferred anchor.** The newest committed head is anchored by a timer at most
  :data:`ANCHOR_DELAY` seconds later, once for all groups committed meanwhile, on a connection
  of its own (:meth:`AuditLog.anchor_committed`). The log never depends on the anchor to be
  complete; the anchor only lets :func:`~maillon.store.audit.verify` detect a truncation. In
  the window between commit and anchor, the newest entries are protected by this process
  instead: it knows the newest one's hash, and if that entry is missing or altered when the
  timer fires it is logged as an error and the anchor is not moved (deleting the newest entries
  removes it; deleting an older one breaks the chain, which ``verify`` reports anyway).
  :meth:`flush` anchors at once (server shutdown, :meth:`AuditLog.verify`); a process killed in
  the window leaves those entries committed and unanchored until the next append anchors a
  newer head.

Changes (edits, imports) keep their own transaction and anchor synchronously
(:meth:`AuditLog.audit_scope`): their entry commits or rolls back with the change.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine

from maillon.store.audit import AuditLog, AuditRecord, _Pending, _writer_lock, check_record

try:  # POSIX: the web workers are processes that share the SQLite file
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's own locking only
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

ANCHOR_DELAY = 0.05
"""Seconds at most between a group's commit and the anchor naming it (or a newer entry)."""


@dataclass(eq=False)
class _Waiter:
    """One entry waiting for its group's transaction."""

    record: AuditRecord
    seq: int | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass(eq=False)
class _Group:
    leader: threading.Lock = field(default_factory=threading.Lock)
    queue_lock: threading.Lock = field(default_factory=threading.Lock)
    queue: list[_Waiter] = field(default_factory=list)


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """SQLite file: hold an exclusive lock on ``<database>.audit-lock`` while a group writes.

    Web workers are separate processes: without it, two of them appending at once meet in
    SQLite's busy handler, which sleeps in growing steps (1, 2, 5, 10 ms...) and so turns a
    millisecond of contention into tens of milliseconds of latency; a file lock hands over at
    once. Only group commits take it; other writers still rely on SQLite's own locking.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if fcntl is None or not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    with open(database + ".audit-lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


class GroupedAppender:
    """Appends single entries of one :class:`AuditLog` by group commit (see module docstring)."""

    def __init__(self, audit: AuditLog, delay: float = ANCHOR_DELAY) -> None:
        self._audit = audit
        self._delay = delay
        self._lock = threading.Lock()
        self._groups: weakref.WeakKeyDictionary[Engine, _Group] = weakref.WeakKeyDictionary()
        self._deferred: dict[Engine, _Pending] = {}
        self._timer: threading.Timer | None = None

    def append(self, engine: Engine, record: AuditRecord) -> int:
        """Append ``record``; return its ``seq`` once it is committed."""
        check_record(record)  # a bad entry fails its own request, not the group's
        waiter = _Waiter(record)
        group = self._group_of(engine)
        with group.queue_lock:
            group.queue.append(waiter)
        with group.leader:
            if not waiter.done:
                with group.queue_lock:
                    batch, group.queue = group.queue, []
                self._write(engine, batch)
        if waiter.error is not None:
            raise waiter.error
        if waiter.seq is None:  # pragma: no cover - a group either sets seqs or an error
            raise RuntimeError("audit group ended without writing the entry")
        return waiter.seq

    def flush(self) -> None:
        """Anchor now every head committed and not yet anchored."""
        with self._lock:
            work, self._deferred = self._deferred, {}
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        for engine, pending in work.items():
            try:
                self._audit.anchor_committed(engine, pending)
            except Exception:  # noqa: BLE001 - a timer thread: report, the next append retries
                log.exception("audit anchor not updated (the next append retries)")

    def _group_of(self, engine: Engine) -> _Group:
        with self._lock:
            found = self._groups.get(engine)
            if found is None:
                found = self._groups[engine] = _Group()
            return found

    def _write(self, engine: Engine, batch: list[_Waiter]) -> None:
        """Append and commit ``batch``; hand its head to the deferred anchor."""
        try:
            with engine.connect() as conn:
                # the file lock is held until the commit, which releases SQLite's write lock
                with _writer_lock(engine), _sqlite_file_lock(engine):
                    try:
                        with conn.begin():
                            seqs = self._audit.append_many(conn, [w.record for w in batch])
                    except BaseException:
                        self._audit.discard(conn)
                        raise
                pending = self._audit.take_pending(conn)
            for waiter, seq in zip(batch, seqs, strict=True):
                waiter.seq = seq
            if pending is not None:
                self._defer(engine, pending)
        except BaseException as exc:
            for waiter in batch:
                waiter.error = exc
        finally:
            for waiter in batch:
                waiter.done = True

    def _defer(self, engine: Engine, pending: _Pending) -> None:
        with self._lock:
            earlier = self._deferred.get(engine)
            if earlier is not None:
                newest = pending.head if pending.head.seq >= earlier.head.seq else earlier.head
                pending = _Pending(min(earlier.first_seq, pending.first_seq), newest)
            self._deferred[engine] = pending
            if self._timer is None:
                # Not a daemon: a server that exits within the delay still writes the anchor.
                self._timer = threading.Timer(self._delay, self.flush)
                self._timer.start()
