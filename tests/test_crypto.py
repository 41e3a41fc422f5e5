"""Encryption at rest: envelope encryption, blind indexes, rotation, key providers, pseudonyms."""

from __future__ import annotations

import base64
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert, select
from sqlalchemy.exc import IntegrityError

import maillon.store.models  # noqa: F401  (registers the tables create_all builds)
from maillon.core.errors import MaillonError
from maillon.store.base import Base, table_of
from maillon.store.crypto import (
    PERSONAL_FIELDS,
    DecryptionError,
    FieldCipher,
    WrappedKey,
    create_data_key,
    load_data_keys,
    retired_data_keys,
    rotate,
    token_dek_version,
)
from maillon.store.crypto_models import DataKey
from maillon.store.keys import (
    EnvKeyProvider,
    FileKeyProvider,
    KeyProvider,
    KeyStoreError,
    default_key_path,
    new_master_key,
)
from maillon.store.models import Organisation
from maillon.store.pseudonym import domain_key_for, pseudonym

ORG_A = "a" * 32
ORG_B = "b" * 32
REC = "019a9f3c2b1e4d2a9c0f00000000002a"
FIELD = "person.family_name"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_engine(f"sqlite:///{tmp_path / 'crypto.sqlite'}")
    Base.metadata.create_all(eng)
    with eng.begin() as conn:
        conn.execute(
            insert(table_of(Organisation)),
            [
                {"id": ORG_A, "code": "a", "name": "Org A"},
                {"id": ORG_B, "code": "b", "name": "Org B"},
            ],
        )
    yield eng
    eng.dispose()


@pytest.fixture
def provider(tmp_path: Path) -> FileKeyProvider:
    return FileKeyProvider.create(tmp_path / "keys" / "maillon-keys.json")


@pytest.fixture
def cipher(provider: FileKeyProvider, engine: Engine) -> FieldCipher:
    return FieldCipher(provider, engine)


def enc(c: FieldCipher, value: str, *, org: str = ORG_A, rec: str = REC, field: str = FIELD) -> str:
    return c.encrypt(value, organisation_id=org, record_id=rec, field=field)


def dec(c: FieldCipher, token: str, *, org: str = ORG_A, rec: str = REC, field: str = FIELD) -> str:
    return c.decrypt(token, organisation_id=org, record_id=rec, field=field)


# -- field tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["Nguyễn Thị Ánh", "O'Brien", "x" * 5000, "😀 ünïcode", " "])
def test_round_trip(cipher: FieldCipher, value: str) -> None:
    token = enc(cipher, value)
    assert token.startswith("v1.1.")
    assert value not in token
    assert dec(cipher, token) == value


def test_none_stays_none_and_empty_round_trips(cipher: FieldCipher) -> None:
    assert cipher.encrypt(None, organisation_id=ORG_A, record_id=REC, field=FIELD) is None
    assert cipher.decrypt(None, organisation_id=ORG_A, record_id=REC, field=FIELD) is None
    token = enc(cipher, "")
    assert token != ""
    assert dec(cipher, token) == ""


def test_token_bound_to_record_field_and_organisation(cipher: FieldCipher) -> None:
    token = enc(cipher, "Maria")
    enc(cipher, "other", org=ORG_B)  # org B has its own key
    with pytest.raises(DecryptionError):
        dec(cipher, token, rec="019a9f3c2b1e4d2a9c0f00000000002b")
    with pytest.raises(DecryptionError):
        dec(cipher, token, field="person.given_name")
    with pytest.raises(DecryptionError):
        dec(cipher, token, org=ORG_B)
    assert issubclass(DecryptionError, MaillonError)


def test_tampered_token_fails(cipher: FieldCipher) -> None:
    token = enc(cipher, "Maria")
    prefix, body = token[:5], token[5:]
    flipped = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    for bad in [
        prefix + flipped,
        token[:-2],
        token + "AA",
        "v2" + token[2:],
        "v1.01." + body,
        "v1.7." + body,
        "v1.1.!!!!",
        "v1.1.",
        "plain text",
    ]:
        with pytest.raises(DecryptionError):
            dec(cipher, bad)


def test_separator_in_ids_rejected(cipher: FieldCipher) -> None:
    with pytest.raises(ValueError):
        enc(cipher, "x", rec="a|b")
    with pytest.raises(ValueError):
        enc(cipher, "x", field="a|b")


def test_random_nonce_but_equal_blind_index(cipher: FieldCipher) -> None:
    t1, t2 = enc(cipher, "Maria"), enc(cipher, "Maria")
    assert t1 != t2
    assert dec(cipher, t1) == dec(cipher, t2) == "Maria"
    bi = cipher.blind_index("Ana  Maria", field=FIELD)
    assert len(bi) == 32
    assert int(bi, 16) >= 0
    assert cipher.blind_index("  ana maria ", field=FIELD) == bi
    assert cipher.blind_index("ANA\tMARIA", field=FIELD) == bi
    assert cipher.blind_index("ＡＮＡ MARIA", field=FIELD) == bi  # full-width, NFKC
    assert cipher.blind_index("Anna Maria", field=FIELD) != bi
    assert cipher.blind_index("Ana Maria", field="person.given_name") != bi
    assert cipher.blind_index(None, field=FIELD) is None


def test_blind_index_is_standard_hmac(provider: FileKeyProvider) -> None:
    import hashlib
    import hmac

    from maillon.store.crypto import BlindIndexer, normalise

    indexer = BlindIndexer.from_provider(provider)
    field_key = hmac.digest(provider.secret("blind-index"), b"maillon/blind-index/f", "sha256")
    for value in ["", "Ana", "  Ana  María ", "x" * 300]:
        expected = hmac.new(field_key, normalise(value).encode(), hashlib.sha256).hexdigest()
        assert indexer.index(value, field="f") == expected[:32]


def test_blind_index_stable_across_ciphers(provider: FileKeyProvider, engine: Engine) -> None:
    a = FieldCipher(provider, engine).blind_index("X123", field="person.identity_number")
    b = FieldCipher(provider, engine).blind_index("x123", field="person.identity_number")
    assert a == b


def test_global_key(cipher: FieldCipher, engine: Engine) -> None:
    token = cipher.encrypt("v", organisation_id=None, record_id=REC, field=FIELD)
    assert cipher.decrypt(token, organisation_id=None, record_id=REC, field=FIELD) == "v"
    with pytest.raises(DecryptionError):
        dec(cipher, token)
    with engine.begin() as conn:  # the partial unique index guards the global key's versions
        t = table_of(DataKey)
        row = conn.execute(select(t).where(t.c.organisation_id.is_(None))).one()
        with pytest.raises(IntegrityError):
            conn.execute(insert(t).values({**row._mapping, "id": "c" * 32}))


def test_decrypt_in_a_fresh_process(provider: FileKeyProvider, engine: Engine) -> None:
    token = enc(FieldCipher(provider, engine), "Maria")
    reopened = FileKeyProvider(provider.path)
    assert dec(FieldCipher(reopened, engine), token) == "Maria"


def test_wrong_key_file_cannot_unwrap(
    provider: FileKeyProvider, engine: Engine, tmp_path: Path
) -> None:
    token = enc(FieldCipher(provider, engine), "Maria")
    other = FileKeyProvider.create(tmp_path / "other.json")
    with pytest.raises(MaillonError, match="does not unwrap"):
        dec(FieldCipher(other, engine), token)


def test_dek_row_copied_to_other_org_does_not_unwrap(
    provider: FileKeyProvider, engine: Engine
) -> None:
    enc(FieldCipher(provider, engine), "Maria")
    with engine.begin() as conn:
        (row,) = load_data_keys(conn, ORG_A)
    moved = WrappedKey(ORG_B, row.version, row.kek_version, row.wrapped)
    cipher = FieldCipher(provider, lambda org: [moved] if org == ORG_B else [])
    with pytest.raises(MaillonError, match="does not unwrap"):
        enc(cipher, "x", org=ORG_B)


def test_loader_source_is_read_only(provider: FileKeyProvider, engine: Engine) -> None:
    token = enc(FieldCipher(provider, engine), "Maria")
    with engine.connect() as conn:
        keys = load_data_keys(conn, ORG_A)
    cipher = FieldCipher(provider, lambda org: keys if org == ORG_A else [])
    assert dec(cipher, token) == "Maria"
    with pytest.raises(MaillonError):
        enc(cipher, "x", org=ORG_B)


def test_connection_source_forgets_keys_of_rolled_back_transaction(
    provider: FileKeyProvider, engine: Engine
) -> None:
    with engine.connect() as conn:
        cipher = FieldCipher(provider, conn)
        enc(cipher, "lost")  # creates the key inside the (auto-begun) transaction
        conn.rollback()
        assert load_data_keys(conn, ORG_A) == []
        conn.rollback()
        token = enc(cipher, "kept")  # a new key, this time committed
        conn.commit()
    assert dec(FieldCipher(provider, engine), token) == "kept"


# -- rotation ---------------------------------------------------------------------------------


class OnlyKek:
    """A provider exposing one KEK version, to prove older ones are no longer needed."""

    def __init__(self, inner: KeyProvider, version: int) -> None:
        self.inner, self.version = inner, version

    def kek(self, version: int) -> bytes:
        if version != self.version:
            raise KeyStoreError("gone")
        return self.inner.kek(version)

    def current_kek_version(self) -> int:
        return self.version

    def secret(self, name: str) -> bytes:
        return self.inner.secret(name)


def test_rotate_rewraps_under_new_kek(provider: FileKeyProvider, engine: Engine) -> None:
    cipher = FieldCipher(provider, engine)
    ta, tb = enc(cipher, "Maria"), enc(cipher, "Ion", org=ORG_B)
    assert provider.add_kek_version() == 2
    assert provider.current_kek_version() == 2
    assert FileKeyProvider(provider.path).kek_versions() == (1, 2)
    with engine.begin() as conn:
        result = rotate(conn, provider)
    assert result.rewrapped == 2 and result.retired == ()
    with engine.connect() as conn:
        kek_versions = conn.execute(select(table_of(DataKey).c.kek_version)).scalars().all()
    assert kek_versions == [2, 2]
    only_new = FieldCipher(OnlyKek(provider, 2), engine)
    assert dec(only_new, ta) == "Maria"
    assert dec(only_new, tb, org=ORG_B) == "Ion"
    with engine.begin() as conn:
        assert rotate(conn, provider).rewrapped == 0  # idempotent


def test_rotate_new_data_keys_and_reencrypt(provider: FileKeyProvider, engine: Engine) -> None:
    cipher = FieldCipher(provider, engine)
    old = enc(cipher, "Maria")
    enc(cipher, "Ion", org=ORG_B)
    with engine.begin() as conn:
        result = rotate(conn, provider, new_data_keys=True)
    assert set(result.retired) == {(ORG_A, 1), (ORG_B, 1)}
    assert set(result.created) == {(ORG_A, 2), (ORG_B, 2)}
    with engine.connect() as conn:
        assert retired_data_keys(conn) == sorted(result.retired)
    assert token_dek_version(old) == 1
    assert cipher.current_version(ORG_A) == 1  # cached until cleared
    cipher.clear_cache()
    assert cipher.current_version(ORG_A) == 2
    assert dec(cipher, old) == "Maria"  # old tokens still read
    new = cipher.reencrypt(old, organisation_id=ORG_A, record_id=REC, field=FIELD)
    assert token_dek_version(new) == 2 and new.startswith("v1.2.")
    assert dec(cipher, new) == "Maria"
    assert cipher.reencrypt(new, organisation_id=ORG_A, record_id=REC, field=FIELD) == new
    assert cipher.reencrypt(None, organisation_id=ORG_A, record_id=REC, field=FIELD) is None
    with pytest.raises(DecryptionError):
        cipher.reencrypt(old, organisation_id=ORG_A, record_id=REC, field="person.given_name")
    assert token_dek_version(enc(cipher, "fresh")) == 2


def test_create_data_key_versions(provider: FileKeyProvider, engine: Engine) -> None:
    with engine.begin() as conn:
        assert create_data_key(conn, provider, ORG_A) == 1
        assert create_data_key(conn, provider, ORG_A) == 2
        assert retired_data_keys(conn) == [(ORG_A, 1)]


# -- key providers ----------------------------------------------------------------------------


def test_key_file_is_private_and_not_overwritten(provider: FileKeyProvider) -> None:
    assert os.stat(provider.path).st_mode & 0o777 == 0o600
    with pytest.raises(KeyStoreError, match="already exists"):
        FileKeyProvider.create(provider.path)
    assert FileKeyProvider.open_or_create(provider.path).kek(1) == provider.kek(1)
    assert default_key_path(Path("/srv/maillon")) == Path("/srv/maillon/keys/maillon-keys.json")


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_file_provider_refuses_readable_file(provider: FileKeyProvider) -> None:
    os.chmod(provider.path, 0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        FileKeyProvider(provider.path)
    os.chmod(provider.path, 0o600)
    assert FileKeyProvider(provider.path).current_kek_version() == 1


def test_file_provider_errors(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="not found"):
        FileKeyProvider(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    bad.chmod(0o600)
    with pytest.raises(KeyStoreError, match="not a maillon-keys"):
        FileKeyProvider(bad)
    p = FileKeyProvider.create(tmp_path / "k.json")
    with pytest.raises(KeyStoreError):
        p.kek(9)
    with pytest.raises(KeyStoreError):
        p.secret("nope")


def test_env_provider_derives_stable_keys() -> None:
    master = new_master_key()
    a = EnvKeyProvider({"MAILLON_MASTER_KEY": master})
    b = EnvKeyProvider({"MAILLON_MASTER_KEY": master, "MAILLON_KEK_VERSION": "3"})
    assert a.current_kek_version() == 1 and b.current_kek_version() == 3
    assert a.kek(1) == b.kek(1) and len(a.kek(1)) == 32
    assert a.kek(1) != a.kek(2)
    assert a.secret("blind-index") == b.secret("blind-index")
    assert len({a.secret("blind-index"), a.secret("audit"), a.secret("pseudonym"), a.kek(1)}) == 4
    other = EnvKeyProvider({"MAILLON_MASTER_KEY": new_master_key()})
    assert other.kek(1) != a.kek(1)
    with pytest.raises(KeyStoreError):
        a.secret("nope")
    with pytest.raises(KeyStoreError, match="not set"):
        EnvKeyProvider({})
    with pytest.raises(KeyStoreError, match="32 bytes"):
        EnvKeyProvider({"MAILLON_MASTER_KEY": base64.b64encode(b"short").decode()})
    with pytest.raises(KeyStoreError, match="base64"):
        EnvKeyProvider({"MAILLON_MASTER_KEY": "not base64!"})


def test_env_provider_works_with_cipher(engine: Engine) -> None:
    env = {"MAILLON_MASTER_KEY": new_master_key()}
    token = enc(FieldCipher(EnvKeyProvider(env), engine), "Maria")
    assert dec(FieldCipher(EnvKeyProvider(env), engine), token) == "Maria"


def test_keys_never_in_repr_or_pickle(
    provider: FileKeyProvider, cipher: FieldCipher, engine: Engine
) -> None:
    enc(cipher, "Maria")
    env = EnvKeyProvider({"MAILLON_MASTER_KEY": (master := new_master_key())})
    with engine.connect() as conn:
        wrapped = load_data_keys(conn, ORG_A)
    secrets = [provider.kek(1), *(provider.secret(n) for n in ("blind-index", "audit"))]
    secrets += [env.kek(1), base64.b64decode(master)]
    shown = " ".join(
        [repr(provider), repr(env), repr(cipher), repr(cipher.indexer), repr(wrapped)]
        + [repr(v) for v in vars(cipher).values()]
    )
    for key in secrets:
        for form in (key.hex(), base64.b64encode(key).decode(), repr(key)):
            assert form not in shown
    assert master not in shown
    for obj in (provider, env, cipher, cipher.indexer):
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(obj)


# -- pseudonyms and the personal-field map ----------------------------------------------------


def test_pseudonyms_per_agreement(provider: FileKeyProvider) -> None:
    k1 = domain_key_for(provider, "agreement-2026-001")
    k1_again = domain_key_for(FileKeyProvider(provider.path), "agreement-2026-001")
    k2 = domain_key_for(provider, "agreement-2026-002")
    assert k1 == k1_again and k1 != k2 and len(k1) == 32
    p1 = pseudonym(REC, domain_key=k1)
    assert p1 == pseudonym(REC, domain_key=k1_again)
    assert len(p1) == 32 and REC not in p1
    assert p1 != pseudonym(REC, domain_key=k2)
    assert p1 != pseudonym(REC[:-1] + "b", domain_key=k1)
    with pytest.raises(ValueError):
        domain_key_for(provider, " ")
    with pytest.raises(ValueError):
        pseudonym(REC, domain_key=b"short")


def test_personal_fields_name_real_columns() -> None:
    tables = Base.metadata.tables
    for table, columns in PERSONAL_FIELDS.items():
        assert table in tables
        for column in columns:
            assert column in tables[table].c, f"{table}.{column}"
