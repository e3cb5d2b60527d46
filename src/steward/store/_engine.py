"""Engines for the two supported backends, the schema-version check, and migrations.

SQLite runs in WAL mode with foreign keys on and ``synchronous=NORMAL`` (a committed
transaction survives a crash of the process; see docs/decisions/0003-sqlite-durability.md).
Write transactions start with ``BEGIN IMMEDIATE`` so writers queue on the database lock
instead of failing midway; reads start deferred and see a snapshot. A new database file is
created with mode 0600 (and so are its ``-wal`` and ``-shm`` files), whatever the umask.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from steward.errors import InvalidInput, NotFound, SchemaOutOfDate, Unavailable
from steward.store._schema import KNOWN_REVISIONS, SCHEMA_HEAD

__all__ = ["WRITE", "current_revision", "make_engine", "migrate", "require_head"]

# Execution option marking a connection whose transaction will write.
WRITE = "steward_write"
_SQLITE_BUSY_TIMEOUT_MS = 60_000


def make_engine(url: str) -> Engine:
    """An engine for ``url``; raise ``InvalidInput`` for a URL no supported backend takes."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInput(f"invalid database URL {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise InvalidInput(f"unsupported database {backend!r} in {url!r}: use sqlite or postgresql")
    if backend == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            raise InvalidInput("the SQLite store needs a file path, not an in-memory database")
        if not Path(database).parent.is_dir():
            raise NotFound(f"no folder for the SQLite store at {database}")
        engine = create_engine(parsed, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000})
        path = Path(database)
        # before each connection: an engine alone touches no file, as SQLAlchemy's don't
        event.listen(engine, "do_connect", lambda *_: _create_private(path))
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError as exc:
        raise InvalidInput(f"no driver for {url!r}: use postgresql+psycopg://") from exc


def _create_private(path: Path) -> None:
    """Create an empty database file with mode 0600, whatever the umask, unless one exists.

    SQLite would create it 0644 (less the umask), and it gives its ``-wal`` and ``-shm`` files
    the database file's own mode, so creating the file first makes all three private."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    os.chmod(path, 0o600)  # the umask may have taken bits away from 0600 too


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is deferred
    # and arrives too late for a writer to queue cleanly).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    mode = "IMMEDIATE" if connection.get_execution_options().get(WRITE) else "DEFERRED"
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"BEGIN {mode}")


def current_revision(engine: Engine) -> str | None:
    """The store's schema revision, or ``None`` when it holds no Steward schema."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as exc:
        if _is_missing_table(exc):
            return None
        if isinstance(exc, OperationalError):
            where = engine.url.render_as_string(hide_password=True)
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
            raise Unavailable(f"cannot reach the store at {where}: {reason}") from None
        raise


def _is_missing_table(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return "no such table" in message or "does not exist" in message


def require_head(engine: Engine) -> None:
    """Refuse to work with a store whose schema is missing, older or newer than this code's."""
    revision = current_revision(engine)
    where = engine.url.render_as_string(hide_password=True)
    if revision is None:
        raise SchemaOutOfDate(f"no Steward store at {where}: run `steward init`")
    if revision == SCHEMA_HEAD:
        return
    if revision in KNOWN_REVISIONS:
        raise SchemaOutOfDate(
            f"the store at {where} has schema {revision}, this Steward needs {SCHEMA_HEAD}: "
            "run `steward db upgrade`",
            details={"current": revision, "required": SCHEMA_HEAD},
        )
    raise SchemaOutOfDate(
        f"the store at {where} has schema {revision}, newer than this Steward knows "
        f"({SCHEMA_HEAD}): upgrade Steward",
        details={"current": revision, "required": SCHEMA_HEAD},
    )


def migrate(engine: Engine, target: str = "heads") -> None:
    """Move the schema to ``target``: ``"heads"`` (this release), a revision, or ``"base"``.

    Upgrades or downgrades as needed; used by ``steward init``, ``steward db upgrade`` and tests.
    """
    from alembic import command  # Alembic is slow to import; only here
    from alembic.config import Config

    current = current_revision(engine)
    downgrade = target == "base" or (
        target in KNOWN_REVISIONS
        and current in KNOWN_REVISIONS
        and KNOWN_REVISIONS.index(current) > KNOWN_REVISIONS.index(target)
    )
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        config.attributes["connection"] = conn
        if downgrade:
            command.downgrade(config, target)
        else:
            command.upgrade(config, target)
        conn.commit()
