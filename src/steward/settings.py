"""Configuration: the one place Steward reads its environment.

Sources, highest priority first: keyword arguments given to :class:`Settings` (tests, the
SDK), then ``STEWARD_*`` environment variables, then the defaults below. Nothing else in the
package reads ``os.environ``; every component receives a ``Settings`` (or the values it needs).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "DEFAULT_COALESCE_ROWS",
    "DEFAULT_MAX_CELL_BYTES",
    "DEFAULT_MAX_COLUMNS",
    "Settings",
    "child_environment",
    "export_to_workers",
    "metrics_folder",
]

# Defaults of the table limits, also used when a table is read outside an Application.
DEFAULT_MAX_COLUMNS = 10_000
DEFAULT_MAX_CELL_BYTES = 1 << 20
# Rows at most in one call of a served model that concurrent requests share.
DEFAULT_COALESCE_ROWS = 2048


class Settings(BaseSettings):
    """Typed settings; every field maps to a ``STEWARD_<FIELD>`` environment variable.

    Documented field by field in ``docs/configuration.md`` (a test keeps the two in step).
    """

    model_config = SettingsConfigDict(env_prefix="STEWARD_", extra="forbid", frozen=True)

    home: Path = Field(
        default=Path(".steward"),
        description="Folder holding config, the embedded database, artifacts, logs and keys.",
    )
    db_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata store; default sqlite:///$STEWARD_HOME/steward.db.",
    )
    artifacts_url: str | None = Field(
        default=None,
        description="fsspec URL or path of the artifact store; default $STEWARD_HOME/artifacts.",
    )
    token: SecretStr | None = Field(
        default=None,
        description="API token of the acting identity; default the token saved by init/login.",
    )
    server_token: SecretStr | None = Field(
        default=None,
        description="API token of the model server's own identity (set by steward serve for "
        "its workers); the server never falls back to another identity.",
    )
    url: str | None = Field(
        default=None,
        description="When set, the CLI and SDK talk to this server instead of the embedded store.",
    )
    signing_key: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) that signs ledger tree heads; "
        "default $STEWARD_HOME/keys/ledger_ed25519.pem.",
    )

    secrets_key: Path | None = Field(
        default=None,
        description="32-byte key (a file, e.g. a mounted secret) that seals secrets at rest: "
        "webhook signing secrets, the prediction log's hashing key; default "
        "$STEWARD_HOME/keys/secrets.key, made on first use.",
    )

    max_columns: int = Field(
        default=DEFAULT_MAX_COLUMNS,
        ge=1,
        description="Datasets with more columns are refused before their rows are read.",
    )
    max_cell_bytes: int = Field(
        default=DEFAULT_MAX_CELL_BYTES,
        ge=1,
        description="Datasets with a larger cell (bytes of UTF-8) are refused while being read.",
    )

    max_upload_bytes: int = Field(
        default=8 << 30,
        ge=1,
        description="Dataset uploads to the REST API larger than this are refused (413) while "
        "they stream in.",
    )

    coalesce_rows: int = Field(
        default=DEFAULT_COALESCE_ROWS,
        ge=0,
        description="The model server's concurrent requests for one version share a call of "
        "its model, of at most this many rows; 0: every request calls the model alone.",
    )

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def database_url(self) -> str:
        """The metadata store URL in force."""
        return self.db_url or f"sqlite:///{self.home / 'steward.db'}"

    @property
    def artifacts_location(self) -> str:
        """The artifact store URL or path in force."""
        return self.artifacts_url or str(self.home / "artifacts")

    @property
    def signing_key_path(self) -> Path:
        """Where the ledger signing key lives."""
        return self.signing_key or self.home / "keys" / "ledger_ed25519.pem"

    @property
    def secrets_key_path(self) -> Path:
        """Where the key sealing secrets at rest lives."""
        return self.secrets_key or self.home / "keys" / "secrets.key"

    @property
    def token_path(self) -> Path:
        """Where ``init`` and ``login`` save the token of the local identity."""
        return self.home / "token"

    @property
    def marker_path(self) -> Path:
        """The file that makes a folder a Steward home."""
        return self.home / "steward.json"


def metrics_folder() -> Path | None:
    """The folder prometheus-client's multiprocess mode keeps every server worker's samples
    in (``PROMETHEUS_MULTIPROC_DIR``, the library's own variable, set by ``steward serve``
    for its workers), or ``None`` in a single process."""
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def child_environment(values: dict[str, str], *, only: bool = False) -> dict[str, str]:
    """This process's environment with ``values`` set: for a child process Steward starts
    (a scheduled monitor run), which reads its ``Settings`` from it. With ``only``, no other
    ``STEWARD_`` variable of this process is passed on (the child's settings are ``values``'
    alone)."""
    kept = {k: v for k, v in os.environ.items() if not (only and k.startswith("STEWARD_"))}
    return kept | values


def export_to_workers(values: dict[str, str], *, defaults: dict[str, str] | None = None) -> None:
    """Put ``values`` (and ``defaults`` where unset) in this process's environment, for the
    server worker processes it is about to start: they read their ``Settings`` from it."""
    os.environ.update(values)
    for name, value in (defaults or {}).items():
        os.environ.setdefault(name, value)
