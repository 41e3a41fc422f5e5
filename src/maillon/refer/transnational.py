"""Transnational referral between Maillon instances: keys, partners, signed encrypted packages.

Each instance has an Ed25519 signing key and an X25519 encryption key, kept in
``maillon-instance-keys.json`` beside the key file (mode 0600). Partners' *public* keys are
exchanged out of band and registered with ``maillon partners add``.

A package is a JSON document::

    {"format": "maillon-package/1",
     "header": {"package_id", "kind": "referral"|"ack"|"status", "created_at",
                "sender_signing_key", "recipient_encryption_key", "ephemeral_key"},
     "nonce": b64, "ciphertext": b64, "signature": b64}

* Encryption: ECIES-style. A fresh X25519 key pair per package; the shared secret with the
  recipient's X25519 key goes through HKDF-SHA256 (info binds both public keys) to a 256-bit
  AES-GCM key; the canonical header is the associated data, so it cannot be altered.
* Signature: Ed25519 by the sender over ``canonical header || nonce || ciphertext``; the
  plaintext repeats the sender's signing key, so a signature cannot be stripped and replaced by
  a third party's without the recipient noticing.
* Opening checks, in order: the package names this instance's encryption key; the sender's
  signing key is a registered partner; the signature verifies; decryption succeeds; the inner
  sender matches; the package id was not seen before (replay).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from maillon.core.errors import Conflict, FieldError, InvalidInput, NotFound
from maillon.core.ids import new_id
from maillon.core.timeutil import utcnow
from maillon.identify.context import Actor, Tools, audit
from maillon.refer.models import Partner, ServiceReferral, TransnationalPackage
from maillon.store.keys import KeyStoreError

FORMAT = "maillon-package/1"
KEY_FORMAT = "maillon-instance-keys/1"
KINDS = ("referral", "ack", "status")
FEEDBACK = ("accepted", "rejected", "done")
_RAW = serialization.Encoding.Raw
_PUB = serialization.PublicFormat.Raw
_PRIV = serialization.PrivateFormat.Raw
_NOENC = serialization.NoEncryption()


class PackageError(InvalidInput):
    """The package cannot be opened: not for us, unknown sender, tampered, malformed."""

    code = "invalid_package"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str, what: str, size: int | None = None) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError) as exc:
        raise InvalidInput(f"{what} is not valid base64",
                           [FieldError("not base64", what)]) from exc
    if size is not None and len(raw) != size:
        raise InvalidInput(f"{what} must be {size} bytes",
                           [FieldError(f"must be {size} bytes", what)])
    return raw


def fingerprint(public_b64: str) -> str:
    """A short fingerprint to read out when exchanging keys (first 16 hex of SHA-256)."""
    return hashlib.sha256(unb64(public_b64, "key")).hexdigest()[:16]


def instance_key_path(key_file: Path) -> Path:
    return Path(key_file).with_name("maillon-instance-keys.json")


@dataclass(frozen=True)
class InstanceKeys:
    """This instance's signing and encryption key pairs."""

    signing: Ed25519PrivateKey
    encryption: X25519PrivateKey

    @property
    def signing_public(self) -> str:
        return b64(self.signing.public_key().public_bytes(_RAW, _PUB))

    @property
    def encryption_public(self) -> str:
        return b64(self.encryption.public_key().public_bytes(_RAW, _PUB))

    def __repr__(self) -> str:
        return f"InstanceKeys(signing={fingerprint(self.signing_public)})"

    @classmethod
    def open_or_create(cls, path: Path) -> InstanceKeys:
        """Read the instance key file, creating it (0600, never overwritten) on first use."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            doc = {"format": KEY_FORMAT, "created_at": utcnow().isoformat(),
                   "signing": b64(Ed25519PrivateKey.generate().private_bytes(_RAW, _PRIV,
                                                                             _NOENC)),
                   "encryption": b64(X25519PrivateKey.generate().private_bytes(_RAW, _PRIV,
                                                                               _NOENC))}
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            try:
                fd = os.open(path, flags, 0o600)
            except FileExistsError:
                return cls.open_or_create(path)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
        if os.name == "posix" and path.stat().st_mode & 0o077:
            raise KeyStoreError(f"instance key file {path} is accessible by group or others; "
                                f"run `chmod 600 {path}`")
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != KEY_FORMAT:
            raise KeyStoreError(f"{path} is not a {KEY_FORMAT} file")
        return cls(Ed25519PrivateKey.from_private_bytes(unb64(doc["signing"], "signing", 32)),
                   X25519PrivateKey.from_private_bytes(unb64(doc["encryption"], "encryption",
                                                             32)))


# --- partners ------------------------------------------------------------------------------


def add_partner(session: Session, tools: Tools, actor: Actor, *, name: str, signing_key: str,
                encryption_key: str, country: str | None = None) -> str:
    """Register a partner instance's public keys (base64 of the 32 raw bytes each)."""
    Ed25519PublicKey.from_public_bytes(unb64(signing_key.strip(), "signing_key", 32))
    X25519PublicKey.from_public_bytes(unb64(encryption_key.strip(), "encryption_key", 32))
    if not name.strip():
        raise InvalidInput("a partner needs a name", [FieldError("required", "name")])
    if session.execute(select(Partner.id).where(
            (Partner.name == name.strip()) | (Partner.signing_key == signing_key.strip()))
            ).first():
        raise Conflict(f"partner {name!r} or its signing key is already registered")
    pid = new_id()
    session.add(Partner(id=pid, name=name.strip(), signing_key=signing_key.strip(),
                        encryption_key=encryption_key.strip(),
                        country=(country or "").upper()[:2] or None, created_by=actor.username))
    audit(session, tools, actor, action="create", resource="partner", resource_id=pid,
          detail={"signing_key": fingerprint(signing_key.strip())})
    return pid


def list_partners(session: Session) -> list[dict[str, Any]]:
    return [{"id": p.id, "name": p.name, "country": p.country,
             "signing_fingerprint": fingerprint(p.signing_key),
             "encryption_fingerprint": fingerprint(p.encryption_key),
             "created_at": p.created_at}
            for p in session.execute(select(Partner).order_by(Partner.name)).scalars()]


def find_partner(session: Session, name: str) -> Partner:
    p = session.execute(select(Partner).where(Partner.name == name)).scalar_one_or_none()
    if p is None:
        raise NotFound(f"no partner named {name!r}; register it with `maillon partners add`")
    return p


# --- sealing and opening -------------------------------------------------------------------


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _aead_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"maillon-package/1" + ephemeral + recipient).derive(shared)


def seal(keys: InstanceKeys, partner: Partner, kind: str, body: dict[str, Any],
         package_id: str | None = None) -> tuple[str, bytes]:
    """``(package_id, package bytes)`` of ``body`` for ``partner``."""
    recipient = unb64(partner.encryption_key, "encryption_key", 32)
    eph = X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes(_RAW, _PUB)
    shared = eph.exchange(X25519PublicKey.from_public_bytes(recipient))
    pid = package_id or new_id()
    header = {"package_id": pid, "kind": kind, "created_at": utcnow().isoformat(),
              "sender_signing_key": keys.signing_public,
              "recipient_encryption_key": partner.encryption_key,
              "ephemeral_key": b64(eph_pub)}
    plaintext = _canonical({"sender_signing_key": keys.signing_public, "body": body})
    nonce = os.urandom(12)
    aad = _canonical(header)
    ct = AESGCM(_aead_key(shared, eph_pub, recipient)).encrypt(nonce, plaintext, aad)
    sig = keys.signing.sign(aad + nonce + ct)
    doc = {"format": FORMAT, "header": header, "nonce": b64(nonce), "ciphertext": b64(ct),
           "signature": b64(sig)}
    return pid, json.dumps(doc, indent=1).encode("utf-8")


@dataclass(frozen=True)
class Opened:
    package_id: str
    kind: str
    partner: Partner
    body: dict[str, Any]


def open_package(session: Session, keys: InstanceKeys, data: bytes) -> Opened:
    """Verify and decrypt a package (see the module docstring for the checks)."""
    try:
        doc = json.loads(data.decode("utf-8"))
        header = doc["header"]
        if doc.get("format") != FORMAT or header["kind"] not in KINDS:
            raise PackageError("not a Maillon package of a known format and kind")
        nonce = unb64(doc["nonce"], "nonce", 12)
        ct = unb64(doc["ciphertext"], "ciphertext")
        sig = unb64(doc["signature"], "signature", 64)
        eph_pub = unb64(header["ephemeral_key"], "ephemeral_key", 32)
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise PackageError("the package is malformed") from exc
    if header.get("recipient_encryption_key") != keys.encryption_public:
        raise PackageError("the package is not addressed to this instance")
    partner = session.execute(select(Partner).where(
        Partner.signing_key == header.get("sender_signing_key"))).scalar_one_or_none()
    if partner is None:
        raise PackageError("the sender is not a registered partner")
    aad = _canonical(header)
    try:
        Ed25519PublicKey.from_public_bytes(unb64(partner.signing_key, "signing_key", 32)
                                           ).verify(sig, aad + nonce + ct)
    except InvalidSignature as exc:
        raise PackageError("the signature does not verify: the package was altered or "
                           "not made by the partner") from exc
    own = keys.encryption.public_key().public_bytes(_RAW, _PUB)
    shared = keys.encryption.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    try:
        plain = AESGCM(_aead_key(shared, eph_pub, own)).decrypt(nonce, ct, aad)
    except InvalidTag as exc:
        raise PackageError("the package does not decrypt: altered or not for this "
                           "instance") from exc
    inner = json.loads(plain)
    if inner.get("sender_signing_key") != partner.signing_key:
        raise PackageError("the inner sender does not match the signer")
    pid = str(header["package_id"])
    if session.execute(select(TransnationalPackage.id).where(
            TransnationalPackage.package_id == pid)).first():
        raise Conflict(f"package {pid} was already imported")
    return Opened(pid, str(header["kind"]), partner, dict(inner["body"]))


# --- the exchange --------------------------------------------------------------------------


def export_referral(session: Session, tools: Tools, actor: Actor, keys: InstanceKeys, *,
                    referral_id: str, partner_name: str) -> bytes:
    """A package of the referral's consented data set for ``partner_name``."""
    partner = find_partner(session, partner_name)
    row = session.get(ServiceReferral, referral_id)
    if row is None or row.organisation_id != actor.organisation_id:
        raise NotFound(f"no referral {referral_id}")
    key_org = row.recipient_organisation_id or row.organisation_id
    if key_org != row.organisation_id:
        raise Conflict("this referral is addressed to a service of this instance; "
                       "make a referral to a service without an account to send it abroad")
    data = json.loads(tools.cipher.decrypt(row.payload, organisation_id=key_org,
                                           record_id=row.id, field="service_referral.payload")
                      or "{}")
    body = {"referral_ref": row.id, "consent": row.consent,
            "fields": row.shared_fields.split(","), "data": data}
    pid, package = seal(keys, partner, "referral", body)
    session.add(TransnationalPackage(package_id=pid, direction="out", kind="referral",
                                     partner_id=partner.id, referral_id=row.id,
                                     fields=row.shared_fields, created_by=actor.username))
    audit(session, tools, actor, action="export", resource="service_referral",
          resource_id=row.id, fields=tuple(body["fields"]),
          detail={"partner": partner.name, "package": pid})
    return package


@dataclass(frozen=True)
class ImportResult:
    package_id: str
    kind: str
    partner: str
    reply: bytes | None
    detail: dict[str, Any]


def import_package(session: Session, tools: Tools, actor: Actor, keys: InstanceKeys,
                   data: bytes) -> ImportResult:
    """Open a package. A referral is stored (encrypted) and answered with a receipt (``ack``)
    package; a receipt or a status feedback updates the outbound package it is about."""
    opened = open_package(session, keys, data)
    body, partner = opened.body, opened.partner
    row = TransnationalPackage(package_id=opened.package_id, direction="in", kind=opened.kind,
                               partner_id=partner.id, created_by=actor.username)
    reply = None
    detail: dict[str, Any] = {}
    if opened.kind == "referral":
        fields = [str(f) for f in body.get("fields", [])]
        data_set = {k: v for k, v in dict(body.get("data", {})).items() if k in fields}
        row.id = new_id()
        row.fields = ",".join(fields)
        row.payload = tools.cipher.encrypt(json.dumps(data_set, ensure_ascii=False),
                                           organisation_id=actor.organisation_id,
                                           record_id=row.id,
                                           field="transnational_package.payload")
        row.status = "received"
        _, reply = seal(keys, partner, "ack", {"about": opened.package_id,
                                               "received_at": utcnow().isoformat()})
        detail = {"fields": fields}
    else:
        about = str(body.get("about", ""))
        out = session.execute(select(TransnationalPackage).where(
            TransnationalPackage.package_id == about,
            TransnationalPackage.direction == "out",
            TransnationalPackage.partner_id == partner.id)).scalar_one_or_none()
        if out is None:
            raise PackageError(f"the {opened.kind} is about unknown package {about}")
        row.about_package_id = about
        if opened.kind == "ack":
            out.acknowledged_at = utcnow()
            detail = {"acknowledged": about}
        else:
            status = str(body.get("status"))
            if status not in FEEDBACK:
                raise PackageError(f"unknown status {status!r}")
            out.status, out.status_at = status, utcnow()
            out.status_note = str(body.get("note") or "")[:500] or None
            detail = {"status": status, "about": about}
    session.add(row)
    audit(session, tools, actor, action="import", resource="transnational_package",
          resource_id=opened.package_id, fields=tuple(detail.get("fields", ())),
          detail={"kind": opened.kind, "partner": partner.name})
    return ImportResult(opened.package_id, opened.kind, partner.name, reply, detail)


def status_feedback(session: Session, tools: Tools, actor: Actor, keys: InstanceKeys, *,
                    package_id: str, status: str, note: str | None = None) -> bytes:
    """A status package (accepted / rejected / done) about a received referral."""
    if status not in FEEDBACK:
        raise InvalidInput(f"status must be one of {', '.join(FEEDBACK)}",
                           [FieldError("unknown status", "status", value=status)])
    row = session.execute(select(TransnationalPackage).where(
        TransnationalPackage.package_id == package_id,
        TransnationalPackage.direction == "in",
        TransnationalPackage.kind == "referral")).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no received referral package {package_id}")
    partner = session.get(Partner, row.partner_id)
    if partner is None:  # pragma: no cover - foreign key
        raise NotFound("partner gone")
    row.status, row.status_at = status, utcnow()
    pid, package = seal(keys, partner, "status",
                        {"about": package_id, "status": status, "note": note or ""})
    session.add(TransnationalPackage(package_id=pid, direction="out", kind="status",
                                     partner_id=partner.id, about_package_id=package_id,
                                     status=status, created_by=actor.username))
    audit(session, tools, actor, action="export", resource="transnational_package",
          resource_id=package_id, detail={"status": status, "package": pid})
    return package


def received_referral(session: Session, tools: Tools, actor: Actor, package_id: str
                      ) -> dict[str, Any]:
    """A received referral's data set (only the fields the sender shared)."""
    row = session.execute(select(TransnationalPackage).where(
        TransnationalPackage.package_id == package_id,
        TransnationalPackage.direction == "in")).scalar_one_or_none()
    if row is None or row.payload is None:
        raise NotFound(f"no received referral package {package_id}")
    data = json.loads(tools.cipher.decrypt(row.payload, organisation_id=actor.organisation_id,
                                           record_id=row.id,
                                           field="transnational_package.payload"))
    audit(session, tools, actor, action="read", resource="transnational_package",
          resource_id=package_id, fields=tuple(data))
    return {"package_id": package_id, "fields": (row.fields or "").split(","), "data": data,
            "status": row.status}


def list_packages(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(TransnationalPackage, Partner.name).join(
        Partner, Partner.id == TransnationalPackage.partner_id)
        .order_by(TransnationalPackage.created_at.desc())).all()
    return [{"package_id": r.package_id, "direction": r.direction, "kind": r.kind,
             "partner": name, "referral_id": r.referral_id, "about": r.about_package_id,
             "fields": r.fields, "acknowledged_at": r.acknowledged_at, "status": r.status,
             "status_at": r.status_at, "created_at": r.created_at} for r, name in rows]
