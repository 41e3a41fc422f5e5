"""Settings, declared once.

Each setting has a name, a type, a default and a help text. The same declaration drives the
environment variables (``MAILLON_<NAME>``), the CLI's ``--help`` and ``docs/settings.md``, so a
setting cannot be documented in one place and behave differently in another.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One declared setting: ``name`` is the attribute, ``env`` the variable that overrides it."""

    name: str
    type: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"MAILLON_{self.name.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir", Path, Path("maillon-data"), "Workspace folder: database file, keys, uploads."
    ),
    Setting(
        "database_url",
        str,
        "",
        "SQLAlchemy URL of the operational store, e.g. "
        "postgresql+psycopg://maillon@127.0.0.1:5432/maillon. Empty: SQLite file in data_dir.",
    ),
    Setting(
        "key_file",
        Path,
        Path("maillon-keys/maillon-keys.json"),
        "Key file (encryption, blind-index, audit and pseudonym secrets), created on first use "
        "with mode 0600. Keep it outside the workspace, the database server and their backups.",
    ),
    Setting(
        "audit_anchor",
        Path,
        Path("maillon-keys/audit-anchor.json"),
        "File holding the head of the audit log's hash chain, outside the database.",
    ),
    Setting("operator", str, "", "Who runs CLI commands (audited); empty: the OS user name."),
    Setting("host", str, "127.0.0.1", "Address the web app listens on."),
    Setting("port", int, 8000, "First port tried by the web app; the next free one is used."),
    Setting("import_chunk_rows", int, 20000, "Rows validated and inserted per chunk on import."),
    Setting("max_upload_mb", int, 200, "Largest file accepted by the web upload, in MiB."),
    Setting("oidc_issuer", str, "",
            "OpenID Connect issuer URL (https) of the organisation's identity provider; empty: "
            "sign-in with Maillon passwords only."),
    Setting("oidc_client_id", str, "", "Client id registered with the identity provider."),
    Setting("oidc_client_secret", str, "",
            "Client secret registered with the identity provider (set it in the environment)."),
    Setting("oidc_username_claim", str, "preferred_username",
            "ID token claim holding the Maillon username (the account must exist)."),
)


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build with :func:`load_settings`; tests pass overrides directly."""

    data_dir: Path = Path("maillon-data")
    database_url: str = ""
    key_file: Path = Path("maillon-keys/maillon-keys.json")
    audit_anchor: Path = Path("maillon-keys/audit-anchor.json")
    operator: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    import_chunk_rows: int = 20000
    max_upload_mb: int = 200
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_username_claim: str = "preferred_username"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        """The store URL: the configured one, or ``sqlite:///<data_dir>/maillon.sqlite``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'maillon.sqlite').resolve()}"


def _convert(setting: Setting, raw: str) -> Any:
    if setting.type is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return setting.type(raw)


def load_settings(**overrides: Any) -> Settings:
    """Settings from defaults, then ``MAILLON_*`` environment variables, then ``overrides``.

    ``None`` overrides are ignored, so CLI options that were not given keep the environment value.
    """
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value: Any = setting.default
        raw = os.environ.get(setting.env)
        if raw is not None and raw != "":
            value = _convert(setting, raw)
        if overrides.get(setting.name) is not None:
            value = overrides[setting.name]
        values[setting.name] = value
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})


def settings_markdown() -> str:
    """The settings table for ``docs/settings.md``."""
    lines = ["| setting | environment variable | default | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        lines.append(f"| `{s.name}` | `{s.env}` | `{s.default}` | {s.help} |")
    return "\n".join(lines) + "\n"
