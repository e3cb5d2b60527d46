"""``steward init --force`` on an existing store: who may, what it deletes.

Re-creating a store destroys its ledger, so it is an admin's act on *that* store: the caller
presents an admin token the existing store authenticates, and a confirmation naming the store
(its URL as ``steward`` prints it, password hidden) — a forged ``steward.json`` in some folder,
or an empty folder pointed at a team's PostgreSQL, gets nothing. The new ledger's first event
records what it replaced (store, size and root of the old ledger, who).

In the home only what Steward created goes: the embedded database and its journal files, the
marker, the saved token, the witness, the home's own key pair (never a mounted
``STEWARD_SIGNING_KEY``), and content-addressed artifact files; anything else stays.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from steward.domain import Permission
from steward.errors import InvalidInput, PermissionDenied, StewardError
from steward.settings import Settings
from steward.store import Store, current_revision, make_engine

__all__ = ["authorize_reset", "remove_steward_files", "store_exists", "store_label"]

_ARTIFACT = re.compile(r"^[0-9a-f]{64}$")
_HOME_FILES = (
    "steward.db",
    "steward.db-wal",
    "steward.db-shm",
    "steward.db-journal",
    "steward.json",
    "token",
    "witness.json",
)


def store_label(settings: Settings) -> str:
    """The store as ``--confirm`` names it: its URL, password hidden."""
    engine = make_engine(settings.database_url)
    try:
        return engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()


def store_exists(settings: Settings) -> bool:
    """Whether the database already holds a Steward store (of any schema revision)."""
    if settings.database_url.startswith("sqlite"):
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        if not path.exists():
            return False
    engine = make_engine(settings.database_url)
    try:
        return current_revision(engine) is not None
    finally:
        engine.dispose()


def authorize_reset(settings: Settings, token: str | None, confirm: str | None) -> dict[str, Any]:
    """Check that ``token`` is an admin's on the existing store and ``confirm`` names it;
    return what the new ledger records of the store it replaces. Refuses (exit 3) without a
    valid admin token, and (exit 2) without the right confirmation."""
    from steward.services.identity._service import IdentityService

    label = store_label(settings)
    try:
        store = Store.open(settings.database_url)
    except StewardError as exc:
        raise InvalidInput(
            f"the store at {label} cannot be opened ({exc.message}): Steward will not drop a "
            "store it cannot authenticate you against; drop it with the database's own tools"
        ) from None
    try:
        actor = IdentityService(store).authenticate(token)
        if not actor.can(Permission.USER_MANAGE):
            raise PermissionDenied(
                f"{actor.name} may not re-create the store at {label}: it needs an admin "
                "(user:manage) of that store",
                details={"actor": actor.name, "permission": Permission.USER_MANAGE.value},
            )
        with store.read() as reader:
            head = reader.head()
    finally:
        store.close()
    if confirm != label:
        raise InvalidInput(
            f"--force destroys the store at {label} and its ledger: confirm with --confirm {label}",
            details={"field": "confirm", "expected": label},
        )
    return {
        "store": label,
        "tree_size": head.size if head else 0,
        "root_hash": head.root_hash.hex() if head else None,
        "by": actor.name,
    }


def remove_steward_files(settings: Settings) -> list[Path]:
    """Delete what Steward created in the home (see the module docstring); return it."""
    home = settings.home
    removed: list[Path] = []
    for name in _HOME_FILES:
        path = home / name
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
    if settings.signing_key is None:  # the home's own key pair, not a mounted secret
        keys = home / "keys"
        for name in ("ledger_ed25519.pem", "ledger_ed25519.pub"):
            path = keys / name
            if path.is_file():
                path.unlink()
                removed.append(path)
        _remove_if_empty(keys)
    if settings.artifacts_url is None:
        artifacts = home / "artifacts"
        if artifacts.is_dir():
            for path in sorted(artifacts.rglob("*"), reverse=True):
                if path.is_file() and _ARTIFACT.fullmatch(path.name.split(".")[0]):
                    path.unlink()
                    removed.append(path)
                elif path.is_dir():
                    _remove_if_empty(path)
            _remove_if_empty(artifacts)
    return removed


def _remove_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: it holds files Steward did not create
        path.rmdir()
