"""The audit log: append-only, tamper-evident, HMAC-chained (see ``docs/security-audit.md``).

Each entry's hash is ``HMAC-SHA256(key, prev_hash || canonical JSON of the entry)``, where the
canonical JSON covers every column (``seq`` included) and the entry's ``audit_change`` rows. The
key lives outside the database, so someone with write access to the database but not to the key
cannot edit, delete, re-order or recompute entries without :func:`verify` noticing. Deleting the
newest rows (truncation) leaves a valid chain, so after every committed transaction that appended
entries the head ``{seq, entry_hash, at}`` is also written to an *anchor* file outside the
database, itself authenticated with the key; :func:`verify` compares the log's head with it.

Usage (the caller owns the transaction: the entry commits or rolls back with what it records)::

    audit = AuditLog(key, settings.data_dir / "audit" / "anchor.json")
    with audit.audit_scope(engine) as conn:          # BEGIN ... COMMIT, then anchor
        ...change the case...
        audit.append(conn, actor="alice", action="update", resource="case",
                     resource_id=case_id, fields=("cas_Status",), source=client_ip,
                     old_values={"cas_Status": encrypted_token})

or, with a transaction of one's own, ``audit.append(conn, ...)`` inside it and
``audit.after_commit(conn)`` once it has committed (skipping it only delays the anchor).

Personal data: ``fields`` holds field *names* only, never values; ``detail`` must hold no
personal data (ids, counts, file hashes, reasons); ``old_values`` must already be encrypted.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import tempfile
import threading
import weakref
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, text
from sqlalchemy.engine import Row

from maillon.core.errors import ConfigurationError, InvalidInput
from maillon.core.timeutil import utcnow
from maillon.store.audit_models import AuditChange, AuditEntry
from maillon.store.base import table_of

if TYPE_CHECKING:
    from maillon.store.audit_group import GroupedAppender

try:  # POSIX: serialise anchor writers across processes (web workers + CLI)
    import fcntl
except ImportError:  # pragma: no cover - Windows: in-process lock only
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

LOG = table_of(AuditEntry)
CHANGE = table_of(AuditChange)

GENESIS = "0" * 64
"""``prev_hash`` of entry 1."""
FORMAT_VERSION = 1
"""First element of the canonical form: a new form gets a new number."""
PG_LOCK_ID = 0x4D41494C4C4F4E  # "MAILLON"
"""Key of the PostgreSQL transaction-level advisory lock that serialises appenders."""
MIN_KEY_BYTES = 32
MAX_READ = 1000
_STREAM: dict[str, Any] = {"stream_results": True, "yield_per": 5000}
"""Server-side cursor, 5000 rows at a time: verify's memory does not grow with the log."""

_ACTION = re.compile(r"[a-z][a-z0-9_]{0,39}")
_RESOURCE = re.compile(r"[a-z][a-z0-9_]{0,59}")
_FIELD = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LIMITS = {"actor": 100, "actor_organisation_id": 32, "resource_id": 200, "source": 100}
_process_lock = threading.Lock()
_sqlite_writers: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_writers_guard = threading.Lock()


def _writer_lock(engine: Engine) -> contextlib.AbstractContextManager[object]:
    """SQLite: one audited transaction at a time per engine in this process.

    SQLite has a single writer anyway; without this, concurrent request threads all wait in
    SQLite's busy handler, which sleeps in growing steps, and throughput collapses under load.
    Queuing on a lock here hands the write lock over at once. PostgreSQL needs nothing (its
    appenders queue on an advisory lock).
    """
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    with _writers_guard:
        lock = _sqlite_writers.get(engine)
        if lock is None:
            lock = _sqlite_writers[engine] = threading.RLock()
    return lock


# ---------------------------------------------------------------------------------------------
# Canonical form and hashing


def _at_text(at: datetime) -> str:
    """``at`` as hashed: UTC, microseconds, ``Z``. A naive value (SQLite) is UTC already."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(values: Mapping[Any, Any], changes: Sequence[tuple[str, str | None]]) -> bytes:
    payload = [
        FORMAT_VERSION,
        values["seq"],
        _at_text(values["at"]),
        values["actor"],
        values["actor_organisation_id"],
        values["action"],
        values["resource"],
        values["resource_id"],
        values["fields"],
        values["source"],
        values["detail"],
        [[f, v] for f, v in sorted(changes)],
    ]
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_hash(
    key: bytes, prev_hash: str, values: Mapping[Any, Any], changes: Sequence[tuple[str, str | None]]
) -> str:
    """``HMAC-SHA256(key, prev_hash || canonical(values, changes))`` as 64 hex digits."""
    mac = hmac.new(key, prev_hash.encode("ascii"), hashlib.sha256)
    mac.update(_canonical(values, changes))
    return mac.hexdigest()


def key_id(key: bytes) -> str:
    """A public fingerprint of the key (tells "wrong key" from "tampered" in reports)."""
    return hmac.new(key, b"maillon-audit-key-id", hashlib.sha256).hexdigest()[:16]


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        raise ConfigurationError(f"the audit key must be at least {MIN_KEY_BYTES} random bytes")


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class AuditRecord:
    """One event to append (see :meth:`AuditLog.append` for the meaning of each field)."""

    actor: str
    action: str
    resource: str
    resource_id: str | None = None
    fields: Sequence[str] = ()
    source: str = ""
    detail: Mapping[str, Any] | None = None
    actor_organisation_id: str | None = None
    old_values: Mapping[str, str | None] | None = None


def _columns(rec: AuditRecord) -> tuple[dict[str, Any], list[tuple[str, str | None]]]:
    """Validated column values (without seq/at/hashes) and the sorted changes of ``rec``."""
    problems: list[str] = []
    if not _ACTION.fullmatch(rec.action):
        problems.append(f"action {rec.action!r} must be lowercase [a-z0-9_], at most 40")
    if not _RESOURCE.fullmatch(rec.resource):
        problems.append(f"resource {rec.resource!r} must be lowercase [a-z0-9_], at most 60")
    if not rec.actor:
        problems.append("actor is required (a username, or 'system')")
    for name, limit in _LIMITS.items():
        value = getattr(rec, name)
        if value is None:
            continue
        if len(value) > limit:
            problems.append(f"{name} is longer than {limit} characters")
        if _CONTROL.search(value):
            problems.append(f"{name} contains control characters")
    names = [rec.fields] if isinstance(rec.fields, str) else list(rec.fields)
    changes = sorted((rec.old_values or {}).items())
    for name in [*names, *(f for f, _ in changes)]:
        if not _FIELD.fullmatch(name):
            problems.append(f"field name {name!r} is not a field name")
    if problems:
        raise InvalidInput("invalid audit entry: " + "; ".join(problems))
    detail = (
        None
        if rec.detail is None
        else json.dumps(dict(rec.detail), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    )
    values = {
        "actor": rec.actor,
        "actor_organisation_id": rec.actor_organisation_id,
        "action": rec.action,
        "resource": rec.resource,
        "resource_id": rec.resource_id,
        "fields": ",".join(names) or None,
        "source": rec.source,
        "detail": detail,
    }
    return values, changes


def check_record(rec: AuditRecord) -> None:
    """Raise :class:`InvalidInput` if ``rec`` cannot be appended (checked before any lock)."""
    _columns(rec)


# ---------------------------------------------------------------------------------------------
# Head and anchor


@dataclass(frozen=True)
class Head:
    seq: int
    entry_hash: str
    at: datetime | None = None


@dataclass(frozen=True)
class _Pending:
    first_seq: int  # first entry this connection appended since its last anchoring
    head: Head


# Statements run on every append, built once (reused statements keep their cache key).
_SQLITE_LOCK = text("UPDATE audit_log SET seq = seq WHERE seq < 0")
_HEAD = select(LOG.c.seq, LOG.c.entry_hash, LOG.c.at).order_by(LOG.c.seq.desc()).limit(1)
_STORED = select(LOG.c.seq, LOG.c.entry_hash).where(
    LOG.c.seq.in_([bindparam("new"), bindparam("anchored")]))


def _lock_head(conn: Connection) -> Head:
    """Serialise appenders, then read the newest entry (``seq`` 0 and GENESIS when empty).

    PostgreSQL: a transaction-level advisory lock, released at commit/rollback (READ COMMITTED,
    the default, then sees the previous holder's rows). SQLite: a write that matches no row as
    the first statement takes the database's write lock (waiting ``busy_timeout``) before the
    head is read, so the read and the insert see the same head.
    """
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return _pg_lock_head(conn)
    if dialect == "sqlite":
        conn.execute(_SQLITE_LOCK)
    row = conn.execute(_HEAD).first()
    return Head(0, GENESIS) if row is None else Head(row.seq, row.entry_hash, row.at)


_PG_LOCK_HEAD = (f"SELECT pg_advisory_xact_lock({PG_LOCK_ID:d}); "  # noqa: S608 - a constant
                 "SELECT seq, entry_hash, at FROM audit_log ORDER BY seq DESC LIMIT 1")


def _pg_lock_head(conn: Connection) -> Head:
    """:func:`_lock_head` on PostgreSQL in one round trip instead of two.

    A query without parameters goes to the server as one simple-protocol message, which may
    hold several statements; each statement takes its own snapshot at READ COMMITTED, so the
    head is read after the lock is held and sees the previous holder's committed rows, as two
    separate statements would. Every append runs this, so a round trip less matters: on
    PostgreSQL each costs work in the driver and the server.
    """
    driver: Any = conn.connection.driver_connection  # psycopg's, inside conn's transaction
    with driver.cursor() as cursor:
        cursor.execute(_PG_LOCK_HEAD, prepare=False)  # a prepared statement holds only one
        if not cursor.nextset():
            raise RuntimeError("the audit head query returned no second result")
        row = cursor.fetchone()
    return Head(0, GENESIS) if row is None else Head(row[0], row[1], row[2])


def _anchor_mac(key: bytes, body: Mapping[str, Any]) -> str:
    data = json.dumps(
        {k: body[k] for k in ("version", "seq", "entry_hash", "at", "key_id")},
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")
    return hmac.new(key, b"maillon-audit-anchor\n" + data, hashlib.sha256).hexdigest()


def read_anchor(path: Path) -> dict[str, Any] | None:
    """The anchor file's content, or None when it does not exist."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("the anchor file is not a JSON object")
    return body


def _write_anchor(key: bytes, path: Path, head: Head) -> None:
    """Write the anchor atomically: temp file in the same folder, fsync, rename, fsync folder."""
    body: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "seq": head.seq,
        "entry_hash": head.entry_hash,
        "at": _at_text(head.at) if head.at else None,
        "key_id": key_id(key),
    }
    body["mac"] = _anchor_mac(key, body)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".anchor-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(body, f, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):
        dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


@contextmanager
def _anchor_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _process_lock, open(path.with_name(path.name + ".lock"), "a+b") as lock:
        if fcntl is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


# ---------------------------------------------------------------------------------------------
# Writer


class AuditLog:
    """Appends to the audit log and keeps its anchor file.

    ``key``: at least 32 random bytes, kept outside the database (key provider).
    ``anchor_path``: a file outside the database, by default ``<data_dir>/audit/anchor.json``.
    """

    def __init__(self, key: bytes, anchor_path: Path) -> None:
        _check_key(key)
        self._key = key
        self.anchor_path = Path(anchor_path)
        self._pending: weakref.WeakKeyDictionary[Connection, _Pending] = weakref.WeakKeyDictionary()
        # Group anchoring (see after_commit): heads committed in this process, numbered.
        self._group = threading.Lock()
        self._tickets = 0  # committed heads handed to after_commit so far
        self._newest: _Pending | None = None  # newest of them not yet taken by an anchorer
        self._covered = 0  # every ticket up to this one is anchored
        self._appender: GroupedAppender | None = None  # see append_committed

    # -- appending ----------------------------------------------------------------------------

    def append(
        self,
        conn: Connection,
        *,
        actor: str,
        action: str,
        resource: str,
        resource_id: str | None = None,
        fields: Sequence[str] = (),
        source: str = "",
        detail: Mapping[str, Any] | None = None,
        actor_organisation_id: str | None = None,
        old_values: Mapping[str, str | None] | None = None,
    ) -> int:
        """Append one entry in the caller's transaction on ``conn``; return its ``seq``.

        ``actor``: username or ``system``; ``action``: ``read``, ``create``, ``update``,
        ``delete``, ``import``, ``export``, ``login``, ``login_failed``, ``denied``...;
        ``resource``: ``case``, ``person``...; ``fields``: names of the fields read or changed
        (never values); ``source``: client IP, or ``cli``; ``detail``: JSON-able, no personal
        data; ``old_values``: field -> previous value, ALREADY ENCRYPTED by the caller.
        The anchor is updated by :meth:`after_commit` (or :meth:`audit_scope`) after commit.
        """
        record = AuditRecord(
            actor=actor,
            action=action,
            resource=resource,
            resource_id=resource_id,
            fields=fields,
            source=source,
            detail=detail,
            actor_organisation_id=actor_organisation_id,
            old_values=old_values,
        )
        return self.append_many(conn, [record]).start

    def append_many(self, conn: Connection, records: Iterable[AuditRecord]) -> range:
        """Append ``records`` in order, in the caller's transaction; return their seqs.

        One lock, one head read and one multi-row insert per table: use it for bulk work. An
        import audits one ``import`` entry (batch id, file hash, counts in ``detail``); the rows
        it writes are traceable through their ``import_batch_id`` column, so per-row entries
        are not written (they would double the cost of a million-row import for no new fact).
        """
        prepared = [_columns(r) for r in records]  # validate everything before locking
        if not prepared:
            return range(0)
        head = _lock_head(conn)
        prev = head.entry_hash
        at = utcnow()
        rows: list[dict[str, Any]] = []
        change_rows: list[dict[str, Any]] = []
        seq = head.seq
        for values, changes in prepared:
            seq += 1
            values = {**values, "seq": seq, "at": at}
            digest = entry_hash(self._key, prev, values, changes)
            rows.append({**values, "prev_hash": prev, "entry_hash": digest})
            change_rows.extend({"seq": seq, "field": f, "old_value": v} for f, v in changes)
            prev = digest
        conn.execute(insert(LOG), rows)
        if change_rows:
            conn.execute(insert(CHANGE), change_rows)
        earlier = self._pending.get(conn)
        first = earlier.first_seq if earlier else head.seq + 1
        self._pending[conn] = _Pending(min(first, head.seq + 1), Head(seq, prev, at))
        return range(head.seq + 1, seq + 1)

    # -- anchoring ----------------------------------------------------------------------------

    def after_commit(self, conn: Connection) -> None:
        """Move the anchor to the newest entry this connection appended, once committed.

        Safe to call after a rollback (nothing is anchored: the entry is not in the database)
        and from concurrent processes (a file lock; the anchor only moves forward). The anchor
        is NOT moved, and an error is logged, when the entry it names no longer carries the
        anchored hash (rewritten or truncated log): the evidence stays for :func:`verify`.

        Group anchoring: when this returns, the anchor names this connection's entry or a newer
        one. Threads of one process that commit while another writes the anchor do not each
        write it in turn: the next writer anchors the newest head committed so far (appenders
        are serialised, so every older entry is committed too), and the others find their
        entry covered. Under load one anchor write (two fsyncs) serves many requests.
        """
        pending = self._pending.pop(conn, None)
        if pending is None:
            return
        with self._group:
            self._tickets += 1
            ticket = self._tickets
            newest = self._newest
            if newest is None or pending.head.seq >= newest.head.seq:
                first = pending.first_seq if newest is None else min(newest.first_seq,
                                                                      pending.first_seq)
                self._newest = _Pending(first, pending.head)
        began = not conn.in_transaction()
        try:
            with _anchor_lock(self.anchor_path):
                with self._group:
                    if self._covered >= ticket:
                        return  # another thread anchored a head at or after ours
                    upto = self._tickets
                    take = self._newest or pending
                    self._newest = None
                if self._advance_anchor(conn, take):
                    with self._group:
                        self._covered = max(self._covered, upto)
                elif take is not pending:
                    self._advance_anchor(conn, pending)  # the group's head failed: ours alone
        finally:
            if began and conn.in_transaction():
                conn.rollback()

    def append_committed(self, engine: Engine, record: AuditRecord) -> int:
        """Append ``record`` in a transaction of its own, committed when this returns.

        For entries that record an event rather than change data with it (a read of personal
        data). Concurrent callers share one transaction and the anchor follows within
        :data:`~maillon.store.audit_group.ANCHOR_DELAY`: see
        :class:`~maillon.store.audit_group.GroupedAppender`.
        """
        return self._grouped().append(engine, record)

    def flush_anchor(self) -> None:
        """Anchor now what :meth:`append_committed` has committed but not yet anchored."""
        if self._appender is not None:
            self._appender.flush()

    def _grouped(self) -> GroupedAppender:
        from maillon.store.audit_group import GroupedAppender  # it builds on this module

        with self._group:
            if self._appender is None:
                self._appender = GroupedAppender(self)
            return self._appender

    def take_pending(self, conn: Connection) -> _Pending | None:
        """What ``conn`` appended since its last anchoring, now the caller's to anchor."""
        return self._pending.pop(conn, None)

    def anchor_committed(self, engine: Engine, pending: _Pending) -> bool:
        """Anchor ``pending`` (known to be committed) on a connection of its own.

        Unlike :meth:`after_commit`, a head that is no longer in the log is not a rollback
        but a deleted or rewritten entry: it is logged as an error.
        """
        with engine.connect() as conn, _anchor_lock(self.anchor_path):
            try:
                return self._advance_anchor(conn, pending, committed=True)
            finally:
                if conn.in_transaction():
                    conn.rollback()

    def discard(self, conn: Connection) -> None:
        """Forget what ``conn`` appended (call after a rollback when reusing the connection)."""
        self._pending.pop(conn, None)

    def _advance_anchor(self, conn: Connection, pending: _Pending, *,
                        committed: bool = False) -> bool:
        """Anchor ``pending.head`` if it is committed and newer; True when the anchor now
        names that entry or a newer one. ``committed``: the caller knows the head was
        committed, so its absence is tampering, not a rollback."""
        new = pending.head
        try:
            anchor = read_anchor(self.anchor_path)
            anchor_seq = int(anchor["seq"]) if anchor else 0
            authentic = anchor is None or anchor.get("mac") == _anchor_mac(self._key, anchor)
        except (ValueError, OSError, KeyError, TypeError) as exc:
            log.error("audit anchor %s unreadable (%s): not updated", self.anchor_path, exc)
            return False
        stored = dict(conn.execute(_STORED, {"new": new.seq, "anchored": anchor_seq}).all())
        if stored.get(new.seq) != new.entry_hash:
            if committed:
                log.error("audit entry %s was committed but is now missing or altered: anchor "
                          "not moved; run 'maillon audit verify'", new.seq)
            return False  # rolled back (or never committed): nothing to anchor
        if anchor is None:
            if pending.first_seq > 1:
                # Entries existed before ours but no anchor: re-creating it here would bless a
                # truncation. Left to an operator: verify, then AuditLog.reanchor.
                log.error(
                    "audit anchor %s missing while the log holds earlier entries: not "
                    "re-created; run 'maillon audit verify'",
                    self.anchor_path,
                )
                return False
        elif not authentic or stored.get(anchor_seq) != anchor.get("entry_hash"):
            log.error(
                "audit log does not match its anchor at seq %s: anchor left in place as "
                "evidence; run 'maillon audit verify'",
                anchor_seq,
            )
            return False
        elif anchor_seq >= new.seq:
            return True  # another writer already anchored a newer entry
        _write_anchor(self._key, self.anchor_path, new)
        return True

    @contextmanager
    def audit_scope(self, engine: Engine) -> Iterator[Connection]:
        """A connection in a transaction; committed on success, then the anchor is updated.

        On an exception the transaction rolls back (with its audit entries) and the anchor is
        left as it was.
        """
        with engine.connect() as conn:
            with _writer_lock(engine):  # released before anchoring: anchors are grouped
                try:
                    with conn.begin():
                        yield conn
                except BaseException:
                    self.discard(conn)
                    raise
            self.after_commit(conn)

    def reanchor(self, conn: Connection, *, actor: str, source: str) -> VerifyResult:
        """Re-create the anchor from the database (after a restore, or a lost anchor file).

        An operator's decision, after investigating a failed :func:`verify`: it accepts the
        log's current end as the truth. Only done when the chain itself verifies; appends a
        ``reanchor`` entry (so the event is in the log), commits ``conn``'s transaction and
        anchors that entry. ``conn`` must not be inside a transaction the caller manages.
        Returns the chain's verification (not ok: nothing written).
        """
        result = verify(conn, key=self._key, anchor_path=None)
        if not result.ok:
            conn.rollback()
            return result
        self.append(
            conn,
            actor=actor,
            action="reanchor",
            resource="audit_log",
            source=source,
            detail={"entries": result.entries},
        )
        pending = self._pending.pop(conn)
        conn.commit()
        with _anchor_lock(self.anchor_path):
            _write_anchor(self._key, self.anchor_path, pending.head)
        return result

    def verify(self, conn: Connection) -> VerifyResult:
        """:func:`verify` with this log's key and anchor, after anchoring what is pending."""
        self.flush_anchor()
        return verify(conn, key=self._key, anchor_path=self.anchor_path)


# ---------------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True)
class VerifyResult:
    """``ok``; ``entries`` checked; ``first_bad_seq`` where the log stops being trustworthy."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""
    anchored_seq: int | None = field(default=None)


def _changes_by_seq(
    conn: Connection, bound: int
) -> Generator[tuple[int, list[tuple[str, str | None]]], None, None]:
    stream = conn.execute(
        select(CHANGE.c.seq, CHANGE.c.field, CHANGE.c.old_value)
        .where(CHANGE.c.seq <= bound)
        .order_by(CHANGE.c.seq, CHANGE.c.field)
        .execution_options(**_STREAM)
    )
    current: int | None = None
    group: list[tuple[str, str | None]] = []
    for seq, name, value in stream:
        if seq != current:
            if current is not None:
                yield current, group
            current, group = seq, []
        group.append((name, value))
    if current is not None:
        yield current, group


def _verify_chain(
    conn: Connection, key: bytes, anchor_seq: int
) -> VerifyResult | tuple[int, str | None]:
    """The failure, or (last seq, stored hash of entry ``anchor_seq``) when the chain holds.

    Both streams stop at the head read first: every entry up to it is committed (appenders are
    serialised), so entries appended while verifying cannot make the two streams disagree.
    """
    bound = conn.execute(select(func.max(LOG.c.seq))).scalar() or 0
    changes = _changes_by_seq(conn, bound)
    rows = conn.execute(
        select(LOG).where(LOG.c.seq <= bound).order_by(LOG.c.seq).execution_options(**_STREAM)
    )
    try:
        next_change = next(changes, None)
        prev = GENESIS
        expected = 1
        anchored_hash: str | None = None
        row: Row[Any]
        for row in rows:
            values = row._mapping
            seq = values["seq"]
            if seq != expected:
                what = (
                    f"entries {expected}..{seq - 1} are"
                    if seq - 1 > expected
                    else f"entry {expected} is"
                )
                return VerifyResult(False, expected - 1, expected, f"{what} missing (deleted)")
            own: list[tuple[str, str | None]] = []
            while next_change is not None and next_change[0] <= seq:
                if next_change[0] < seq:  # the foreign key should prevent it
                    return VerifyResult(
                        False,
                        expected - 1,
                        next_change[0],
                        f"audit_change rows for missing entry {next_change[0]}",
                    )
                own = next_change[1]
                next_change = next(changes, None)
            if values["prev_hash"] != prev:
                return VerifyResult(
                    False, seq - 1, seq, f"entry {seq}: prev_hash does not link to entry {seq - 1}"
                )
            if not hmac.compare_digest(entry_hash(key, prev, values, own), values["entry_hash"]):
                hint = " (or the log was recomputed with another key)" if seq == 1 else ""
                return VerifyResult(
                    False, seq - 1, seq, f"entry {seq} has been altered: hash mismatch{hint}"
                )
            if seq == anchor_seq:
                anchored_hash = values["entry_hash"]
            prev = values["entry_hash"]
            expected += 1
        last = expected - 1
        if next_change is not None:  # the foreign key should prevent it
            return VerifyResult(
                False, last, next_change[0], f"audit_change rows for missing entry {next_change[0]}"
            )
        return last, anchored_hash
    finally:
        rows.close()
        changes.close()


def verify(conn: Connection, *, key: bytes, anchor_path: Path | None) -> VerifyResult:
    """Recompute the chain from seq 1 and compare its head with the anchor file.

    Streams both tables (server-side cursors), so memory does not grow with the log. Detects:
    an edited entry or change (hash mismatch at that seq), a deleted entry (gap: the missing
    seq), a re-ordered or forged entry, a log recomputed with another key (mismatch at seq 1),
    a truncated log (anchor ahead of the last entry, or its hash differs), an edited or missing
    anchor file (when entries exist). ``anchor_path=None`` checks the chain only.
    """
    _check_key(key)
    anchor: dict[str, Any] | None = None
    anchor_problem = ""
    if anchor_path is not None:
        try:
            anchor = read_anchor(anchor_path)
        except (ValueError, OSError) as exc:
            anchor_problem = f"anchor file {anchor_path} unreadable: {exc}"
        if anchor is not None:
            try:
                anchor_seq = int(anchor["seq"])
                if anchor.get("key_id") != key_id(key):
                    anchor_problem = (
                        f"anchor file {anchor_path} was written with another key "
                        "(wrong key given, or a forged anchor)"
                    )
                elif anchor.get("mac") != _anchor_mac(key, anchor):
                    anchor_problem = f"anchor file {anchor_path} has been altered"
            except (KeyError, TypeError, ValueError):
                anchor_problem = f"anchor file {anchor_path} is malformed"
        if anchor_problem:
            anchor = None
    anchor_seq = int(anchor["seq"]) if anchor else 0

    chain = _verify_chain(conn, key, anchor_seq)
    if isinstance(chain, VerifyResult):
        return chain
    last, anchored_hash = chain

    if anchor_path is None:
        return VerifyResult(
            True, last, None, f"chain of {last} entries intact (anchor not checked)"
        )
    if anchor_problem:
        return VerifyResult(False, last, None, anchor_problem)
    if anchor is None:
        if last == 0:
            return VerifyResult(True, 0, None, "audit log empty")
        return VerifyResult(
            False,
            last,
            None,
            f"anchor file {anchor_path} missing: truncation of the log cannot be ruled out",
        )
    if anchor_seq > last:
        return VerifyResult(
            False,
            last,
            last + 1,
            f"log truncated: the anchor names entry {anchor_seq} but the last entry is {last}",
            anchor_seq,
        )
    if anchor_seq > 0 and anchored_hash != anchor.get("entry_hash"):
        return VerifyResult(
            False,
            last,
            anchor_seq,
            f"entry {anchor_seq} differs from the anchor (log rewritten from there)",
            anchor_seq,
        )
    behind = last - anchor_seq
    note = f"; {behind} newer entries not yet anchored" if behind else ""
    return VerifyResult(
        True, last, None, f"{last} entries intact, anchored at {anchor_seq}{note}", anchor_seq
    )


# ---------------------------------------------------------------------------------------------
# Auditor's view


@dataclass(frozen=True)
class AuditEntryView:
    seq: int
    at: datetime
    actor: str
    actor_organisation_id: str | None
    action: str
    resource: str
    resource_id: str | None
    fields: tuple[str, ...]
    source: str
    detail: dict[str, Any] | None
    changed: tuple[str, ...]
    """Names of the fields whose old (encrypted) value is in ``audit_change``."""


def read_entries(
    conn: Connection,
    *,
    limit: int,
    offset: int,
    actor: str | None = None,
    resource: str | None = None,
    resource_id: str | None = None,
) -> list[AuditEntryView]:
    """Entries newest first, filtered; at most 1000 per call. For auditors only (the caller
    enforces the role, and should itself audit the read)."""
    limit = max(0, min(limit, MAX_READ))
    query = select(LOG).order_by(LOG.c.seq.desc()).limit(limit).offset(max(0, offset))
    if actor is not None:
        query = query.where(LOG.c.actor == actor)
    if resource is not None:
        query = query.where(LOG.c.resource == resource)
    if resource_id is not None:
        query = query.where(LOG.c.resource_id == resource_id)
    rows = conn.execute(query).all()
    changed: dict[int, list[str]] = {}
    if rows:
        for seq, name in conn.execute(
            select(CHANGE.c.seq, CHANGE.c.field)
            .where(CHANGE.c.seq.in_([r.seq for r in rows]))
            .order_by(CHANGE.c.seq, CHANGE.c.field)
        ):
            changed.setdefault(seq, []).append(name)
    return [
        AuditEntryView(
            seq=r.seq,
            at=r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC),
            actor=r.actor,
            actor_organisation_id=r.actor_organisation_id,
            action=r.action,
            resource=r.resource,
            resource_id=r.resource_id,
            fields=tuple(r.fields.split(",")) if r.fields else (),
            source=r.source,
            detail=json.loads(r.detail) if r.detail else None,
            changed=tuple(changed.get(r.seq, ())),
        )
        for r in rows
    ]


def read_changes(conn: Connection, seq: int) -> dict[str, str | None]:
    """The encrypted old values recorded with entry ``seq`` (field -> token)."""
    return dict(
        conn.execute(
            select(CHANGE.c.field, CHANGE.c.old_value)
            .where(CHANGE.c.seq == seq)
            .order_by(CHANGE.c.field)
        ).all()
    )
