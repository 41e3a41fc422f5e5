"""Roles as data: who may do which action on which resource, over which records, seeing what.

The built-in roles live in ``roles.yaml`` beside this module and are parsed and validated once,
on first use. A role grants, per resource, a set of actions, each with a record *scope*
(``own`` < ``team`` < ``organisation`` < ``all``), and one *field visibility* for the personal
fields of that resource (``none``, ``pseudonymised``, ``full``). Whatever is not granted is
denied. Any name the loader does not know (resource, action, scope, visibility, key) is an
error, so a typo cannot silently widen or narrow access.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, get_args

import yaml

from maillon.core.errors import ConfigurationError

Scope = Literal["own", "team", "organisation", "all"]
Visibility = Literal["none", "pseudonymised", "full"]
Resource = Literal[
    "case", "person", "import", "stats", "audit", "user", "organisation", "link_review",
    "referral", "alert", "supplier",
]
Action = Literal["read", "create", "update", "delete", "export", "publish", "review"]

SCOPES: tuple[Scope, ...] = get_args(Scope)
"""Scopes from narrowest to widest."""
VISIBILITIES: tuple[Visibility, ...] = get_args(Visibility)
RESOURCES: tuple[Resource, ...] = get_args(Resource)
ACTIONS: tuple[Action, ...] = get_args(Action)


@dataclass(frozen=True)
class ResourceGrant:
    """What one role may do on one resource."""

    fields: Visibility
    actions: Mapping[str, Scope]


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    requires_totp: bool
    resources: Mapping[str, ResourceGrant]

    def scope(self, resource: str, action: str) -> Scope | None:
        """The scope granted for ``action`` on ``resource``, or ``None`` (denied)."""
        grant = self.resources.get(resource)
        return None if grant is None else grant.actions.get(action)

    def visibility(self, resource: str) -> Visibility:
        """Visibility of the personal fields of ``resource``; ``none`` when not granted."""
        grant = self.resources.get(resource)
        return "none" if grant is None else grant.fields

    @property
    def sees_personal_data(self) -> bool:
        return any(g.fields != "none" for g in self.resources.values())


def _fail(where: str, message: str) -> ConfigurationError:
    return ConfigurationError(f"roles: {where}: {message}")


def _keys(where: str, raw: Mapping[str, Any], allowed: set[str], required: set[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _fail(where, f"unknown key(s) {', '.join(unknown)}")
    missing = sorted(required - set(raw))
    if missing:
        raise _fail(where, f"missing key(s) {', '.join(missing)}")


def _mapping(where: str, raw: object) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
        raise _fail(where, "must be a mapping with text keys")
    return raw


def _grant(where: str, raw: object) -> ResourceGrant:
    body = _mapping(where, raw)
    _keys(where, body, {"fields", "actions"}, {"fields", "actions"})
    fields = body["fields"]
    if fields not in VISIBILITIES:
        raise _fail(where, f"unknown field visibility {fields!r}; use one of {VISIBILITIES}")
    actions: dict[str, Scope] = {}
    for action, scope in _mapping(f"{where}.actions", body["actions"]).items():
        if action not in ACTIONS:
            raise _fail(where, f"unknown action {action!r}; use one of {ACTIONS}")
        if scope not in SCOPES:
            raise _fail(f"{where}.{action}", f"unknown scope {scope!r}; use one of {SCOPES}")
        actions[action] = scope
    if not actions:
        raise _fail(where, "grants no action")
    return ResourceGrant(fields=fields, actions=MappingProxyType(actions))


def _role(name: str, raw: object) -> Role:
    where = f"role {name}"
    body = _mapping(where, raw)
    required = {"requires_totp", "resources"}
    _keys(where, body, required | {"description"}, required)
    requires_totp = body["requires_totp"]
    if not isinstance(requires_totp, bool):
        raise _fail(where, "requires_totp must be true or false")
    description = body.get("description", "")
    if not isinstance(description, str):
        raise _fail(where, "description must be text")
    grants: dict[str, ResourceGrant] = {}
    for resource, grant in _mapping(f"{where}.resources", body["resources"]).items():
        if resource not in RESOURCES:
            raise _fail(where, f"unknown resource {resource!r}; use one of {RESOURCES}")
        grants[resource] = _grant(f"{where}.{resource}", grant)
    role = Role(name, description.strip(), requires_totp, MappingProxyType(grants))
    if role.sees_personal_data and not role.requires_totp:
        raise _fail(where, "sees personal fields, so requires_totp must be true")
    return role


def parse_roles(raw: object) -> Mapping[str, Role]:
    """Validate a parsed roles document (``{"roles": {...}}``) and build the roles."""
    top = _mapping("document", raw)
    _keys("document", top, {"roles"}, {"roles"})
    parsed: dict[str, Role] = {}
    for name, body in _mapping("roles", top["roles"]).items():
        if not name.isidentifier() or name != name.lower():
            raise _fail(f"role {name!r}", "name must be lower_snake_case")
        parsed[name] = _role(name, body)
    if not parsed:
        raise _fail("roles", "no role defined")
    return MappingProxyType(parsed)


@cache
def roles() -> Mapping[str, Role]:
    """The built-in roles (from ``roles.yaml``), parsed and validated once."""
    text = resources.files("maillon.auth").joinpath("roles.yaml").read_text(encoding="utf-8")
    return parse_roles(yaml.safe_load(text))


def get_role(name: str) -> Role | None:
    """The role called ``name``, or ``None`` for an unknown name (which grants nothing)."""
    return roles().get(name)


def role_names() -> list[str]:
    return list(roles())


def roles_markdown() -> str:
    """The roles table of ``docs/security-auth.md``, generated from the data."""
    lines = [
        "| role | TOTP | resource | fields | actions (scope) |",
        "|---|---|---|---|---|",
    ]
    for role in roles().values():
        totp = "required" if role.requires_totp else "optional"
        for resource, grant in role.resources.items():
            acts = ", ".join(f"{a} ({s})" for a, s in grant.actions.items())
            lines.append(f"| `{role.name}` | {totp} | {resource} | {grant.fields} | {acts} |")
    return "\n".join(lines) + "\n"
