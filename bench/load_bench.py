"""Bounded load test on loopback: authenticated case reads and searches against `maillon serve`.

    .venv/bin/python bench/load_bench.py [--rate 200] [--seconds 20] [--records 2000]
                                         [--workers N] [--warmup 3] [--postgres URL]
                                         [--only sqlite|postgresql]

For SQLite (and PostgreSQL with ``--postgres`` or ``MAILLON_TEST_DATABASE_URL``): builds a demo
workspace (``maillon demo --no-serve``), starts ``maillon serve --workers N`` (default: the
command's own default, one worker per core) on 127.0.0.1, signs in as the demo supervisor,
sends ``--warmup`` seconds of requests that are not counted (workers finish starting, caches
fill), then sends requests at a FIXED rate (open model:
a request is sent every 1/rate seconds whether or not earlier ones have answered, so slowness
shows as latency, not as a lower offered load): 80 % ``GET /api/v1/cases/{id}`` (decrypt, redact,
one audit entry each) and 20 % ``POST /api/v1/cases/search`` by a family name. Prints requests/s
achieved, p50/p90/p99/max latency and errors, the CPU time per request of the server (all its
workers), of PostgreSQL's processes when they run on this machine, and of the load generator,
with the request rate the machine's cores could carry at that cost, then runs ``maillon audit
verify`` on the store the workers wrote to (the chain must hold). The load generator shares
the machine's cores with the server: on 2 cores it takes a part of the CPU the server would
otherwise have. On a machine busy with other work, latency and rate say little; the CPU per
request still compares two versions fairly.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp

BIN = Path(sys.executable).parent / "maillon"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def session_cpu_seconds(sid: int) -> float:
    """CPU time (user + system) used so far by the processes of session ``sid`` (Linux).

    The server runs in a session of its own, so this is the server and all its workers: CPU
    per request is a figure that a machine shared with other work distorts much less than
    latency."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # fields after the name: state ppid pgrp session ...
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds() -> float:
    """CPU time used so far by the PostgreSQL server's processes on this machine (Linux; 0
    when none is visible, e.g. a server elsewhere). With PostgreSQL on loopback its work comes
    out of the same cores as the web server's: the CPU a request really costs is the sum. Any
    other database work during the run is counted too."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if name.endswith("(postgres"):
            values = fields.split()
            total += int(values[11]) + int(values[12])
    return total / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def postgres_schema(url: str | None, schema: str) -> Iterator[None]:
    """A schema of the run's own on the PostgreSQL server at ``url`` (nothing without one),
    dropped with everything in it at the end."""
    if not url:
        yield
        return
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


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


class RawClient:
    """A lean HTTP/1.1 client over keep-alive connections (at most ``limit`` open at once).

    httpx costs several ms of CPU per request, as much as the server's work: on 2 shared cores
    the load generator would starve the server it measures. This writes the request bytes and
    reads the status line, headers and ``Content-Length`` body, nothing more. Like any HTTP
    client it drops a kept-alive connection before the server's keep-alive time-out (uvicorn:
    5 s) would close it under a request in flight.
    """

    IDLE_SECONDS = 3.0

    def __init__(self, host: str, port: int, token: str, limit: int = 64) -> None:
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {token}\r\n".encode()
        self.slots = asyncio.Semaphore(limit)
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        async with self.slots:
            reader = writer = None
            while self.idle:
                reader, writer, since = self.idle.pop()
                if time.monotonic() - since < self.IDLE_SECONDS:
                    break
                writer.close()
                reader = writer = None
            if reader is None or writer is None:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n".encode() + self.auth
                if body:
                    head += (b"Content-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n")
                writer.write(head + b"\r\n" + body)
                headers = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                status = int(headers.split(" ", 2)[1])
                length = int(headers.split("content-length:", 1)[1].split("\r\n", 1)[0])
                await reader.readexactly(length)
            except BaseException:
                writer.close()
                raise
            if "connection: close" in headers:
                writer.close()
            else:
                self.idle.append((reader, writer, time.monotonic()))
            return status

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


ERROR_KINDS: collections.Counter[str] = collections.Counter()
"""What the failed requests got (status code or exception), printed beside the error count."""


async def drive(base: str, rate: int, seconds: int, warmup: int, users: list[dict[str, str]],
                sid: int) -> tuple[list[float], int, int, float, float, float, float]:
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
        raw = RawClient(client.base_url.host, client.base_url.port or 80, login.json()["token"])

        async def one(i: int, counted: bool = True) -> None:
            nonlocal errors
            start = time.perf_counter()
            try:
                if i % 5 == 4:
                    body = json.dumps({"q": rng.choice(names), "limit": 20}).encode()
                    status = await raw.request("POST", "/api/v1/cases/search", body)
                else:
                    status = await raw.request("GET", f"/api/v1/cases/{rng.choice(ids)}")
                if status != 200:
                    errors += counted
                    ERROR_KINDS[f"HTTP {status}"] += counted
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
                errors += counted
                ERROR_KINDS[type(exc).__name__] += counted
            if counted:
                latencies.append(time.perf_counter() - start)

        warm = []
        began = time.perf_counter()
        for i in range(rate * warmup):
            await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
            warm.append(asyncio.create_task(one(i, counted=False)))
        await asyncio.gather(*warm)
        cpu = session_cpu_seconds(sid)
        own = time.process_time()
        database = database_cpu_seconds()
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
        cpu = session_cpu_seconds(sid) - cpu
        own = time.process_time() - own
        database = database_cpu_seconds() - database
        raw.close()
    return latencies, errors, len(tasks), elapsed, cpu, own, database


def run_one(label: str, args: argparse.Namespace, url: str | None) -> None:
    rate, seconds = args.rate, args.seconds
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = prepare(workdir, args.records, url)
        port = free_port()
        workers = ["--workers", str(args.workers)] if args.workers else []
        server = subprocess.Popen([str(BIN), "serve", "--port", str(port), *workers], env=env,
                                  cwd=workdir, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):  # importing every capability takes seconds on 2 cores
                try:
                    if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            users = json.loads((workdir / "maillon-data" / "demo-credentials.json").read_text())
            latencies, errors, sent, elapsed, cpu, own, database = asyncio.run(
                drive(base, rate, seconds, args.warmup, users, server.pid))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)  # the server and its workers
                server.wait(timeout=10)
        verified = subprocess.run([str(BIN), "audit", "verify"], env=env, cwd=workdir,
                                  capture_output=True, text=True, timeout=600)
    q = statistics.quantiles(latencies, n=100)
    cores = os.cpu_count() or 1
    print(f"{label} ({args.workers or 'default'} workers): offered {rate}/s for {seconds}s, "
          f"{sent} requests in {elapsed:.1f}s ({sent / elapsed:.0f}/s), errors {errors}"
          f"{' ' + str(dict(ERROR_KINDS)) if ERROR_KINDS else ''}; "
          f"latency ms p50 {q[49] * 1e3:.1f} p90 {q[89] * 1e3:.1f} p99 {q[98] * 1e3:.1f} "
          f"max {max(latencies) * 1e3:.1f}; CPU ms/request: server {cpu / sent * 1e3:.1f}, "
          f"{f'database {database / sent * 1e3:.1f}, ' if url else ''}"
          f"load generator {own / sent * 1e3:.1f} (capacity of {cores} cores at "
          f"this cost: {cores * sent / (cpu + own + (database if url else 0)):.0f}/s); "
          f"audit verify: "
          f"{'ok' if verified.returncode == 0 else 'FAILED'} "
          f"({(verified.stdout or verified.stderr).strip().splitlines()[-1:]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=None,
                        help="maillon serve --workers (default: its own, one per core)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds sent, not counted")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), default=None)
    parser.add_argument("--postgres", default=os.environ.get("MAILLON_TEST_DATABASE_URL"))
    args = parser.parse_args()
    if args.only != "postgresql":
        run_one("sqlite", args, None)
    if args.postgres and args.only != "sqlite":
        schema = f"bench_load_{secrets.token_hex(3)}"
        sep = "&" if "?" in args.postgres else "?"
        with postgres_schema(args.postgres, schema):
            run_one("postgresql", args,
                    f"{args.postgres}{sep}options=-csearch_path%3D{schema}")


if __name__ == "__main__":
    main()
