"""Encrypted logical backups of the operational store, and their restore.

A backup is every table of the store (``Base.metadata``, in dependency order) written as JSON
lines, compressed, then sealed with AES-256-GCM in chunks. It is *logical*, not a copy of the
database file, so one format serves SQLite and PostgreSQL and a backup taken on one restores on
the other. File layout::

    b"MAILLON-BACKUP\\n" | u32 header length | header (JSON, clear) | chunk*
    chunk = u32 length | AES-GCM(nonce = prefix || u64 counter, data,
                                 aad = sha256(header) || u64 counter || final flag)

The header holds no data: the format, the backup's id and time, and the backup's own random key
wrapped by the installation's key-encryption key (the key file; like the data keys). So a stolen
backup is useless without the key file, which must never be stored beside it; and restoring
needs the key file (it also holds the data keys' wrapping key and the audit key). Chunk counters
and the final flag make a reordered, truncated or spliced file fail instead of restoring part of
it. Personal fields stay in their encrypted form inside the stream.

The first line of the stream is a manifest: the schema revisions and the audit log's length.
Restore refuses a non-empty database, creates the schema at the backup's revisions, inserts
everything in one transaction (nothing is committed when any check fails), upgrades to the
current revisions, then checks the audit chain and re-anchors it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    JSON,
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    Numeric,
    Table,
    func,
    select,
    text,
)

from maillon.core.errors import InvalidFile, InvalidInput
from maillon.core.ids import new_id
from maillon.core.timeutil import utcnow
from maillon.store.db import migrate
from maillon.store.keys import KeyProvider
from maillon.store.registry import Base

MAGIC = b"MAILLON-BACKUP\n"
FORMAT = "maillon-backup/1"
CHUNK_BYTES = 1 << 20
BATCH_ROWS = 2000
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


@dataclass(frozen=True)
class BackupSummary:
    """What a backup holds (or a restore put back): rows per table, schema, audit length."""

    backup_id: str
    created_at: str
    revisions: tuple[str, ...]
    tables: dict[str, int]
    audit_entries: int

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


# -- values ------------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decoder(table: Table, name: str) -> Any:
    kind = table.c[name].type
    if isinstance(kind, DateTime):
        aware = bool(getattr(kind, "timezone", False))

        def to_datetime(v: Any) -> Any:
            if v is None:
                return None
            parsed = datetime.fromisoformat(v)
            return parsed.replace(tzinfo=UTC) if aware and parsed.tzinfo is None else parsed

        return to_datetime
    if isinstance(kind, Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    if isinstance(kind, LargeBinary):
        return lambda v: None if v is None else base64.b64decode(v)
    if isinstance(kind, Numeric) and not isinstance(kind, Integer) and kind.asdecimal:
        return lambda v: None if v is None else Decimal(v)
    if isinstance(kind, JSON):
        return lambda v: v
    return None


# -- sealing -----------------------------------------------------------------------------------


class _Sealer:
    def __init__(self, out: IO[bytes], key: bytes, prefix: bytes, header_digest: bytes) -> None:
        self._out, self._aead, self._prefix = out, AESGCM(key), prefix
        self._digest, self._counter = header_digest, 0
        self._zip = zlib.compressobj(6)
        self._buffer = bytearray()

    def write(self, data: bytes) -> None:
        self._buffer += self._zip.compress(data)
        while len(self._buffer) >= CHUNK_BYTES:
            self._seal(bytes(self._buffer[:CHUNK_BYTES]), final=False)
            del self._buffer[:CHUNK_BYTES]

    def close(self) -> None:
        self._buffer += self._zip.flush()
        self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()

    def _seal(self, data: bytes, *, final: bool) -> None:
        counter = _U64.pack(self._counter)
        aad = self._digest + counter + (b"\x01" if final else b"\x00")
        sealed = self._aead.encrypt(self._prefix + counter, data, aad)
        self._out.write(_U32.pack(len(sealed)) + sealed)
        self._counter += 1


def _open_chunks(src: IO[bytes], key: bytes, prefix: bytes, digest: bytes) -> Iterator[bytes]:
    """Decrypted, decompressed plaintext of the chunks; raises InvalidFile on any tampering."""
    aead, unzip, counter = AESGCM(key), zlib.decompressobj(), 0
    while True:
        size_bytes = src.read(4)
        if len(size_bytes) < 4:
            raise InvalidFile("the backup is truncated: its final chunk is missing")
        (size,) = _U32.unpack(size_bytes)
        sealed = src.read(size)
        if len(sealed) < size:
            raise InvalidFile(f"the backup is truncated inside chunk {counter}")
        packed = _U64.pack(counter)
        for final in (False, True):
            aad = digest + packed + (b"\x01" if final else b"\x00")
            try:
                data = aead.decrypt(prefix + packed, sealed, aad)
            except InvalidTag:
                continue
            break
        else:
            raise InvalidFile(
                f"chunk {counter} of the backup does not decrypt: the file was altered, "
                "reordered, or belongs to another installation's keys"
            )
        yield unzip.decompress(data)
        counter += 1
        if final:
            if src.read(1):
                raise InvalidFile("the backup has data after its final chunk")
            yield unzip.flush()
            return


def _wrap(keys: KeyProvider, backup_id: str, key: bytes) -> tuple[int, str]:
    version = keys.current_kek_version()
    nonce = os.urandom(12)
    sealed = AESGCM(keys.kek(version)).encrypt(nonce, key, f"maillon/backup/{backup_id}".encode())
    return version, base64.b64encode(nonce + sealed).decode("ascii")


def _unwrap(keys: KeyProvider, header: dict[str, Any]) -> bytes:
    try:
        raw = base64.b64decode(header["wrapped_key"])
        kek = keys.kek(int(header["kek_version"]))
        return AESGCM(kek).decrypt(raw[:12], raw[12:],
                                   f"maillon/backup/{header['backup_id']}".encode())
    except (InvalidTag, KeyError, ValueError) as exc:
        raise InvalidFile(
            "the backup's key cannot be unwrapped with this key file (another installation, "
            "or a key-encryption key version that was removed)"
        ) from exc


# -- backup ------------------------------------------------------------------------------------


def current_revisions(conn: Connection) -> tuple[str, ...]:
    """The Alembic revisions the database is at (one per capability branch)."""
    return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def _snapshot(conn: Connection) -> None:
    """One consistent read of every table."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def write_backup(engine: Engine, keys: KeyProvider, path: Path) -> BackupSummary:
    """Write an encrypted backup of every table to ``path`` (mode 0600; refuses to overwrite)."""
    backup_id, created = new_id(), utcnow().isoformat()
    key, prefix = AESGCM.generate_key(bit_length=256), os.urandom(4)
    kek_version, wrapped = _wrap(keys, backup_id, key)
    header = json.dumps({
        "format": FORMAT, "backup_id": backup_id, "created_at": created,
        "kek_version": kek_version, "wrapped_key": wrapped,
        "nonce_prefix": base64.b64encode(prefix).decode("ascii"),
    }, sort_keys=True).encode()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise InvalidInput(f"{path} already exists; choose a new file name") from None
    tables: dict[str, int] = {}
    try:
        with os.fdopen(fd, "wb") as out, engine.connect() as conn:
            out.write(MAGIC + _U32.pack(len(header)) + header)
            sealer = _Sealer(out, key, prefix, hashlib.sha256(header).digest())
            _snapshot(conn)
            revisions = current_revisions(conn)
            audit = conn.execute(text("SELECT COUNT(*) FROM audit_log")).scalar_one()
            manifest = {"revisions": list(revisions), "audit_entries": audit}
            sealer.write(json.dumps(manifest).encode() + b"\n")
            for table in Base.metadata.sorted_tables:
                names = [c.name for c in table.columns]
                sealer.write(json.dumps({"table": table.name, "columns": names}).encode() + b"\n")
                count = 0
                order = list(table.primary_key.columns) or list(table.columns)
                for row in conn.execute(select(table).order_by(*order)).yield_per(BATCH_ROWS):
                    sealer.write(json.dumps([_encode(v) for v in row], ensure_ascii=False,
                                            separators=(",", ":")).encode() + b"\n")
                    count += 1
                sealer.write(json.dumps({"end": table.name, "rows": count}).encode() + b"\n")
                tables[table.name] = count
            sealer.write(b'{"done":true}\n')
            sealer.close()
            conn.rollback()
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return BackupSummary(backup_id, created, revisions, tables, int(audit))


# -- restore -----------------------------------------------------------------------------------


def _read_header(src: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    if src.read(len(MAGIC)) != MAGIC:
        raise InvalidFile("not a Maillon backup (the file does not start with its signature)")
    size_bytes = src.read(4)
    if len(size_bytes) < 4:
        raise InvalidFile("the backup is truncated inside its header")
    (size,) = _U32.unpack(size_bytes)
    raw = src.read(size)
    try:
        header = json.loads(raw)
    except ValueError:
        raise InvalidFile("the backup's header is not valid JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InvalidFile(f"unsupported backup format (expected {FORMAT})")
    return header, raw


def _lines(src: IO[bytes], key: bytes, prefix: bytes, digest: bytes) -> Iterator[Any]:
    pending = b""
    for data in _open_chunks(src, key, prefix, digest):
        pending += data
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield json.loads(line)
    if pending:
        yield json.loads(pending)


def _is_empty(conn: Connection) -> bool:
    for table in Base.metadata.sorted_tables:
        if conn.execute(select(func.count()).select_from(table)).scalar_one():
            return False
    return True


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: serial primary keys continue after the restored rows."""
    if conn.dialect.name != "postgresql":
        return
    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and isinstance(pk[0].type, Integer):
            sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": table.name, "c": pk[0].name}).scalar_one()
            if sequence:
                conn.execute(text(f'SELECT setval(:s, COALESCE(MAX("{pk[0].name}"), 1)) '  # noqa: S608
                                  f'FROM "{table.name}"'), {"s": sequence})


def restore_backup(engine: Engine, keys: KeyProvider, path: Path) -> BackupSummary:
    """Restore ``path`` into the EMPTY store ``engine`` points at, in one transaction.

    Raises :class:`InvalidFile` for a damaged or foreign backup and :class:`InvalidInput` when
    the database already holds records; in both cases nothing is written. The caller then
    verifies and re-anchors the audit log (see ``maillon restore``).
    """
    with path.open("rb") as src:
        header, raw = _read_header(src)
        key = _unwrap(keys, header)
        prefix = base64.b64decode(header["nonce_prefix"])
        lines = _lines(src, key, prefix, hashlib.sha256(raw).digest())
        manifest = next(lines)
        revisions = tuple(manifest["revisions"])
        with engine.connect() as conn:
            known = current_revisions(conn)
        for revision in revisions:
            if revision not in known:
                migrate(engine, revision)
        tables: dict[str, int] = {}
        with engine.begin() as conn:
            if not _is_empty(conn):
                raise InvalidInput("restore needs an empty database: this one holds records")
            _insert_all(conn, lines, tables)
            _reset_sequences(conn)
    migrate(engine)
    return BackupSummary(header["backup_id"], header["created_at"], revisions, tables,
                         int(manifest["audit_entries"]))


def _insert_all(conn: Connection, lines: Iterator[Any], tables: dict[str, int]) -> None:
    known = Base.metadata.tables
    for item in lines:
        if item == {"done": True}:
            return
        name = item.get("table") if isinstance(item, dict) else None
        if not isinstance(name, str) or name not in known:
            raise InvalidFile(f"the backup holds an unknown table {name!r}")
        table = known[name]
        columns: list[str] = item["columns"]
        missing = [c for c in columns if c not in table.c]
        if missing:
            raise InvalidFile(f"table {name}: unknown columns {', '.join(missing)}")
        decoders = [_decoder(table, c) for c in columns]
        batch: list[dict[str, Any]] = []
        count = 0
        for row in lines:
            if isinstance(row, dict):
                if row.get("end") != name or row.get("rows") != count:
                    raise InvalidFile(f"table {name}: the backup's row count does not match")
                break
            values = {c: (d(v) if d else v) for c, d, v in zip(columns, decoders, row, strict=True)}
            batch.append(values)
            count += 1
            if len(batch) >= BATCH_ROWS:
                conn.execute(table.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(table.insert(), batch)
        tables[name] = count
    raise InvalidFile("the backup ends before its last table")


def read_summary(keys: KeyProvider, path: Path) -> BackupSummary:
    """Decrypt and check a backup without restoring it (``maillon backup --verify``)."""
    with path.open("rb") as src:
        header, raw = _read_header(src)
        key = _unwrap(keys, header)
        prefix = base64.b64decode(header["nonce_prefix"])
        lines = _lines(src, key, prefix, hashlib.sha256(raw).digest())
        manifest = next(lines)
        tables: dict[str, int] = {}
        current, count = "", 0
        for item in lines:
            if isinstance(item, list):
                count += 1
            elif "table" in item:
                current, count = str(item["table"]), 0
            elif "end" in item:
                if item["end"] != current or item["rows"] != count:
                    raise InvalidFile(f"table {current}: the backup's row count does not match")
                tables[current] = count
            elif item.get("done"):
                break
    return BackupSummary(header["backup_id"], header["created_at"],
                         tuple(manifest["revisions"]), tables, int(manifest["audit_entries"]))
