"""OpenID Connect sign-in against a small identity provider of our own on loopback."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import text

from maillon.core.settings import Settings
from maillon.store.api import Store
from tests.auth_helpers import make_user


class FakeProvider:
    """Discovery, JWKS and token endpoints; codes are registered by the test."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-1"})
        self.codes: dict[str, tuple[dict[str, Any], str]] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, body: Any, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/.well-known/openid-configuration":
                    self._json({"issuer": provider.url,
                                "authorization_endpoint": f"{provider.url}/authorize",
                                "token_endpoint": f"{provider.url}/token",
                                "jwks_uri": f"{provider.url}/jwks"})
                elif self.path == "/jwks":
                    self._json({"keys": [provider.key.as_dict(private=False)]})
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers["Content-Length"])
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                claims, challenge = provider.codes.pop(form.get("code", ""), ({}, ""))
                verifier = form.get("code_verifier", "")
                derived = base64.urlsafe_b64encode(
                    hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if not claims or derived != challenge:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                token = jwt.encode({"alg": "RS256", "kid": "test-1"}, claims, provider.key)
                self._json({"id_token": token, "access_token": "a", "token_type": "Bearer"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    idp = FakeProvider()
    yield idp
    idp.close()


@pytest.fixture
def oidc_client(provider: FakeProvider, settings: Settings, store: Store) -> Iterator[TestClient]:
    from maillon.web.app import create_app

    configured = replace(settings, oidc_issuer=provider.url, oidc_client_id="maillon",
                         oidc_client_secret="s3cret")  # noqa: S106
    with TestClient(create_app(configured, store)) as client:
        yield client


def _begin(client: TestClient) -> dict[str, str]:
    response = client.get("/login/oidc", params={"next": "/cases"}, follow_redirects=False)
    assert response.status_code == 303
    location = urllib.parse.urlsplit(response.headers["location"])
    assert location.path == "/authorize"
    params = dict(urllib.parse.parse_qsl(location.query))
    assert params["code_challenge_method"] == "S256" and params["client_id"] == "maillon"
    return params


def _claims(provider: FakeProvider, params: dict[str, str], **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": provider.url, "aud": "maillon", "sub": "idp-7", "iat": now,
              "exp": now + 300, "nonce": params["nonce"], "preferred_username": "Ana.Worker",
              "amr": ["pwd", "otp"]}
    claims.update(changes)
    return claims


def test_sign_in_through_the_provider(provider: FakeProvider, oidc_client: TestClient,
                                      store: Store) -> None:
    make_user(store, username="ana.worker", role="case_worker", organisation="Police Unit 7")
    assert "Sign in with your organisation" in oidc_client.get("/login").text
    params = _begin(oidc_client)
    provider.codes["c1"] = (_claims(provider, params), params["code_challenge"])
    done = oidc_client.get("/login/oidc/callback", params={"code": "c1", "state": params["state"]},
                           follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/cases", done.text
    assert oidc_client.get("/cases").status_code == 200
    with store.engine.connect() as conn:
        last = conn.execute(text("SELECT actor, action, detail FROM audit_log "
                                 "ORDER BY seq DESC LIMIT 1")).one()
    assert last[0] == "ana.worker" and last[1] == "login" and "oidc" in last[2]


@pytest.mark.parametrize("case", ["no second factor", "wrong nonce", "wrong audience",
                                  "unknown account", "wrong state", "expired"])
def test_refusals(case: str, provider: FakeProvider, oidc_client: TestClient,
                  store: Store) -> None:
    make_user(store, username="ana.worker", role="case_worker", organisation="Police Unit 7")
    params = _begin(oidc_client)
    changes: dict[str, Any] = {
        "no second factor": {"amr": ["pwd"]},
        "wrong nonce": {"nonce": "replayed"},
        "wrong audience": {"aud": "another-app"},
        "unknown account": {"preferred_username": "mallory"},
        "expired": {"exp": int(time.time()) - 3600},
    }.get(case, {})
    provider.codes["c1"] = (_claims(provider, params, **changes), params["code_challenge"])
    state = "forged" if case == "wrong state" else params["state"]
    refused = oidc_client.get("/login/oidc/callback", params={"code": "c1", "state": state},
                              follow_redirects=False)
    assert refused.status_code == 401
    assert "Sign-in with the identity provider failed" in refused.text
    assert oidc_client.get("/api/v1/cases").status_code == 401
    with store.engine.connect() as conn:
        action = conn.execute(text("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1"))
        assert action.scalar_one() == "login_failed"


def test_a_forged_state_cookie_is_refused(provider: FakeProvider, oidc_client: TestClient
                                          ) -> None:
    oidc_client.cookies.set("maillon_oidc", "bm90IGpzb24.0000", path="/login/oidc")
    refused = oidc_client.get("/login/oidc/callback", params={"code": "c", "state": "s"},
                              follow_redirects=False)
    assert refused.status_code == 401


def test_not_configured_is_not_found(client: TestClient) -> None:
    assert client.get("/login/oidc", follow_redirects=False).status_code == 404
