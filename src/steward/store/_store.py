"""The metadata store: read and write transactions over SQLite or PostgreSQL.

Every write goes through :meth:`Store.write`, whose :class:`Writer` enforces the ledger rule:
a transaction that changes state records exactly one ledger event, in the same transaction,
and a transaction records at most one. Readers and writers hand out frozen domain objects.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from steward.domain import (
    Actor,
    Job,
)
from steward.errors import InternalError
from steward.ledger import Signer
from steward.store import _jobs_rows as jobs
from steward.store import _journal_rows as journal
from steward.store._engine import WRITE, make_engine, require_head
from steward.store._reader import Reader
from steward.store._writer import Draft, Writer, still_valid
from steward.types import Clock, SystemClock, utc_iso

__all__ = ["Store"]


class Store:
    """Entry point to the metadata store. Opening never migrates (see ``require_head``)."""

    def __init__(
        self, engine: Engine, *, signer: Callable[[], Signer] | None, clock: Clock
    ) -> None:
        self.engine = engine
        self._signer_factory = signer
        self._signer: Signer | None = None
        self._signer_lock = threading.Lock()
        self._clock = clock
        # SQLite has one writer at a time anyway; keeping its write connection open saves
        # the pool's checkout and checkin on every append (a quarter of an append's cost).
        self._write_lock = threading.Lock()
        self._write_conn: Connection | None = None

    @classmethod
    def open(
        cls,
        url: str,
        *,
        signer: Callable[[], Signer] | None = None,
        clock: Clock | None = None,
        check_schema: bool = True,
    ) -> Store:
        """Open the store at ``url``. ``signer`` loads the ledger key on the first write (reads
        never need it); ``check_schema=False`` is for ``steward init`` and ``db upgrade`` only."""
        engine = make_engine(url)
        if check_schema:
            try:
                require_head(engine)
            except BaseException:
                engine.dispose()
                raise
        return cls(engine, signer=signer, clock=clock or SystemClock())

    def journal_read(self, study: str, start: int) -> list[dict[str, Any]]:
        """Logs of tuning study ``study`` from position ``start`` on (see ``tuning_journal``)."""
        with self.engine.connect() as conn, conn.begin():
            return journal.read_logs(conn, study, start)

    def journal_append(self, study: str, logs: list[dict[str, Any]]) -> None:
        """Append Optuna journal logs; working state of a study, so no ledger event."""
        with self._write_connection() as conn, conn.begin():
            journal.append_logs(conn, study, logs)

    def add_job(self, record: Job, *, forget_before: str | None = None) -> None:
        """Record a job started over the API; working state, so no ledger event. Jobs last
        updated before ``forget_before`` are deleted in the same transaction."""
        with self._write_connection() as conn, conn.begin():
            if forget_before is not None:
                jobs.forget_jobs(conn, forget_before)
            jobs.add_job(conn, record)

    def update_job(self, job_id: str, **fields: Any) -> None:
        """A job's new ``status``, ``progress``, ``result`` or ``error``."""
        with self._write_connection() as conn, conn.begin():
            jobs.update_job(conn, job_id, utc_iso(self._clock.now()), **fields)

    def job(self, job_id: str) -> Job | None:
        with self.engine.connect() as conn, conn.begin():
            return jobs.job(conn, job_id)

    def now(self) -> datetime:
        """The store's clock (the one its transactions are stamped with)."""
        return self._clock.now()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        with self._write_lock:
            if self._write_conn is not None:
                self._write_conn.close()
                self._write_conn = None
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Reader]:
        """A read transaction: a :class:`Reader` over one consistent snapshot (PostgreSQL:
        ``REPEATABLE READ``; SQLite: the WAL snapshot of its first query). Never writes."""
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield Reader(conn)

    @contextmanager
    def draft(self, actor: Actor | None = None) -> Iterator[Draft]:
        """A write transaction for draft content of running runs (see ``Draft``); like
        ``write``, it re-checks ``actor``'s token first."""
        with self._write_connection() as conn, conn.begin():
            draft = Draft(conn, self._clock.now())
            if actor is not None and actor.token_id is not None:
                still_valid(draft, actor)
            yield draft

    @contextmanager
    def _write_connection(self) -> Iterator[Connection]:
        if self.dialect != "sqlite":
            with self.engine.connect() as conn:
                conn.execution_options(**{WRITE: True})
                yield conn
            return
        with self._write_lock:
            if self._write_conn is None or self._write_conn.closed:
                self._write_conn = self.engine.connect().execution_options(**{WRITE: True})
            conn = self._write_conn
            try:
                yield conn
            except DBAPIError as exc:
                if exc.connection_invalidated or conn.invalidated:
                    conn.close()
                    self._write_conn = None
                raise

    @contextmanager
    def write(self, actor: Actor | str) -> Iterator[Writer]:
        """A write transaction on behalf of ``actor``.

        Given an authenticated ``Actor``, the transaction first re-checks the token it
        authenticated with, inside the transaction: a token revoked while a long command ran
        (a training, a check run) stops that command at its next write. A plain name is for
        Steward's own changes (``@system``) and for the transaction that records a refusal.

        The block commits when it ends normally, and only then: an exception rolls all of it
        back, and so does a state change without its ledger event (``InternalError``).
        """
        if self._signer is None:
            with self._signer_lock:  # a threaded server's first writes load the key once
                if self._signer is None:
                    if self._signer_factory is None:
                        raise InternalError("this store was opened without the ledger signing key")
                    self._signer = self._signer_factory()
        name = actor if isinstance(actor, str) else actor.name
        with self._write_connection() as conn, conn.begin():
            writer = Writer(conn, self._signer, self._clock.now(), name)
            try:
                if not isinstance(actor, str) and actor.token_id is not None:
                    still_valid(writer, actor)
                yield writer
                writer._check_complete()
            finally:
                writer._ended = True
