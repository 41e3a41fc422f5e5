"""Authorisation checks: may this principal do this, over which rows, seeing which fields.

Deny by default: an unknown role, resource or action grants nothing. Record scope is enforced
*in the query* with :func:`scope_filter`, never by filtering rows after loading them::

    stmt = select(Case).where(
        scope_filter(principal, "case", "read", owner_column=Case.created_by,
                     organisation_column=Case.organisation_id)
    )
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, select, true
from sqlalchemy.orm import InstrumentedAttribute

from maillon.auth.models import User
from maillon.auth.roles import Scope, Visibility, get_role
from maillon.core.errors import PermissionDenied

Column = ColumnElement[str] | InstrumentedAttribute[str] | InstrumentedAttribute[str | None]


@dataclass(frozen=True)
class Principal:
    """Who is acting: the identity facts that authorisation reads, detached from the ORM."""

    user_id: str
    username: str
    organisation_id: str
    team: str | None
    role: str

    @classmethod
    def from_user(cls, user: User) -> Principal:
        return cls(
            user_id=user.id,
            username=user.username,
            organisation_id=user.organisation_id,
            team=user.team,
            role=user.role,
        )


def allowed(principal: Principal, resource: str, action: str) -> Scope | None:
    """The scope over which ``principal`` may do ``action`` on ``resource``; ``None``: denied."""
    role = get_role(principal.role)
    return None if role is None else role.scope(resource, action)


def require(principal: Principal, resource: str, action: str) -> Scope:
    """Like :func:`allowed`, but raise ``PermissionDenied`` instead of returning ``None``."""
    scope = allowed(principal, resource, action)
    if scope is None:
        raise PermissionDenied(f"not allowed to {action} {resource}")
    return scope


def field_visibility(principal: Principal, resource: str) -> Visibility:
    """How much of the personal fields of ``resource`` the principal sees; ``none`` by default."""
    role = get_role(principal.role)
    return "none" if role is None else role.visibility(resource)


def team_usernames(principal: Principal) -> ColumnElement[str]:
    """Sub-select of the usernames in the principal's team, within its organisation."""
    return (
        select(User.username)
        .where(User.team == principal.team, User.organisation_id == principal.organisation_id)
        .scalar_subquery()
    )


def scope_filter(
    principal: Principal,
    resource: str,
    action: str,
    *,
    owner_column: Column,
    organisation_column: Column,
    team_column: Column | None = None,
) -> ColumnElement[bool]:
    """A WHERE condition restricting rows to those ``principal`` may ``action``.

    * not allowed: ``false()`` (no row);
    * ``own``: rows of the principal's organisation whose ``owner_column`` is its username;
    * ``team``: rows of the organisation owned by a member of the principal's team (or whose
      ``team_column`` is the team, when the table records it); a principal without a team is a
      team of one and gets its own rows;
    * ``organisation``: rows whose ``organisation_column`` is the principal's organisation;
    * ``all``: ``true()``.
    """
    scope = allowed(principal, resource, action)
    in_org = organisation_column == principal.organisation_id
    if scope is None:
        return false()
    if scope == "all":
        return true()
    if scope == "organisation":
        return in_org
    if scope == "team" and principal.team is not None:
        if team_column is not None:
            return and_(in_org, team_column == principal.team)
        return and_(in_org, owner_column.in_(team_usernames(principal)))
    if scope in ("own", "team"):
        return and_(in_org, owner_column == principal.username)
    return false()
