"""Encryption at rest of personal fields: envelope encryption, blind indexes, key rotation.

The scheme (see ``docs/security-crypto.md``)::

    KEK (outside the database: key file, environment, KMS; see maillon.store.keys)
      └─ wraps, AES-256-GCM ─> DEK per organisation and version (table data_key, 32 bytes)
           └─ encrypts, AES-256-GCM ─> one field of one record, as a text token

A field token is ``v1.<dek_version>.<base64url(nonce || ciphertext || tag)>`` without padding,
with associated data ``"<record_id>|<field>"``: a token copied to another record or another
column, or read with another organisation's key, fails with :class:`DecryptionError` instead of
returning someone else's data. The nonce is 96 random bits; with one DEK per organisation and
a fresh DEK version at each rotation, a key encrypts far fewer than the 2**32 messages NIST
SP 800-38D allows for random nonces, but rotate with ``new_data_keys=True`` at least every
few hundred million writes per organisation.

Unwrapped DEKs are cached per ``(organisation, version)`` in the :class:`FieldCipher`, so the
per-field cost is one ``os.urandom(12)``, one AES-GCM call and one base64 encoding.

Blind indexes (:class:`BlindIndexer`) allow equality search on encrypted columns: an HMAC of
the normalised value, keyed per field. They leak equality (and so frequencies), so only
high-entropy identifying fields get one (:data:`BLIND_INDEXED_FIELDS`); low-entropy ones such
as sex or a birth year never do, since their index would be as good as the value.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import ColumnElement, Connection, Engine, event, func, select, update
from sqlalchemy.exc import IntegrityError

from maillon.core.errors import MaillonError
from maillon.core.ids import new_id
from maillon.core.timeutil import utcnow
from maillon.store.base import table_of
from maillon.store.crypto_models import DataKey
from maillon.store.keys import KEY_BYTES, KeyProvider, KeyStoreError

PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "person": (
        "given_name",
        "middle_name",
        "family_name",
        "birth_date",
        "identity_number",
        "email",
        "phone",
    ),
    "referral": ("details", "case_worker"),
    "case_file": ("closure_reason", "case_owner"),
    "perpetrator_context": ("role_details",),
    "trafficking_event": ("place", "description"),
    "support_plan": ("objectives", "action_plan"),
}
"""Which columns hold personal data and are stored encrypted: table -> column names.

Data, not code: the import, the API and the re-encryption job all read this one mapping. The
encrypted columns hold text tokens, so their SQL type becomes ``Text`` whatever it was.

Open question for the lead: ``person.birth_date`` is encrypted as ISO text (``1994-01-01``, with
``birth_date_precision`` kept in clear). Statistics by age then need either decryption or a
separate clear column (e.g. ``birth_year``, or the existing ``age_band``). A clear birth year is
low-entropy and alone is not identifying, but combined with sex, nationality and place it is a
quasi-identifier; decide whether to keep it in clear, and never blind-index it.
"""

BLIND_INDEXED_FIELDS: dict[str, tuple[str, ...]] = {
    "person": ("given_name", "family_name", "identity_number", "email", "phone"),
}
"""The encrypted columns that also get a blind index (``<column>_bidx``, 32 hex characters),
for equality search and duplicate detection. Only high-entropy identifiers: never sex, age,
birth year, nationality or other fields with few distinct values."""

TOKEN_VERSION = "v1"  # noqa: S105  (a format tag, not a secret)
NONCE_BYTES = 12
BLIND_INDEX_HEX = 32

_B64_TO_URL = bytes.maketrans(b"+/", b"-_")
_URL_TO_B64 = bytes.maketrans(b"-_", b"+/")
_urandom = os.urandom
_b2a = binascii.b2a_base64
_a2b = binascii.a2b_base64


class CryptoError(MaillonError):
    """Encryption or key handling failed; messages never carry plaintext or key material."""

    code = "crypto_error"


class DecryptionError(CryptoError):
    """A token does not decrypt: altered, truncated, or bound to another record, field or key."""

    code = "decryption_failed"


class DataKeyMissing(CryptoError):
    """No data key exists for the organisation and the key source cannot create one."""

    code = "data_key_missing"


@dataclass(frozen=True, repr=False)
class WrappedKey:
    """One ``data_key`` row as the cipher needs it (the DEK still wrapped)."""

    organisation_id: str | None
    version: int
    kek_version: int
    wrapped: bytes

    def __repr__(self) -> str:
        return (
            f"WrappedKey(organisation_id={self.organisation_id!r}, version={self.version}, "
            f"kek_version={self.kek_version})"
        )


DataKeyLoader = Callable[[str | None], Sequence[WrappedKey]]
"""A read-only key source: every wrapped key of one organisation (None: the global key)."""


@dataclass(frozen=True)
class RotationResult:
    """What :func:`rotate` did.

    ``retired`` lists the ``(organisation_id, version)`` data keys this call replaced: records
    whose tokens start with ``v1.<version>.`` should be passed through
    :meth:`FieldCipher.reencrypt`, after which those keys may be deleted.
    """

    kek_version: int
    rewrapped: int
    created: tuple[tuple[str | None, int], ...] = ()
    retired: tuple[tuple[str | None, int], ...] = ()


def _no_pickle(obj: object) -> NoReturn:
    raise TypeError(f"{type(obj).__name__} holds key material and cannot be pickled")


# -- data keys --------------------------------------------------------------------------------


def _dek_aad(organisation_id: str | None, version: int) -> bytes:
    return f"maillon/dek|{organisation_id or '*'}|{version}".encode()


def wrap_data_key(
    provider: KeyProvider, dek: bytes, organisation_id: str | None, version: int
) -> tuple[int, bytes]:
    """``(kek_version, nonce || AES-GCM(KEK, dek))`` under the provider's current KEK."""
    kek_version = provider.current_kek_version()
    nonce = _urandom(NONCE_BYTES)
    sealed = AESGCM(provider.kek(kek_version)).encrypt(
        nonce, dek, _dek_aad(organisation_id, version)
    )
    return kek_version, nonce + sealed


def unwrap_data_key(provider: KeyProvider, key: WrappedKey) -> bytes:
    """The 32-byte DEK of ``key``; :class:`CryptoError` when the KEK does not fit."""
    try:
        kek = provider.kek(key.kek_version)
    except KeyStoreError as exc:
        raise CryptoError(
            f"data key {key.version} of organisation {key.organisation_id or '(global)'} is "
            f"wrapped under KEK version {key.kek_version}, which the key provider lacks"
        ) from exc
    nonce, sealed = key.wrapped[:NONCE_BYTES], key.wrapped[NONCE_BYTES:]
    try:
        dek = AESGCM(kek).decrypt(nonce, sealed, _dek_aad(key.organisation_id, key.version))
    except InvalidTag:
        raise CryptoError(
            f"data key {key.version} of organisation {key.organisation_id or '(global)'} does "
            f"not unwrap under KEK version {key.kek_version}: wrong key file, or the row was "
            "altered or copied"
        ) from None
    if len(dek) != KEY_BYTES:
        raise CryptoError("unwrapped data key has the wrong length")
    return dek


def _org_filter(organisation_id: str | None) -> ColumnElement[bool]:
    col = table_of(DataKey).c.organisation_id
    return col.is_(None) if organisation_id is None else col == organisation_id


def load_data_keys(conn: Connection, organisation_id: str | None) -> list[WrappedKey]:
    """Every wrapped key of one organisation (None: the global key), oldest first."""
    t = table_of(DataKey)
    rows = conn.execute(
        select(t.c.organisation_id, t.c.version, t.c.kek_version, t.c.wrapped)
        .where(_org_filter(organisation_id))
        .order_by(t.c.version)
    )
    return [WrappedKey(r[0], r[1], r[2], bytes(r[3])) for r in rows]


def create_data_key(conn: Connection, provider: KeyProvider, organisation_id: str | None) -> int:
    """Create the next DEK version of an organisation, retire the older ones, return it.

    Runs on the caller's connection and transaction: commit it before relying on the key.
    """
    t = table_of(DataKey)
    latest = conn.execute(
        select(func.max(t.c.version)).where(_org_filter(organisation_id))
    ).scalar()
    version = int(latest or 0) + 1
    kek_version, wrapped = wrap_data_key(provider, _urandom(KEY_BYTES), organisation_id, version)
    now = utcnow()
    if latest:
        conn.execute(
            update(t)
            .where(_org_filter(organisation_id), t.c.retired_at.is_(None))
            .values(retired_at=now)
        )
    conn.execute(
        t.insert().values(
            id=new_id(),
            organisation_id=organisation_id,
            version=version,
            kek_version=kek_version,
            wrapped=wrapped,
            created_at=now,
        )
    )
    return version


def retired_data_keys(conn: Connection) -> list[tuple[str | None, int]]:
    """``(organisation_id, version)`` of every retired DEK still stored (records may use it)."""
    t = table_of(DataKey)
    rows = conn.execute(
        select(t.c.organisation_id, t.c.version)
        .where(t.c.retired_at.is_not(None))
        .order_by(t.c.organisation_id, t.c.version)
    )
    return [(r[0], r[1]) for r in rows]


def rotate(
    conn: Connection, provider: KeyProvider, *, new_data_keys: bool = False
) -> RotationResult:
    """Rotate keys, in the caller's transaction.

    1. Re-wrap every DEK not yet under the provider's current KEK version (cheap: one row per
       organisation and version; field tokens do not change). Afterwards older KEK versions
       are no longer needed and may be removed from the key store.
    2. With ``new_data_keys``, also give every organisation a fresh DEK version, which new
       writes use from then on; the replaced versions are returned in
       :attr:`RotationResult.retired` so a job can :meth:`FieldCipher.reencrypt` their records.

    Running processes cache DEKs: restart them (or call :meth:`FieldCipher.clear_cache`) so
    they encrypt with the new versions. Old tokens stay readable either way.
    """
    t = table_of(DataKey)
    current = provider.current_kek_version()
    rows = conn.execute(
        select(t.c.id, t.c.organisation_id, t.c.version, t.c.kek_version, t.c.wrapped)
    ).all()
    rewrapped = 0
    for row_id, org, version, kek_version, wrapped in rows:
        if kek_version == current:
            continue
        dek = unwrap_data_key(provider, WrappedKey(org, version, kek_version, bytes(wrapped)))
        new_kek_version, new_wrapped = wrap_data_key(provider, dek, org, version)
        conn.execute(
            update(t)
            .where(t.c.id == row_id)
            .values(kek_version=new_kek_version, wrapped=new_wrapped)
        )
        rewrapped += 1
    created: list[tuple[str | None, int]] = []
    retired: list[tuple[str | None, int]] = []
    if new_data_keys:
        live: dict[str | None, list[int]] = {}
        for r in conn.execute(
            select(t.c.organisation_id, t.c.version).where(t.c.retired_at.is_(None))
        ):
            live.setdefault(r[0], []).append(r[1])
        orgs = {row[1] for row in rows}
        for org in sorted(orgs, key=lambda o: o or ""):
            version = create_data_key(conn, provider, org)
            created.append((org, version))
            retired.extend((org, v) for v in sorted(live.get(org, [])))
    return RotationResult(current, rewrapped, tuple(created), tuple(retired))


# -- blind indexes ----------------------------------------------------------------------------


def normalise(value: str) -> str:
    """The form blind indexes hash: NFKC, case-folded, whitespace collapsed and trimmed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return " ".join(folded.split())


class _PrekeyedHmac:
    """HMAC-SHA256 (RFC 2104) with the padded key blocks hashed once, for one fixed key.

    Same output as ``hmac.digest(key, msg, "sha256")`` (checked by the tests) at about half the
    cost per message, since only two ``hashlib`` state copies are made per call.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        block = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def __repr__(self) -> str:
        return "_PrekeyedHmac()"


class BlindIndexer:
    """Keyed equality indexes of values: HMAC-SHA256 with one derived key per field.

    ``index("  Ana  MARIA ", field="person.given_name") == index("ana maria", ...)``. The
    same value gives different indexes in different fields, so columns cannot be joined to
    each other. Indexes are the same across organisations: that is what lets the system see
    that two organisations recorded the same identity number.
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) < KEY_BYTES:
            raise KeyStoreError("the blind-index secret must be at least 32 bytes")
        self._secret = secret
        self._field_keys: dict[str, _PrekeyedHmac] = {}

    @classmethod
    def from_provider(cls, provider: KeyProvider) -> BlindIndexer:
        return cls(provider.secret("blind-index"))

    def _field_key(self, field: str) -> _PrekeyedHmac:
        key = hmac.digest(self._secret, b"maillon/blind-index/" + field.encode(), "sha256")
        mac = self._field_keys[field] = _PrekeyedHmac(key)
        return mac

    @overload
    def index(self, value: str, *, field: str) -> str: ...
    @overload
    def index(self, value: None, *, field: str) -> None: ...
    def index(self, value: str | None, *, field: str) -> str | None:
        """32 hex characters (128 bits) identifying the normalised value within ``field``."""
        if value is None:
            return None
        mac = self._field_keys.get(field) or self._field_key(field)
        return mac.digest(normalise(value).encode()).hex()[:BLIND_INDEX_HEX]

    def __repr__(self) -> str:
        return f"BlindIndexer(fields={len(self._field_keys)})"

    def __reduce__(self) -> NoReturn:
        _no_pickle(self)


# -- field cipher -----------------------------------------------------------------------------


class _Dek:
    __slots__ = ("aead", "prefix", "version")

    def __init__(self, version: int, dek: bytes) -> None:
        self.version = version
        self.aead = AESGCM(dek)
        self.prefix = f"{TOKEN_VERSION}.{version}."

    def __repr__(self) -> str:
        return f"_Dek(version={self.version})"


def token_dek_version(token: str) -> int:
    """The DEK version a token was written with (to find tokens that need re-encryption)."""
    parts = token.split(".", 2)
    if len(parts) != 3 or parts[0] != TOKEN_VERSION or not parts[1].isdigit():
        raise DecryptionError("malformed encrypted field token")
    return int(parts[1])


class FieldCipher:
    """Encrypts and decrypts personal fields; one per process (or per import) is enough.

    ``source`` is where wrapped data keys are read (and created on first use):

    * an :class:`~sqlalchemy.Engine`: keys are read and created in short transactions of their
      own, committed at once, so a key never disappears with a rolled-back data transaction.
      On SQLite this cannot run while another connection holds the write lock: pass that
      connection instead, or call :meth:`ensure_data_key` before the write transaction.
    * a :class:`~sqlalchemy.Connection`: keys are read and created in the caller's
      transaction (e.g. the import's). If that transaction rolls back, the keys it created are
      dropped from the cache too, so nothing is ever encrypted under a key that was not kept.
    * a :data:`DataKeyLoader` callable: read-only, for tests or a separate key service.
    """

    def __init__(self, provider: KeyProvider, source: Engine | Connection | DataKeyLoader) -> None:
        self._provider = provider
        self._source = source
        self._indexer = BlindIndexer.from_provider(provider)
        self._current: dict[str | None, _Dek] = {}
        self._by_version: dict[tuple[str | None, str], _Dek] = {}
        self._pending: set[str | None] = set()
        self._lock = threading.RLock()
        if isinstance(source, Connection):
            event.listen(source, "commit", self._on_commit)
            event.listen(source, "rollback", self._on_rollback)
            event.listen(source, "rollback_savepoint", self._on_rollback_savepoint)

    # -- transaction hooks (Connection source) -------------------------------------------------

    def _on_commit(self, conn: Connection) -> None:
        self._pending.clear()

    def _on_rollback(self, conn: Connection) -> None:
        with self._lock:
            for org in self._pending:
                self._forget(org)
            self._pending.clear()

    def _on_rollback_savepoint(self, conn: Connection, name: object, context: object) -> None:
        self._on_rollback(conn)

    def _forget(self, organisation_id: str | None) -> None:
        self._current.pop(organisation_id, None)
        for key in [k for k in self._by_version if k[0] == organisation_id]:
            del self._by_version[key]

    def clear_cache(self) -> None:
        """Drop every cached DEK (after a rotation by another process)."""
        with self._lock:
            self._current.clear()
            self._by_version.clear()

    # -- key loading ---------------------------------------------------------------------------

    def _read(self, organisation_id: str | None) -> Sequence[WrappedKey]:
        source = self._source
        if isinstance(source, Connection):
            return load_data_keys(source, organisation_id)
        if isinstance(source, Engine):
            with source.connect() as conn:
                return load_data_keys(conn, organisation_id)
        return source(organisation_id)

    def _install(self, organisation_id: str | None, keys: Sequence[WrappedKey]) -> None:
        for key in keys:
            if key.organisation_id != organisation_id:
                raise CryptoError("the key source returned another organisation's key")
            dek = _Dek(key.version, unwrap_data_key(self._provider, key))
            self._by_version[(organisation_id, str(key.version))] = dek
        newest = max(keys, key=lambda k: k.version)
        self._current[organisation_id] = self._by_version[(organisation_id, str(newest.version))]

    def _load(self, organisation_id: str | None, *, create: bool) -> _Dek | None:
        with self._lock:
            dek = self._current.get(organisation_id)
            if dek is not None:
                return dek
            keys = self._read(organisation_id)
            if not keys:
                if not create:
                    return None
                self._create(organisation_id)
                keys = self._read(organisation_id)
                if not keys:
                    raise DataKeyMissing("the data key just created cannot be read back")
            self._install(organisation_id, keys)
            return self._current[organisation_id]

    def _create(self, organisation_id: str | None) -> None:
        source = self._source
        if isinstance(source, Connection):
            create_data_key(source, self._provider, organisation_id)
            self._pending.add(organisation_id)
        elif isinstance(source, Engine):
            try:
                with source.begin() as conn:
                    if not load_data_keys(conn, organisation_id):
                        create_data_key(conn, self._provider, organisation_id)
            except IntegrityError:
                pass  # another process created it first; the caller re-reads
        else:
            raise DataKeyMissing(
                f"no data key for organisation {organisation_id or '(global)'} and the key "
                "source is read-only"
            )

    def _current_dek(self, organisation_id: str | None) -> _Dek:
        dek = self._load(organisation_id, create=True)
        if dek is None:  # pragma: no cover - create=True either returns a key or raises
            raise DataKeyMissing(f"no data key for organisation {organisation_id or '(global)'}")
        return dek

    def ensure_data_key(self, organisation_id: str | None) -> int:
        """Load or create the organisation's data key; return its current version."""
        return self._current_dek(organisation_id).version

    def current_version(self, organisation_id: str | None) -> int | None:
        """The DEK version new tokens of the organisation use, None when it has no key yet."""
        dek = self._current.get(organisation_id) or self._load(organisation_id, create=False)
        return None if dek is None else dek.version

    def _dek_for(self, organisation_id: str | None, version: str) -> _Dek:
        if not version.isdigit() or str(int(version)) != version:
            raise DecryptionError("malformed encrypted field token")
        with self._lock:
            dek = self._by_version.get((organisation_id, version))
            if dek is None:
                self._current.pop(organisation_id, None)  # a newer version may exist
                self._load(organisation_id, create=False)
                dek = self._by_version.get((organisation_id, version))
        if dek is None:
            raise DecryptionError(
                f"no data key version {version} for organisation "
                f"{organisation_id or '(global)'} (deleted, or the token belongs elsewhere)"
            )
        return dek

    # -- fields --------------------------------------------------------------------------------

    @overload
    def encrypt(
        self, value: str, *, organisation_id: str | None, record_id: str, field: str
    ) -> str: ...
    @overload
    def encrypt(
        self, value: None, *, organisation_id: str | None, record_id: str, field: str
    ) -> None: ...
    def encrypt(
        self, value: str | None, *, organisation_id: str | None, record_id: str, field: str
    ) -> str | None:
        """The token of ``value`` for one field of one record (None stays None).

        ``field`` names the column, preferably qualified (``person.family_name``); neither it
        nor ``record_id`` may contain ``|``.
        """
        if value is None:
            return None
        dek = self._current.get(organisation_id) or self._current_dek(organisation_id)
        if "|" in record_id or "|" in field:
            raise ValueError("record_id and field must not contain '|'")
        nonce = _urandom(NONCE_BYTES)
        sealed = dek.aead.encrypt(nonce, value.encode(), f"{record_id}|{field}".encode())
        body = _b2a(nonce + sealed, newline=False).translate(_B64_TO_URL).rstrip(b"=")
        return dek.prefix + body.decode("ascii")

    @overload
    def decrypt(
        self, token: str, *, organisation_id: str | None, record_id: str, field: str
    ) -> str: ...
    @overload
    def decrypt(
        self, token: None, *, organisation_id: str | None, record_id: str, field: str
    ) -> None: ...
    def decrypt(
        self, token: str | None, *, organisation_id: str | None, record_id: str, field: str
    ) -> str | None:
        """The value of a token written by :meth:`encrypt` for this very record and field."""
        if token is None:
            return None
        parts = token.split(".", 2)
        if len(parts) != 3 or parts[0] != TOKEN_VERSION:
            raise DecryptionError(f"{field} of record {record_id} is not an encrypted token")
        dek = self._by_version.get((organisation_id, parts[1])) or self._dek_for(
            organisation_id, parts[1]
        )
        body = parts[2]
        try:
            raw = _a2b(
                (body + "=" * (-len(body) % 4)).encode("ascii").translate(_URL_TO_B64),
                strict_mode=True,
            )
        except (binascii.Error, ValueError):  # UnicodeEncodeError is a ValueError
            raise DecryptionError(
                f"{field} of record {record_id}: malformed encrypted token"
            ) from None
        if len(raw) < NONCE_BYTES + 16:
            raise DecryptionError(f"{field} of record {record_id}: truncated encrypted token")
        try:
            plain = dek.aead.decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], f"{record_id}|{field}".encode()
            )
        except InvalidTag:
            raise DecryptionError(
                f"{field} of record {record_id} does not decrypt: the token was altered, or "
                "belongs to another record, field or organisation"
            ) from None
        return plain.decode()

    @overload
    def reencrypt(
        self, token: str, *, organisation_id: str | None, record_id: str, field: str
    ) -> str: ...
    @overload
    def reencrypt(
        self, token: None, *, organisation_id: str | None, record_id: str, field: str
    ) -> None: ...
    def reencrypt(
        self, token: str | None, *, organisation_id: str | None, record_id: str, field: str
    ) -> str | None:
        """The token re-encrypted under the organisation's newest DEK (unchanged if already)."""
        if token is None:
            return None
        current = self.ensure_data_key(organisation_id)
        if token_dek_version(token) == current:
            self.decrypt(token, organisation_id=organisation_id, record_id=record_id, field=field)
            return token
        value = self.decrypt(
            token, organisation_id=organisation_id, record_id=record_id, field=field
        )
        return self.encrypt(
            value, organisation_id=organisation_id, record_id=record_id, field=field
        )

    @overload
    def blind_index(self, value: str, *, field: str) -> str: ...
    @overload
    def blind_index(self, value: None, *, field: str) -> None: ...
    def blind_index(self, value: str | None, *, field: str) -> str | None:
        """See :class:`BlindIndexer`: equality-search index of ``value`` within ``field``."""
        return self._indexer.index(value, field=field)

    @property
    def indexer(self) -> BlindIndexer:
        return self._indexer

    def __repr__(self) -> str:
        return f"FieldCipher(provider={self._provider!r}, cached_data_keys={len(self._by_version)})"

    def __reduce__(self) -> NoReturn:
        _no_pickle(self)
