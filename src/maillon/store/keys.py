"""Key providers: where the secrets that protect personal data come from.

Nothing in this module touches the database. The database holds only *wrapped* data keys
(see :mod:`maillon.store.crypto`); the key-encryption keys (KEKs) and the named secrets that
unwrap or key them live outside it, behind the :class:`KeyProvider` protocol:

* ``kek(version)``: the 256-bit KEK of that version; old versions stay readable so data keys
  wrapped under them can still be unwrapped and re-wrapped;
* ``current_kek_version()``: the version new wrappings use;
* ``secret(name)``: a named 256-bit secret for one purpose: ``"blind-index"`` (equality search
  on encrypted fields), ``"audit"`` (keyed audit-log chain), ``"pseudonym"`` (per-agreement
  pseudonyms, see :mod:`maillon.store.pseudonym`).

Two providers ship:

* :class:`FileKeyProvider`: a JSON key file, mode 0600, created once with fresh random keys by
  :meth:`FileKeyProvider.create`. Keep it *outside* the database server and outside the
  database backups, and back it up separately: a backup of the database alone is useless
  without it, and a stolen database alone reveals no personal field.
* :class:`EnvKeyProvider`: one master key in ``MAILLON_MASTER_KEY`` (base64 of 32 bytes), every
  KEK and secret derived from it with HKDF-SHA256, one ``info`` label per purpose and version.
  For containers whose orchestrator injects secrets as environment variables.

A Vault or cloud-KMS provider implements the same three methods. The usual shape: on start-up,
fetch the KEK versions from the secret store (``vault kv get``, AWS Secrets Manager, ...) or,
with a KMS that never releases its key, keep ``kek()`` unimplemented and instead make the data
key wrapping call the KMS ``Encrypt``/``Decrypt`` API; data keys are unwrapped once per process
and cached, so the KMS sees one call per organisation and process, not one per field. Providers
must never put key bytes into ``repr()``, logs or exceptions; the ones here refuse pickling too.

Python cannot reliably wipe memory, so keys stay in the process until it exits; the threat
model this serves is a stolen database or database backup, not a compromised application host.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets as _secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn, Protocol, runtime_checkable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from maillon.core.errors import ConfigurationError
from maillon.core.timeutil import utcnow

KEY_BYTES = 32
"""Every KEK and named secret is 256 bits."""

SECRET_NAMES: tuple[str, ...] = ("blind-index", "audit", "pseudonym")
"""The named secrets a provider must supply."""

KEY_FILE_FORMAT = "maillon-keys/1"
MASTER_KEY_ENV = "MAILLON_MASTER_KEY"
KEK_VERSION_ENV = "MAILLON_KEK_VERSION"
_HKDF_SALT = b"maillon key derivation v1"


class KeyStoreError(ConfigurationError):
    """The key material is missing, malformed, or not protected well enough."""

    code = "key_store_error"


@runtime_checkable
class KeyProvider(Protocol):
    """Named 256-bit secrets by purpose and version, kept outside the database."""

    def kek(self, version: int) -> bytes:
        """The key-encryption key of ``version``; :class:`KeyStoreError` when unknown."""
        ...

    def current_kek_version(self) -> int:
        """The KEK version new data-key wrappings use."""
        ...

    def secret(self, name: str) -> bytes:
        """The secret for one purpose (one of :data:`SECRET_NAMES`)."""
        ...


def default_key_path(data_dir: Path) -> Path:
    """``<data_dir>/keys/maillon-keys.json``: the default location of the key file."""
    return data_dir / "keys" / "maillon-keys.json"


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise KeyStoreError(f"{what} is not a base64 string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise KeyStoreError(f"{what} is not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise KeyStoreError(f"{what} must be {KEY_BYTES} bytes, not {len(raw)}")
    return raw


def _no_pickle(obj: object) -> NoReturn:
    raise TypeError(f"{type(obj).__name__} holds key material and cannot be pickled")


class FileKeyProvider:
    """KEKs and named secrets in a JSON file readable by its owner only (mode 0600).

    The file looks like::

        {"format": "maillon-keys/1", "current_kek": 2,
         "kek": {"1": "<base64>", "2": "<base64>"},
         "secrets": {"blind-index": "<base64>", "audit": "<base64>", "pseudonym": "<base64>"},
         "created_at": "...", "updated_at": "..."}

    Opening refuses a file that group or others may access, that another user owns, or that is
    a symbolic link. On Windows, where POSIX modes do not apply, protect it with an ACL.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._keks: dict[int, bytes] = {}
        self._secrets: dict[str, bytes] = {}
        self._current = 0
        self._load()

    # -- creation ------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path) -> FileKeyProvider:
        """Write a new key file with fresh random keys (KEK version 1) and open it.

        Refuses to overwrite an existing file: losing the keys loses every encrypted field.
        Missing parent folders are created with mode 0700.
        """
        path = Path(path)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        now = utcnow().isoformat()
        doc = {
            "format": KEY_FILE_FORMAT,
            "current_kek": 1,
            "kek": {"1": _b64(_secrets.token_bytes(KEY_BYTES))},
            "secrets": {name: _b64(_secrets.token_bytes(KEY_BYTES)) for name in SECRET_NAMES},
            "created_at": now,
            "updated_at": now,
        }
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError as exc:
            raise KeyStoreError(
                f"key file {path} already exists; refusing to overwrite it"
            ) from exc
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        return cls(path)

    @classmethod
    def open_or_create(cls, path: Path) -> FileKeyProvider:
        """Open the key file at ``path``, creating it with fresh keys on first use."""
        path = Path(path)
        if path.exists() or path.is_symlink():
            return cls(path)
        try:
            return cls.create(path)
        except KeyStoreError:  # created concurrently by another process
            return cls(path)

    # -- reading -------------------------------------------------------------------------------

    def _read_doc(self) -> dict[str, Any]:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self._path, flags)
        except FileNotFoundError as exc:
            raise KeyStoreError(
                f"key file {self._path} not found; create it with `maillon keys init` "
                "(or restore it from its separate backup)"
            ) from exc
        except OSError as exc:
            raise KeyStoreError(f"cannot open key file {self._path}: {exc.strerror}") from exc
        with os.fdopen(fd, "r", encoding="utf-8") as fh:
            if os.name == "posix":
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode):
                    raise KeyStoreError(f"key file {self._path} is not a regular file")
                if st.st_mode & 0o077:
                    raise KeyStoreError(
                        f"key file {self._path} is accessible by group or others "
                        f"(mode {stat.S_IMODE(st.st_mode):04o}); run `chmod 600 {self._path}` "
                        "and check who may have copied it"
                    )
                if st.st_uid != os.geteuid():
                    raise KeyStoreError(
                        f"key file {self._path} is not owned by the user running Maillon"
                    )
            try:
                doc = json.load(fh)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise KeyStoreError(f"key file {self._path} is not valid JSON") from exc
        if not isinstance(doc, dict) or doc.get("format") != KEY_FILE_FORMAT:
            raise KeyStoreError(f"key file {self._path} is not a {KEY_FILE_FORMAT} key file")
        return doc

    def _load(self) -> None:
        doc = self._read_doc()
        keks_raw = doc.get("kek")
        secrets_raw = doc.get("secrets")
        current = doc.get("current_kek")
        if not isinstance(keks_raw, dict) or not isinstance(secrets_raw, dict):
            raise KeyStoreError(f"key file {self._path} lacks its 'kek' or 'secrets' section")
        keks: dict[int, bytes] = {}
        for version, text in keks_raw.items():
            if not str(version).isdigit():
                raise KeyStoreError(f"key file {self._path}: bad KEK version {version!r}")
            keks[int(version)] = _unb64(text, f"KEK version {version}")
        named = {
            name: _unb64(text, f"secret {name!r}")
            for name, text in secrets_raw.items()
            if isinstance(name, str)
        }
        missing = [name for name in SECRET_NAMES if name not in named]
        if missing:
            raise KeyStoreError(f"key file {self._path} lacks secrets {', '.join(missing)}")
        if not isinstance(current, int) or current not in keks:
            raise KeyStoreError(f"key file {self._path}: current_kek names no stored KEK")
        self._keks, self._secrets, self._current = keks, named, current

    # -- rotation ------------------------------------------------------------------------------

    def add_kek_version(self) -> int:
        """Add a fresh random KEK, make it current, and return its version.

        Older versions are kept (data keys wrapped under them must still be unwrapped by
        ``maillon keys rotate``). The file is replaced atomically: a crash leaves either the old
        or the new file, never a truncated one.
        """
        doc = self._read_doc()
        keks = doc["kek"]
        version = max(int(v) for v in keks) + 1
        keks[str(version)] = _b64(_secrets.token_bytes(KEY_BYTES))
        doc["current_kek"] = version
        doc["updated_at"] = utcnow().isoformat()
        tmp = self._path.with_name(f".{self._path.name}.{_secrets.token_hex(8)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if hasattr(os, "O_DIRECTORY"):
            dir_fd = os.open(self._path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        self._load()
        return version

    # -- KeyProvider ---------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._path

    def kek_versions(self) -> tuple[int, ...]:
        """The stored KEK versions, oldest first."""
        return tuple(sorted(self._keks))

    def kek(self, version: int) -> bytes:
        try:
            return self._keks[version]
        except KeyError:
            raise KeyStoreError(f"KEK version {version} is not in {self._path}") from None

    def current_kek_version(self) -> int:
        return self._current

    def secret(self, name: str) -> bytes:
        try:
            return self._secrets[name]
        except KeyError:
            raise KeyStoreError(f"no secret named {name!r} in {self._path}") from None

    def __repr__(self) -> str:
        return (
            f"FileKeyProvider(path={str(self._path)!r}, kek_versions={list(self.kek_versions())}, "
            f"current_kek={self._current})"
        )

    def __reduce__(self) -> NoReturn:
        _no_pickle(self)


class EnvKeyProvider:
    """Keys derived from one master key in the environment.

    ``MAILLON_MASTER_KEY`` holds base64 of 32 random bytes (``openssl rand -base64 32``). KEK
    version *n* is ``HKDF-SHA256(master, info="maillon/kek/v<n>")`` and secret *name* is
    ``HKDF-SHA256(master, info="maillon/secret/<name>")``. ``MAILLON_KEK_VERSION`` (default 1)
    picks the current KEK version: raising it and running ``maillon keys rotate`` re-wraps data
    keys under a new derived KEK. That bounds the use of each KEK but does not help if the master
    key itself leaked; replacing the master key means re-wrapping from a provider that holds
    both (e.g. move to a :class:`FileKeyProvider` or a KMS).
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        raw = env.get(MASTER_KEY_ENV, "")
        if not raw:
            raise KeyStoreError(
                f"{MASTER_KEY_ENV} is not set; set it to base64 of 32 random bytes "
                "(e.g. `openssl rand -base64 32`)"
            )
        master = _unb64(raw.strip(), MASTER_KEY_ENV)
        version_text = env.get(KEK_VERSION_ENV, "1").strip() or "1"
        if not version_text.isdigit() or int(version_text) < 1:
            raise KeyStoreError(f"{KEK_VERSION_ENV} must be a positive integer")
        self._current = int(version_text)
        self._master = master
        self._cache: dict[bytes, bytes] = {}

    def _derive(self, info: bytes) -> bytes:
        key = self._cache.get(info)
        if key is None:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_HKDF_SALT, info=info)
            key = self._cache[info] = hkdf.derive(self._master)
        return key

    def kek(self, version: int) -> bytes:
        if version < 1:
            raise KeyStoreError(f"KEK version {version} does not exist")
        return self._derive(b"maillon/kek/v%d" % version)

    def current_kek_version(self) -> int:
        return self._current

    def secret(self, name: str) -> bytes:
        if name not in SECRET_NAMES:
            raise KeyStoreError(f"no secret named {name!r}; known: {', '.join(SECRET_NAMES)}")
        return self._derive(b"maillon/secret/" + name.encode("utf-8"))

    def __repr__(self) -> str:
        return f"EnvKeyProvider(source={MASTER_KEY_ENV!r}, current_kek={self._current})"

    def __reduce__(self) -> NoReturn:
        _no_pickle(self)


def new_master_key() -> str:
    """A fresh value for ``MAILLON_MASTER_KEY``: base64 of 32 random bytes."""
    return _b64(_secrets.token_bytes(KEY_BYTES))
