"""Organisations: the tenants that own records and employ users."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from maillon.core.errors import Conflict, FieldError, InvalidInput, NotFound
from maillon.core.ids import slug
from maillon.store.models import Organisation
from maillon.vocab import api as vocab


def find_organisation(session: Session, ref: str) -> Organisation:
    """An organisation by id, code or exact name; :class:`NotFound` otherwise."""
    found = session.execute(
        select(Organisation).where(
            or_(Organisation.id == ref, Organisation.code == ref, Organisation.name == ref)
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no organisation {ref!r}")
    return found


def create_organisation(
    session: Session, *, name: str, code: str | None = None, org_type: str | None = None,
    country: str | None = None,
) -> Organisation:
    """Create an organisation; ``org_type`` is an ``organisation_type`` code, ``country`` ISO."""
    errors: list[FieldError] = []
    if not name.strip():
        errors.append(FieldError("required", "name"))
    resolved_type = vocab.get("organisation_type").resolve(org_type) if org_type else None
    if org_type and resolved_type is None:
        errors.append(FieldError("unknown organisation type", "org_type", None, org_type))
    resolved_country = vocab.country(country) if country else None
    if country and resolved_country is None:
        errors.append(FieldError("unknown country", "country", None, country))
    if errors:
        raise InvalidInput("cannot create the organisation", errors)
    code = code or slug(name)
    clash = session.execute(
        select(Organisation.id).where(or_(Organisation.code == code, Organisation.name == name))
    ).first()
    if clash is not None:
        raise Conflict(f"an organisation named {name!r} or coded {code!r} exists")
    org = Organisation(name=name.strip(), code=code, org_type=resolved_type,
                       country=resolved_country)
    session.add(org)
    session.flush()
    return org
