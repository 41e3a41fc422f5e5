"""Pseudonyms for data shared outside Maillon, one pseudonymisation domain per agreement.

An extract for a recipient (a researcher, a national rapporteur, another agency under a
data-sharing agreement) replaces direct identifiers with :func:`pseudonym` values keyed by that
agreement's domain key. Following EDPB Guidelines 01/2025 on pseudonymisation, each agreement
is its own *pseudonymisation domain*:

* stable within the domain: the same person gets the same pseudonym in every extract made
  under one agreement, so a recipient can follow a person across its own extracts;
* unlinkable across domains: two recipients get unrelated pseudonyms for the same person and
  cannot join their extracts, nor reverse them without the ``"pseudonym"`` secret, which stays
  with Maillon's keys (never in an extract, never in the database).

The domain key is ``HKDF-SHA256(secret("pseudonym"), info="maillon/pseudonym/<agreement_id>")``,
so no per-agreement key needs storing; ending an agreement's ability to link new extracts to
old ones means giving it a new ``agreement_id``.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from maillon.store.keys import KEY_BYTES, KeyProvider

PSEUDONYM_HEX = 32
"""Pseudonyms are 32 hex characters (128 bits): collisions are negligible at any realistic
number of persons."""


def domain_key_for(provider: KeyProvider, agreement_id: str) -> bytes:
    """The 256-bit key of the pseudonymisation domain of one sharing agreement."""
    if not agreement_id or not agreement_id.strip():
        raise ValueError("agreement_id must be a non-empty identifier")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=b"maillon/pseudonym/" + agreement_id.encode("utf-8"),
    )
    return hkdf.derive(provider.secret("pseudonym"))


def pseudonym(value: str, *, domain_key: bytes) -> str:
    """The pseudonym of ``value`` (e.g. a person id) in the domain of ``domain_key``.

    The value is hashed exactly as given (UTF-8): pseudonymise stable identifiers such as
    record ids, or normalise free text first (:func:`maillon.store.crypto.normalise`).
    """
    if len(domain_key) < KEY_BYTES:
        raise ValueError("domain_key must be at least 32 bytes (use domain_key_for)")
    digest = hmac.digest(domain_key, value.encode("utf-8"), "sha256")
    return digest.hex()[:PSEUDONYM_HEX]
