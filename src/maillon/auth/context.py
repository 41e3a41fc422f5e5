"""The security services one process needs: its key provider and its audit log.

Opened once per process from the settings (``key_file``, ``audit_anchor``) and shared by the CLI
and the web app. Keys never live in the database; the audit log's HMAC key comes from the key
file's ``audit`` secret.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from maillon.core.settings import Settings
from maillon.store.audit import AuditLog
from maillon.store.keys import FileKeyProvider, KeyProvider


@dataclass(frozen=True)
class Security:
    """Key provider and audit log of this process."""

    keys: KeyProvider
    audit: AuditLog

    @classmethod
    def open(cls, settings: Settings) -> Security:
        """Open (creating on first use) the key file and the audit log the settings name."""
        keys = FileKeyProvider.open_or_create(settings.key_file)
        return cls(keys=keys, audit=AuditLog(keys.secret("audit"), settings.audit_anchor))


def operator_name(settings: Settings) -> str:
    """The identity CLI commands run and are audited as: ``--as``, else the OS user."""
    return settings.operator or getpass.getuser() or "operator"
