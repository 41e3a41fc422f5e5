"""One error hierarchy, one JSON error shape.

Every error Maillon raises on purpose is a :class:`MaillonError`. It carries the HTTP status the
API answers with and a stable ``code``. The JSON body is always::

    {"error": {"code": "validation_failed", "message": "...",
               "details": [{"row": 12, "field": "prs_Birthdate", "value": "2023-02-30",
                            "reason": "not a valid date"}]}}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one value. ``row`` is the 1-based data row (header not counted)."""

    reason: str
    field: str | None = None
    row: int | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"column {self.field}")
        prefix = ", ".join(where)
        shown = f" (value {self.value!r})" if self.value is not None else ""
        return f"{prefix}: {self.reason}{shown}" if prefix else f"{self.reason}{shown}"


class MaillonError(Exception):
    """Base of all deliberate errors. Subclasses set ``status`` and ``code``."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


class NotFound(MaillonError):
    status = 404
    code = "not_found"


class InvalidInput(MaillonError):
    """The request or file is malformed; ``details`` names each row, field and reason."""

    status = 422
    code = "validation_failed"


class InvalidFile(InvalidInput):
    """The file cannot be read at all (broken encoding, truncated, not the declared format)."""

    code = "invalid_file"


class Conflict(MaillonError):
    status = 409
    code = "conflict"


class PermissionDenied(MaillonError):
    status = 403
    code = "forbidden"


class ConfigurationError(MaillonError):
    status = 500
    code = "configuration_error"


def error_body(code: str, message: str, details: list[FieldError] | None = None) -> dict[str, Any]:
    """The one JSON error shape (see module docstring)."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": [d.as_dict() for d in (details or [])],
        }
    }
