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

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from steward.domain import (
    Actor,
    ApiToken,
    AppliedPolicy,
    Approval,
    Comment,
    DatasetVersion,
    Delivery,
    EventType,
    Evidence,
    LedgerEvent,
    MetricPoint,
    Model,
    ModelVersion,
    Role,
    Run,
    RunStatus,
    Stage,
    User,
    Waiver,
    Webhook,
)
from steward.errors import AlreadyExists, AuthenticationError, InternalError
from steward.ledger import Signer
from steward.store import _dataset_rows as data
from steward.store import _governance_rows as governance
from steward.store import _identity_rows as identity
from steward.store import _journal_rows as journal
from steward.store import _ledger_rows as ledger
from steward.store import _model_rows as model_rows
from steward.store import _policy_rows as policy_rows
from steward.store import _run_rows as run_rows
from steward.store._engine import WRITE, make_engine, require_head
from steward.store._reader import Reader
from steward.types import Clock, SystemClock, utc_iso

__all__ = ["Draft", "Store", "Writer"]


class Writer(Reader):
    """A write transaction. State changes mark it changed; :meth:`record` ledgers them."""

    def __init__(self, conn: Connection, signer: Signer, now: datetime, actor: str) -> None:
        super().__init__(conn)
        self._signer = signer
        self.now = now
        self._actor = actor
        self._changed = False
        self._event: LedgerEvent | None = None

    def add_user(self, name: str, roles: frozenset[Role]) -> User:
        self._changed = True
        try:
            with self._conn.begin_nested():
                return identity.insert_user(
                    self._conn, name=name, roles=roles, created_at=self.now, created_by=self._actor
                )
        except SAIntegrityError as exc:
            raise AlreadyExists(f"user {name!r} already exists") from exc

    def add_token(self, token_id: str, user: User, secret_hash: str) -> ApiToken:
        """A token for ``user``, issued by this transaction's actor."""
        self._changed = True
        return identity.insert_token(
            self._conn,
            token_id=token_id,
            user=user,
            secret_hash=secret_hash,
            created_at=self.now,
            issued_by=self._actor,
        )

    def revoke_token(self, token_id: str) -> bool:
        self._changed = True
        return identity.mark_token_revoked(self._conn, token_id, self.now)

    def add_dataset(self, name: str) -> None:
        self._changed = True
        try:
            with self._conn.begin_nested():
                data.insert_dataset(self._conn, name, utc_iso(self.now), self._actor)
        except SAIntegrityError as exc:
            raise AlreadyExists(f"dataset {name!r} already exists") from exc

    def add_dataset_version(self, version: DatasetVersion) -> None:
        self._changed = True
        try:
            with self._conn.begin_nested():
                data.insert_version(self._conn, version)
        except SAIntegrityError as exc:
            raise AlreadyExists(f"dataset version {version.ref} already exists") from exc

    def set_datasheet(self, name: str, datasheet: dict[str, str]) -> None:
        self._changed = True
        data.set_datasheet(self._conn, name, datasheet)

    def set_contract(self, name: str, contract: dict[str, Any] | None) -> None:
        self._changed = True
        data.set_contract(self._conn, name, contract)

    def add_evidence(self, record: Evidence) -> None:
        self._changed = True
        data.insert_evidence(self._conn, record)

    def add_run(self, run: Run) -> None:
        self._changed = True
        run_rows.insert_run(self._conn, run)

    def add_metrics(self, run_id: str, points: list[MetricPoint]) -> None:
        self._changed = True
        run_rows.insert_metrics(self._conn, run_id, points)

    def finish_run(self, run_id: str, status: RunStatus, ended_at: str, content_hash: str) -> bool:
        self._changed = True
        return run_rows.finish_run(self._conn, run_id, status, ended_at, content_hash)

    def add_model(self, model: Model) -> None:
        self._changed = True
        try:
            with self._conn.begin_nested():
                model_rows.insert_model(self._conn, model)
        except SAIntegrityError as exc:
            raise AlreadyExists(f"model {model.name!r} already exists") from exc

    def update_model(self, model: Model) -> None:
        self._changed = True
        model_rows.update_model(self._conn, model)

    def add_model_version(self, version: ModelVersion) -> None:
        self._changed = True
        try:
            with self._conn.begin_nested():
                model_rows.insert_model_version(self._conn, version)
        except SAIntegrityError as exc:
            raise AlreadyExists(f"model version {version.ref} already exists") from exc

    def lock(self, key: str) -> None:
        """Serialize writers on ``key`` until this transaction ends (PostgreSQL: an advisory
        lock; SQLite's write transactions are serialized already)."""
        if self._conn.dialect.name == "postgresql":
            self._conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})

    def set_stage(self, name: str, version: int, stage: Stage) -> None:
        self._changed = True
        model_rows.set_stage(self._conn, name, version, stage)

    def add_approval(self, approval: Approval, content_hash: str) -> None:
        self._changed = True
        governance.insert_approval(self._conn, approval, content_hash)

    def add_waiver(self, waiver: Waiver, content_hash: str) -> None:
        self._changed = True
        governance.insert_waiver(self._conn, waiver, content_hash)

    def add_comment(self, comment: Comment, content_hash: str) -> None:
        self._changed = True
        governance.insert_comment(self._conn, comment, content_hash)

    def add_webhook(self, hook: Webhook) -> None:
        self._changed = True
        governance.insert_webhook(self._conn, hook)

    def set_webhook_active(self, hook_id: str, active: bool) -> bool:
        self._changed = True
        return governance.set_webhook_active(self._conn, hook_id, active)

    def queue_delivery(self, delivery: Delivery) -> None:
        """Queue a notification (working state: the change it reports has its own event)."""
        governance.insert_delivery(self._conn, delivery)

    def update_delivery(self, delivery: Delivery) -> None:
        governance.update_delivery(self._conn, delivery)

    def add_policy(self, policy: AppliedPolicy) -> None:
        self._changed = True
        try:
            with self._conn.begin_nested():
                policy_rows.insert_policy(self._conn, policy)
        except SAIntegrityError as exc:
            raise AlreadyExists(f"policy {policy.name}@{policy.version} already exists") from exc

    def record(
        self, type_: EventType, *, subject: str | None, payload: dict[str, Any]
    ) -> LedgerEvent:
        """Append this transaction's ledger event. The only way anything writes the ledger."""
        if self._event is not None:
            raise InternalError(
                f"a transaction records one ledger event; {self._event.type} was already recorded"
            )
        self._event = ledger.append_event(
            self._conn,
            self._signer,
            ts=utc_iso(self.now),
            type_=type_.value,
            actor=self._actor,
            subject=subject,
            payload=payload,
        )
        return self._event

    def _check_complete(self) -> None:
        if self._changed and self._event is None:
            raise InternalError("a state change was about to commit without its ledger event")


def _still_valid(transaction: Reader, actor: Actor) -> None:
    assert actor.token_id is not None
    state = identity.token_state(transaction._conn, actor.token_id)
    if state is None or state[0] != actor.name:
        raise AuthenticationError(
            f"API token {actor.token_id} of {actor.name} no longer exists: nothing was recorded"
        )
    if state[1]:
        raise AuthenticationError(
            f"API token {actor.token_id} of {actor.name} was revoked: nothing more is recorded"
        )


class Draft(Reader):
    """A transaction that adds to running runs only: their draft content is sealed, and
    ledgered, when the run finishes, so these writes record no event of their own."""

    def __init__(self, conn: Connection, now: datetime) -> None:
        super().__init__(conn)
        self.now = now

    def update_run(self, run_id: str, fields: dict[str, Any]) -> bool:
        return run_rows.update_draft(self._conn, run_id, fields)

    def add_metrics(self, run_id: str, points: list[MetricPoint]) -> None:
        run_rows.insert_metrics(self._conn, run_id, points)


class Store:
    """Entry point to the metadata store. Opening never migrates (see ``require_head``)."""

    def __init__(
        self, engine: Engine, *, signer: Callable[[], Signer] | None, clock: Clock
    ) -> None:
        self.engine = engine
        self._signer_factory = signer
        self._signer: Signer | None = None
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
                _still_valid(draft, actor)
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
        """
        if self._signer is None:
            if self._signer_factory is None:
                raise InternalError("this store was opened without the ledger signing key")
            self._signer = self._signer_factory()
        name = actor if isinstance(actor, str) else actor.name
        with self._write_connection() as conn, conn.begin():
            writer = Writer(conn, self._signer, self._clock.now(), name)
            if not isinstance(actor, str) and actor.token_id is not None:
                _still_valid(writer, actor)
            yield writer
            writer._check_complete()
