"""The Steward home: creating one (``steward init``), recognising one, upgrading its store."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steward._version import __version__
from steward.domain import LedgerStarted, Role
from steward.errors import AlreadyExists, InvalidInput, NotAStewardHome, NotFound
from steward.ledger import PublicKey, Signer, generate_key_file
from steward.services._files import private_folder, write_private
from steward.services._records import record_event
from steward.services.identity._service import create_user_in
from steward.settings import Settings
from steward.store import SCHEMA_HEAD, Store, current_revision, make_engine, migrate
from steward.types import Clock, SystemClock, utc_iso

__all__ = [
    "HOME_FORMAT",
    "SYSTEM_ACTOR",
    "InitResult",
    "SchemaStatus",
    "ambient_token",
    "initialize",
    "public_key_path",
    "read_saved_token",
    "require_home",
    "save_token",
    "schema_status",
    "trusted_public_key",
    "upgrade_store",
]

HOME_FORMAT = "steward.home/v1"
# Actor name of changes made by Steward itself; '@' cannot start a user name.
SYSTEM_ACTOR = "@system"


@dataclass(frozen=True, slots=True)
class InitResult:
    home: Path
    database_url: str
    admin: str
    token: str
    key_id: str


def public_key_path(settings: Settings) -> Path:
    return settings.signing_key_path.with_suffix(".pub")


def require_home(settings: Settings) -> None:
    """Refuse to go on unless ``settings.home`` was made by ``steward init``."""
    home = settings.home
    if not home.exists():
        raise NotAStewardHome(f"{home} does not exist: run `steward init` or set STEWARD_HOME")
    try:
        marker = json.loads(settings.marker_path.read_text("utf-8"))
    except (OSError, ValueError):
        raise NotAStewardHome(
            f"{home} is not a Steward home (no valid steward.json): run `steward init` "
            "or set STEWARD_HOME"
        ) from None
    if not isinstance(marker, dict) or marker.get("format") != HOME_FORMAT:
        raise NotAStewardHome(f"{home} holds a steward.json of an unknown format")


def save_token(settings: Settings, token: str) -> Path:
    """Save the local identity's token, readable by its owner only."""
    return write_private(settings.token_path, token + "\n")


def read_saved_token(settings: Settings) -> str | None:
    try:
        return settings.token_path.read_text("ascii").strip() or None
    except FileNotFoundError:
        return None


def ambient_token(settings: Settings, token: str | None = None) -> str | None:
    """The local caller's token, by the ambient chain (read nowhere else): ``token``, else
    ``STEWARD_TOKEN``, else the token saved in the home, else ``None``."""
    if token is None and settings.token is not None:
        token = settings.token.get_secret_value()
    if token is None:
        token = read_saved_token(settings)
    return token


def initialize(
    settings: Settings,
    *,
    admin: str = "admin",
    force: bool = False,
    clock: Clock | None = None,
    token: str | None = None,
    confirm: str | None = None,
) -> InitResult:
    """Create a Steward home: folder, signing key, store at head, admin identity and token.

    The folder is assembled under a temporary name and moved into place, so a failure leaves
    no half-made home. ``force`` re-creates an existing store and home (its store, ledger and
    keys are destroyed): only with ``token``, an admin token the existing store authenticates,
    and ``confirm`` naming the store (see ``_reinit.py``); it deletes only what Steward
    created there.
    """
    from steward.app._reinit import authorize_reset, remove_steward_files, store_exists

    home = settings.home
    existing = home.exists()
    if existing and not home.is_dir():
        raise InvalidInput(f"{home} exists and is not a folder")
    is_home = settings.marker_path.exists()
    if is_home and not force:
        raise AlreadyExists(
            f"{home} is already a Steward home: use --force to re-create it "
            "(destroys its store, ledger and keys)"
        )
    if existing and not is_home and any(home.iterdir()):
        raise InvalidInput(
            f"{home} is not empty and is not a Steward home: choose an empty or new folder"
        )
    if not home.parent.is_dir():
        raise NotFound(f"{home.parent} does not exist")
    replaces: dict[str, Any] | None = None
    if force and store_exists(settings):
        replaces = authorize_reset(settings, ambient_token(settings, token), confirm)
    elif force and is_home:
        replaces = {"store": None, "tree_size": 0, "root_hash": None, "by": None}

    staging = home.parent / f".{home.name}.init-{uuid.uuid4().hex[:8]}"
    staging.mkdir(mode=0o700)
    os.chmod(staging, 0o700)  # the home's mode, whatever the umask
    try:
        staged = Settings(
            home=staging,
            db_url=settings.db_url,
            artifacts_url=settings.artifacts_url,
            signing_key=settings.signing_key,
        )
        result = _build(
            staged,
            admin=admin,
            force=replaces is not None,
            clock=clock or SystemClock(),
            replaces=replaces,
        )
        if is_home:
            remove_steward_files(settings)
        _swap_into_place(staging, home)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return InitResult(home, settings.database_url, result[0], result[1], result[2])


def _build(
    settings: Settings,
    *,
    admin: str,
    force: bool,
    clock: Clock,
    replaces: dict[str, Any] | None = None,
) -> tuple[str, str, str]:
    key_path = settings.signing_key_path
    if settings.signing_key is not None and key_path.exists():
        signer = Signer.from_file(key_path)  # a mounted secret shared by a team's servers
    else:
        signer = generate_key_file(key_path)
    # Everything in the home is its owner's alone (0600 files, 0700 folders), whatever the
    # umask; the public key too: it is the trust anchor, handed out by copying it.
    write_private(public_key_path(settings), signer.public_key.to_pem())
    private_folder(settings.home / "artifacts")
    write_private(
        settings.marker_path,
        json.dumps({"format": HOME_FORMAT, "created_by": f"steward {__version__}"}) + "\n",
    )

    engine = make_engine(settings.database_url)
    try:
        if current_revision(engine) is not None:
            if not force:
                raise AlreadyExists(
                    f"the database {engine.url.render_as_string(hide_password=True)} already "
                    "holds a Steward store: use --force to drop and re-create it"
                )
            migrate(engine, "base")
        migrate(engine)
    finally:
        engine.dispose()

    store = Store.open(settings.database_url, signer=lambda: signer, clock=clock)
    try:
        with store.write(SYSTEM_ACTOR) as tx:
            started = LedgerStarted(
                key_id=signer.key_id,
                public_key=signer.public_key.raw.hex(),
                schema=SCHEMA_HEAD,
                steward_version=__version__,
                replaces=replaces if replaces and replaces.get("store") else None,
            )
            record_event(tx, started, subject="ledger")
        with store.write(SYSTEM_ACTOR) as tx:
            _, token = create_user_in(tx, admin, frozenset({Role.ADMIN}))
        # The new home witnesses its ledger from the first head on (see _witness.py).
        from steward.services.audit._witness import home_witness

        home_witness(settings).advance(
            store, lambda: signer.public_key, lambda: utc_iso(store.now())
        )
    finally:
        store.close()
    save_token(settings, token)
    return admin, token, signer.key_id


def _swap_into_place(staging: Path, home: Path) -> None:
    """Move the assembled home into place: a rename when there is no folder yet, else entry
    by entry (the folder may keep files Steward did not create)."""
    if not home.exists():
        staging.rename(home)
        return
    for entry in staging.iterdir():
        target = home / entry.name
        if target.is_dir() and entry.is_dir():
            for inner in entry.iterdir():
                inner.rename(target / inner.name)
            entry.rmdir()
        else:
            entry.rename(target)
    staging.rmdir()


def upgrade_store(settings: Settings) -> tuple[str | None, str]:
    """Migrate the store to this Steward's schema; return ``(before, after)`` revisions."""
    require_home(settings)
    engine = make_engine(settings.database_url)
    try:
        before = current_revision(engine)
        if before is None:
            raise NotAStewardHome(
                f"no Steward store at {engine.url.render_as_string(hide_password=True)}: "
                "run `steward init`"
            )
        migrate(engine)
        return before, SCHEMA_HEAD
    finally:
        engine.dispose()


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """The store's schema revision against the one this Steward needs."""

    store: str
    current: str | None
    required: str

    @property
    def ok(self) -> bool:
        return self.current == self.required

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "current": self.current,
            "required": self.required,
            "ok": self.ok,
        }


def schema_status(settings: Settings) -> SchemaStatus:
    """Where the home's store stands (``steward db status``); never migrates."""
    require_home(settings)
    engine = make_engine(settings.database_url)
    try:
        current = current_revision(engine)
        return SchemaStatus(engine.url.render_as_string(hide_password=True), current, SCHEMA_HEAD)
    finally:
        engine.dispose()


def trusted_public_key(settings: Settings, path: Path | None = None) -> PublicKey:
    """The key verification trusts: ``path`` if given, else this home's own key."""
    candidate = path or public_key_path(settings)
    try:
        return PublicKey.from_file(candidate)
    except FileNotFoundError:
        raise NotFound(f"no public key at {candidate}") from None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
