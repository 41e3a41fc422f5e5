"""Field encryption micro-benchmark: µs per encrypt / decrypt / blind_index.

    .venv/bin/python bench/crypto_bench.py [--n 200000]

Uses a throw-away key file and SQLite store in a temporary folder. Each operation runs ``--n``
times over realistic short values (names, ids, phone numbers); the best of three runs is
printed with its ratio to a plain ``str.encode`` of the same values measured in this process
(the floor of any per-field work in Python). An import encrypts about 5 fields per row: multiply
the encrypt figure by 5 million for a million-row import.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, insert

import maillon.store.models  # noqa: F401  (registers the tables)
from maillon.core.ids import id_block
from maillon.store.base import Base, table_of
from maillon.store.crypto import FieldCipher
from maillon.store.keys import FileKeyProvider
from maillon.store.models import Organisation

ORG = "0" * 31 + "1"
VALUES = ["Nguyễn Thị Ánh", "María José García", "AB1234567", "+40 721 555 019", "o@example.org"]


def best_us(fn: Callable[[], None], n: int) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    n = parser.parse_args().n
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        Base.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(table_of(Organisation)), [{"id": ORG, "code": "o", "name": "O"}])
        provider = FileKeyProvider.create(Path(tmp) / "keys.json")
        cipher = FieldCipher(provider, engine)
        cipher.ensure_data_key(ORG)

        ids = id_block(n)
        values = [VALUES[i % len(VALUES)] for i in range(n)]
        items = list(zip(ids, values, strict=True))
        encrypt, decrypt, bidx = cipher.encrypt, cipher.decrypt, cipher.blind_index
        field = "person.family_name"
        tokens = [encrypt(v, organisation_id=ORG, record_id=r, field=field) for r, v in items]
        pairs = list(zip(ids, tokens, strict=True))

        def baseline() -> None:
            for _r, v in items:
                v.encode()

        def run_encrypt() -> None:
            for r, v in items:
                encrypt(v, organisation_id=ORG, record_id=r, field=field)

        def run_decrypt() -> None:
            for r, t in pairs:
                decrypt(t, organisation_id=ORG, record_id=r, field=field)

        def run_blind_index() -> None:
            for _r, v in items:
                bidx(v, field=field)

        base = best_us(baseline, n)
        print(f"fields per run: {n}; token length for a 14-char name: {len(tokens[0])}")
        print(f"{'str.encode baseline':<22}{base:8.3f} µs/field")
        for name, fn in [
            ("encrypt", run_encrypt),
            ("decrypt", run_decrypt),
            ("blind_index", run_blind_index),
        ]:
            us = best_us(fn, n)
            print(f"{name:<22}{us:8.3f} µs/field  ({us / base:6.1f}x baseline)")
        engine.dispose()


if __name__ == "__main__":
    main()
