"""Bounded load test on loopback: authenticated case reads and searches against `maillon serve`.

    .venv/bin/python bench/load_bench.py [--rate 200] [--seconds 20] [--records 2000]
                                         [--postgres URL]

For SQLite (and PostgreSQL with ``--postgres`` or ``MAILLON_TEST_DATABASE_URL``): builds a demo
workspace (``maillon demo --no-serve``), starts ``maillon serve`` as a separate process on
127.0.0.1, signs in as the demo supervisor, then sends requests at a FIXED rate (open model:
a request is sent every 1/rate seconds whether or not earlier ones have answered, so slowness
shows as latency, not as a lower offered load): 80 % ``GET /api/v1/cases/{id}`` (decrypt, redact,
one audit entry each) and 20 % ``POST /api/v1/cases/search`` by a family name. Prints requests/s
achieved, p50/p90/p99/max latency and errors. The load generator shares the machine's cores with
the server: on 2 cores it takes a part of the CPU the server would otherwise have.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyotp

BIN = Path(sys.executable).parent / "maillon"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(workdir: Path, records: int, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
    env.update(MAILLON_DATA_DIR=str(workdir / "maillon-data"),
               MAILLON_KEY_FILE=str(workdir / "keys" / "keys.json"),
               MAILLON_AUDIT_ANCHOR=str(workdir / "keys" / "anchor.json"))
    if database_url:
        env["MAILLON_DATABASE_URL"] = database_url
    subprocess.run([str(BIN), "demo", "--no-serve", "--records", str(records)], env=env,
                   cwd=workdir, check=True, capture_output=True, timeout=900)
    return env


async def drive(base: str, rate: int, seconds: int, users: list[dict[str, str]]
                ) -> tuple[list[float], int, int, float]:
    supervisor = next(u for u in users if u["username"] == "demo.supervisor")
    async with httpx.AsyncClient(base_url=base, timeout=30.0,
                                 limits=httpx.Limits(max_connections=64)) as client:
        login = await client.post("/api/v1/auth/login", json={
            "username": supervisor["username"], "password": supervisor["password"],
            "totp": pyotp.TOTP(supervisor["totp_secret"]).now()})
        login.raise_for_status()
        client.headers["Authorization"] = f"Bearer {login.json()['token']}"
        listed = await client.get("/api/v1/cases", params={"limit": 500})
        ids = [c["id"] for c in listed.json()["items"]]
        detail = await client.get(f"/api/v1/cases/{ids[0]}")
        names = [p.get("family_name") for p in detail.json().get("persons", [])
                 if p.get("family_name")] or ["Nobody"]
        rng = random.Random(3)
        latencies: list[float] = []
        errors = 0

        async def one(i: int) -> None:
            nonlocal errors
            start = time.perf_counter()
            try:
                if i % 5 == 4:
                    r = await client.post("/api/v1/cases/search",
                                          json={"q": rng.choice(names), "limit": 20})
                else:
                    r = await client.get(f"/api/v1/cases/{rng.choice(ids)}")
                if r.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - start)

        tasks = []
        began = time.perf_counter()
        for i in range(rate * seconds):
            target = began + i / rate
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    return latencies, errors, len(tasks), elapsed


def run_one(label: str, rate: int, seconds: int, records: int, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = prepare(workdir, records, url)
        port = free_port()
        server = subprocess.Popen([str(BIN), "serve", "--port", str(port)], env=env, cwd=workdir,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):  # importing every capability takes seconds on 2 cores
                try:
                    if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            users = json.loads((workdir / "maillon-data" / "demo-credentials.json").read_text())
            latencies, errors, sent, elapsed = asyncio.run(drive(base, rate, seconds, users))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
    q = statistics.quantiles(latencies, n=100)
    print(f"{label}: offered {rate}/s for {seconds}s, {sent} requests in {elapsed:.1f}s "
          f"({sent / elapsed:.0f}/s), errors {errors}; latency ms p50 {q[49] * 1e3:.1f} "
          f"p90 {q[89] * 1e3:.1f} p99 {q[98] * 1e3:.1f} max {max(latencies) * 1e3:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--postgres", default=os.environ.get("MAILLON_TEST_DATABASE_URL"))
    args = parser.parse_args()
    run_one("sqlite", args.rate, args.seconds, args.records, None)
    if args.postgres:
        schema = f"bench_load_{secrets.token_hex(3)}"
        url = args.postgres
        import sqlalchemy

        engine = sqlalchemy.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in url else "?"
        try:
            run_one("postgresql", args.rate, args.seconds, args.records,
                    f"{url}{sep}options=-csearch_path%3D{schema}")
        finally:
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
