"""Public entry points of accounts and authorisation (``maillon.auth``).

Everything another capability (web app, CLI, queries) needs is re-exported here; the modules
behind it are implementation detail. See ``docs/security-auth.md``.
"""

from __future__ import annotations

from maillon.auth.errors import AuthenticationFailed
from maillon.auth.models import User, UserSession
from maillon.auth.passwords import (
    Argon2Params,
    PasswordCheck,
    hash_password,
    password_problems,
    verify_password,
)
from maillon.auth.permissions import (
    Principal,
    allowed,
    field_visibility,
    require,
    scope_filter,
)
from maillon.auth.roles import (
    ACTIONS,
    RESOURCES,
    SCOPES,
    VISIBILITIES,
    Action,
    Resource,
    Role,
    Scope,
    Visibility,
    get_role,
    role_names,
    roles,
)
from maillon.auth.service import (
    authenticate,
    authenticate_external,
    change_password,
    create_user,
    reset_totp,
)
from maillon.auth.sessions import (
    ABSOLUTE_TIMEOUT,
    IDLE_TIMEOUT,
    as_utc,
    check_csrf,
    hash_token,
    logout,
    revoke_user_sessions,
    session_user,
)
from maillon.auth.totp import provisioning_uri

__all__ = [
    "ABSOLUTE_TIMEOUT",
    "ACTIONS",
    "IDLE_TIMEOUT",
    "RESOURCES",
    "SCOPES",
    "VISIBILITIES",
    "Action",
    "Argon2Params",
    "AuthenticationFailed",
    "PasswordCheck",
    "Principal",
    "Resource",
    "Role",
    "Scope",
    "User",
    "UserSession",
    "Visibility",
    "allowed",
    "as_utc",
    "authenticate",
    "authenticate_external",
    "change_password",
    "check_csrf",
    "create_user",
    "field_visibility",
    "get_role",
    "hash_password",
    "hash_token",
    "logout",
    "password_problems",
    "provisioning_uri",
    "require",
    "reset_totp",
    "revoke_user_sessions",
    "role_names",
    "roles",
    "scope_filter",
    "session_user",
    "verify_password",
]
