"""In-process cost of the API's hot requests: CPU and function calls per request, no HTTP.

    .venv/bin/python bench/request_bench.py [--requests 1000] [--records 2000] [--postgres URL]

Builds a demo workspace (``maillon demo --no-serve``) in a temporary folder, opens the app in
this process, signs in as the demo supervisor and calls the ASGI app directly, one request at a
time, with the load test's mix (``bench/load_bench.py``): 80 % ``GET /api/v1/cases/{id}``, 20 %
``POST /api/v1/cases/search``. Prints:

* CPU ms per request (best of three rounds): everything the app does, its thread pool and the
  audit included, without uvicorn and the network;
* Python and C function calls per request, counted in every thread by a profile hook: unlike
  CPU time, this count does not change from run to run on a shared machine, so it compares two
  versions of the code fairly even when timings are noise (it weighs a call to a C function
  like a call to Python code, so it is a guide, not a CPU figure).

With ``--postgres URL`` the workspace's store is a schema of its own on that server (dropped
at the end), and the CPU its processes used per request is printed too (when they run on this
machine). Run it against another checkout with ``PYTHONPATH=<checkout>/src`` to compare
versions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pyotp

from load_bench import database_cpu_seconds, postgres_schema

BIN = Path(sys.executable).parent / "maillon"


class _Calls:
    """Counts function calls (Python and C) in every thread while ``on``."""

    def __init__(self) -> None:
        self.count = 0
        self.on = False

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if self.on and (event == "call" or event == "c_call"):
            self.count += 1


async def _call(app: Any, method: str, path: str, body: bytes = b"",
                token: str | None = None) -> tuple[int, bytes]:
    headers = [(b"host", b"127.0.0.1")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if body:
        headers += [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    sent = False
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def _sign_in(app: Any, users: list[dict[str, str]]) -> str:
    supervisor = next(u for u in users if u["username"] == "demo.supervisor")
    status, body = await _call(app, "POST", "/api/v1/auth/login", json.dumps({
        "username": supervisor["username"], "password": supervisor["password"],
        "totp": pyotp.TOTP(supervisor["totp_secret"]).now()}).encode())
    if status != 200:
        raise SystemExit(f"sign-in failed: {status} {body[:200]!r}")
    token: str = json.loads(body)["token"]
    return token


async def _run(app: Any, token: str, requests: int, calls: _Calls | None) -> tuple[float, float]:
    """CPU seconds per request of this process and of the database server, from the round
    where this process used the least; with ``calls``, one counted round."""
    status, body = await _call(app, "GET", "/api/v1/cases", token=token)
    ids = [c["id"] for c in json.loads(body)["items"]]
    status, body = await _call(app, "GET", f"/api/v1/cases/{ids[0]}", token=token)
    names = [p["family_name"] for p in json.loads(body)["persons"] if p.get("family_name")]
    rng = random.Random(3)

    async def one(i: int) -> None:
        if i % 5 == 4:
            search = json.dumps({"q": rng.choice(names or ["Nobody"]), "limit": 20}).encode()
            status, _ = await _call(app, "POST", "/api/v1/cases/search", search, token)
        else:
            status, _ = await _call(app, "GET", f"/api/v1/cases/{rng.choice(ids)}",
                                    token=token)
        if status != 200:
            raise SystemExit(f"request {i} answered {status}")

    for i in range(200):  # warm-up: caches, the thread pool, lazily loaded data
        await one(i)
    if calls is not None:
        calls.on = True
        for i in range(requests):
            await one(i)
        calls.on = False
        return 0.0, 0.0
    best = (float("inf"), 0.0)
    for _ in range(3):
        start, database = time.process_time(), database_cpu_seconds()
        for i in range(requests):
            await one(i)
        best = min(best, ((time.process_time() - start) / requests,
                          (database_cpu_seconds() - database) / requests))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--postgres", default=None,
                        help="PostgreSQL URL (a schema of its own is created and dropped)")
    args = parser.parse_args()
    schema = f"bench_request_{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory() as tmp, postgres_schema(args.postgres, schema):
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
        env.update(MAILLON_DATA_DIR=str(work / "maillon-data"),
                   MAILLON_KEY_FILE=str(work / "keys" / "keys.json"),
                   MAILLON_AUDIT_ANCHOR=str(work / "keys" / "anchor.json"))
        if args.postgres:
            sep = "&" if "?" in args.postgres else "?"
            env["MAILLON_DATABASE_URL"] = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
        subprocess.run([str(BIN), "demo", "--no-serve", "--records", str(args.records)],
                       env=env, cwd=work, check=True, capture_output=True, timeout=900)
        os.environ.update({k: v for k, v in env.items() if k.startswith("MAILLON_")})
        from maillon.core.settings import load_settings
        from maillon.store.api import open_store
        from maillon.web.app import create_app

        settings = load_settings()
        store = open_store(settings, upgrade=False)
        app = create_app(settings, store)
        users = json.loads((work / "maillon-data" / "demo-credentials.json").read_text())
        token = asyncio.run(_sign_in(app, users))
        try:
            cpu, database = asyncio.run(_run(app, token, args.requests, None))
            # A second event loop, so its worker threads start after the hook is set.
            calls = _Calls()
            sys.setprofile(calls)
            threading.setprofile(calls)
            try:
                counted = min(args.requests, 500)
                asyncio.run(_run(app, token, counted, calls))
            finally:
                sys.setprofile(None)
                threading.setprofile(None)
        finally:
            app.state.security.audit.flush_anchor()  # as the server does when it stops
            store.engine.dispose()
    print(f"CPU per request (best of 3 x {args.requests}): {cpu * 1e3:.2f} ms"
          + (f", database server {database * 1e3:.2f} ms" if args.postgres else ""))
    print(f"function calls per request (Python and C, all threads, {counted} requests): "
          f"{calls.count / counted:,.0f}")


if __name__ == "__main__":
    main()
