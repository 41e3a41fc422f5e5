"""Who acts and with which tools: shared by the identify and refer services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from maillon.store.audit import AuditLog
from maillon.store.crypto import FieldCipher
from maillon.store.db import session_on


@dataclass(frozen=True)
class Actor:
    """The person or program acting, as audited (``source``: client address or ``cli``)."""

    username: str
    organisation_id: str | None
    source: str = ""


@dataclass(frozen=True)
class Tools:
    """The process's field cipher and audit log."""

    cipher: FieldCipher
    audit: AuditLog


@contextmanager
def write_scope(engine: Engine, tools: Tools, *organisation_ids: str | None
                ) -> Iterator[Session]:
    """One transaction (ORM session + audit entries) committed on exit, anchor moved after.

    Data keys of ``organisation_ids`` are created first, in their own transaction: a new key
    must not be written from inside another open write transaction (SQLite has one writer).
    """
    for org in organisation_ids:
        tools.cipher.ensure_data_key(org)
    with tools.audit.audit_scope(engine) as conn, session_on(conn) as session:
        yield session


def audit(session: Session, tools: Tools, actor: Actor, *, action: str, resource: str,
          resource_id: str | None, fields: tuple[str, ...] = (),
          detail: dict[str, object] | None = None) -> None:
    """Append an audit entry in the session's transaction (field names, never values)."""
    session.flush()
    tools.audit.append(session.connection(), actor=actor.username, action=action,
                       resource=resource, resource_id=resource_id, fields=fields,
                       source=actor.source[:100], detail=detail,
                       actor_organisation_id=actor.organisation_id)
