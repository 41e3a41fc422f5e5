"""Optional sign-in through the organisation's OpenID Connect identity provider.

Authorization-code flow with PKCE (S256), ``state`` and ``nonce``; the ID token's signature is
checked against the provider's published keys (JWKS) and its ``iss``, ``aud``, ``exp`` and
``nonce`` claims are validated (joserfc, the JOSE library of Authlib's author). Enabled by the
``oidc_issuer``, ``oidc_client_id`` and ``oidc_client_secret`` settings.

The provider proves *who* someone is; Maillon still decides *what they may do*: the account must
already exist (``maillon users create``), be active, and its username must equal the token's
``oidc_username_claim`` (``preferred_username`` by default, lower-cased). A role that requires a
second factor requires the provider to assert one in ``amr`` (RFC 8176: ``mfa``, ``otp``,
``hwk``, ``swk``, ``sc``, ``pop``, ``fpt``, ``face``...): otherwise the sign-in is refused.

Network calls (discovery, JWKS, token exchange) go only to the configured issuer's endpoints,
with a short timeout.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from maillon.core.errors import ConfigurationError
from maillon.core.settings import Settings

TIMEOUT_S = 5.0
MFA_AMR = frozenset({"mfa", "otp", "hwk", "swk", "sc", "pop", "fpt", "face", "iris", "retina",
                     "vbm", "sms", "tel"})
"""``amr`` values (RFC 8176) that count as a second factor for roles that require one."""


class OidcFailed(Exception):
    """The provider's answer cannot be trusted; the message is safe to log (no token)."""


@dataclass
class OidcClient:
    """One configured provider; discovery and keys are fetched once and cached."""

    issuer: str
    client_id: str
    client_secret: str
    username_claim: str = "preferred_username"
    _metadata: dict[str, Any] = field(default_factory=dict)
    _keys: KeySet | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcClient | None:
        """The client the settings configure, or None when OpenID Connect is off."""
        issuer = settings.oidc_issuer.rstrip("/")
        if not issuer:
            return None
        if not settings.oidc_client_id:
            raise ConfigurationError("oidc_issuer is set but oidc_client_id is empty")
        return cls(issuer, settings.oidc_client_id, settings.oidc_client_secret,
                   settings.oidc_username_claim or "preferred_username")

    # -- provider ------------------------------------------------------------------------------

    def _get_json(self, url: str, data: bytes | None = None) -> dict[str, Any]:
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise OidcFailed(f"refusing a non-https provider endpoint: {url}")
        request = urllib.request.Request(  # noqa: S310  (scheme checked above)
            url, data=data, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                body = json.loads(response.read())
        except (OSError, ValueError) as exc:
            raise OidcFailed(f"the identity provider did not answer properly: {exc}") from None
        if not isinstance(body, dict):
            raise OidcFailed("the identity provider answered something other than an object")
        return body

    def metadata(self) -> dict[str, Any]:
        if not self._metadata:
            found = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if found.get("issuer", "").rstrip("/") != self.issuer:
                raise OidcFailed("the discovery document names another issuer")
            self._metadata = found
        return self._metadata

    def _key_set(self) -> KeySet:
        if self._keys is None:
            self._keys = KeySet.import_key_set(self._get_json(self.metadata()["jwks_uri"]))  # type: ignore[arg-type]
        return self._keys

    # -- flow ----------------------------------------------------------------------------------

    def start(self, redirect_uri: str) -> tuple[str, dict[str, str]]:
        """The provider's authorization URL and the secrets to keep until the callback."""
        pending = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24),
                   "verifier": secrets.token_urlsafe(48)}
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(pending["verifier"].encode()).digest()).rstrip(b"=").decode()
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
            "scope": "openid profile email", "state": pending["state"],
            "nonce": pending["nonce"], "code_challenge": challenge,
            "code_challenge_method": "S256",
        })
        return f"{self.metadata()['authorization_endpoint']}?{query}", pending

    def finish(self, code: str, redirect_uri: str, pending: dict[str, str]) -> dict[str, Any]:
        """Exchange the code and return the validated ID token's claims."""
        form = urllib.parse.urlencode({
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": self.client_id, "client_secret": self.client_secret,
            "code_verifier": pending["verifier"],
        }).encode()
        tokens = self._get_json(self.metadata()["token_endpoint"], data=form)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcFailed("the token answer holds no ID token")
        try:
            decoded = jwt.decode(id_token, self._key_set(), algorithms=["RS256", "ES256", "PS256",
                                                                        "EdDSA"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                nonce={"essential": True, "value": pending["nonce"]},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise OidcFailed(f"the ID token is not valid: {type(exc).__name__}") from None
        return dict(decoded.claims)

    def username(self, claims: dict[str, Any]) -> str:
        value = claims.get(self.username_claim)
        if not isinstance(value, str) or not value.strip():
            raise OidcFailed(f"the ID token has no {self.username_claim!r} claim")
        return value.strip().lower()


def asserts_second_factor(claims: dict[str, Any]) -> bool:
    """Whether the provider says the person used a second factor (``amr``, RFC 8176)."""
    amr = claims.get("amr")
    return isinstance(amr, list) and bool(MFA_AMR.intersection(str(a) for a in amr))
