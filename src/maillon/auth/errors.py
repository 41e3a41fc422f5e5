"""The error of failed sign-ins and session checks."""

from __future__ import annotations

from maillon.core.errors import MaillonError


class AuthenticationFailed(MaillonError):
    """Sign-in or session check failed (HTTP 401). The message never says which part was wrong;
    every sign-in failure reads ``invalid credentials``."""

    status = 401
    code = "unauthenticated"

    def __init__(self, message: str = "invalid credentials") -> None:
        super().__init__(message)
