"""Write transactions: ``Writer`` (state changes, each ledgered in the same transaction)
and ``Draft`` (the draft content of running runs, sealed and ledgered when a run ends)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from steward.domain import (
    Actor,
    AlertState,
    ApiToken,
    AppliedPolicy,
    Approval,
    Comment,
    DatasetVersion,
    Delivery,
    Deployment,
    EventType,
    Evidence,
    LedgerEvent,
    MetricPoint,
    Model,
    ModelVersion,
    Monitor,
    Role,
    Run,
    RunStatus,
    Stage,
    User,
    Waiver,
    Webhook,
)
from steward.errors import AlreadyExists, AuthenticationError, InternalError, StewardError
from steward.ledger import Signer
from steward.store import _dataset_rows as data
from steward.store import _governance_rows as governance
from steward.store import _identity_rows as identity
from steward.store import _ledger_rows as ledger
from steward.store import _model_rows as model_rows
from steward.store import _monitoring_rows as monitoring_rows
from steward.store import _policy_rows as policy_rows
from steward.store import _run_rows as run_rows
from steward.store import _serving_rows as serving_rows
from steward.store._reader import Reader
from steward.types import utc_iso

__all__ = ["Draft", "Writer", "still_valid"]


# Exception types, each with the Steward error that a raised one becomes.
_Refusals = Mapping[type[Exception], Callable[[], StewardError]]


@contextmanager
def _mapped(errors: _Refusals) -> Iterator[None]:
    """Re-raise an exception of a type in ``errors`` as the Steward error made for it (chained
    to it, as httpx's ``map_exceptions`` does); any other exception passes unchanged."""
    try:
        yield
    except Exception as exc:
        for kind, make in errors.items():
            if isinstance(exc, kind):
                raise make() from exc
        raise


class Writer(Reader):
    """A write transaction (see :meth:`Store.write`), with the reads of :class:`Reader`.

    Every method that changes state runs under :meth:`_changing`, which marks the transaction
    changed; it then cannot commit unless :meth:`record` appended its ledger event (it raises
    ``InternalError`` at the end of the block instead, and nothing of it is kept). A row a
    method creates comes back, where it returns one, as a frozen domain value. An update of
    a row that does not exist changes nothing (methods returning a ``bool`` answer ``False``);
    an insert under a missing parent (a version of an unknown model) fails: callers check
    first. Once its block has ended, a writer refuses every change with ``InternalError``.
    """

    def __init__(self, conn: Connection, signer: Signer, now: datetime, actor: str) -> None:
        super().__init__(conn)
        self._signer = signer
        self.now = now
        self._actor = actor
        self._changed = False
        self._ended = False
        self._event: LedgerEvent | None = None

    @contextmanager
    def _changing(self, *, already: str | None = None) -> Iterator[None]:
        """Run one state change: mark this transaction changed (see ``_check_complete``).

        With ``already``, the change runs in a savepoint and an integrity violation inside
        it becomes ``AlreadyExists(already)``; the savepoint is rolled back first, so the rest
        of the transaction stays usable (on PostgreSQL a failed statement would otherwise
        abort all of it).
        """
        self._require_open()
        self._changed = True
        if already is None:
            yield
            return
        refusals: _Refusals = {SAIntegrityError: lambda: AlreadyExists(already)}
        with _mapped(refusals), self._conn.begin_nested():
            yield

    def _require_open(self) -> None:
        if self._ended:
            raise InternalError("this write transaction has ended: nothing more is recorded")

    # identities
    def add_user(self, name: str, roles: frozenset[Role]) -> User:
        """Create user ``name`` with ``roles``, created by this transaction's actor; raise
        ``AlreadyExists`` when the name is taken."""
        with self._changing(already=f"user {name!r} already exists"):
            return identity.insert_user(
                self._conn, name=name, roles=roles, created_at=self.now, created_by=self._actor
            )

    def add_token(self, token_id: str, user: User, secret_hash: str) -> ApiToken:
        """A token for ``user``, issued by this transaction's actor (``token_id`` is new)."""
        with self._changing():
            return identity.insert_token(
                self._conn,
                token_id=token_id,
                user=user,
                secret_hash=secret_hash,
                created_at=self.now,
                issued_by=self._actor,
            )

    def revoke_token(self, token_id: str) -> bool:
        """Revoke an active token; ``False`` when it is unknown or was already revoked."""
        with self._changing():
            return identity.mark_token_revoked(self._conn, token_id, self.now)

    # datasets and evidence
    def add_dataset(self, name: str) -> None:
        """Create dataset ``name`` (no versions, empty datasheet); raise ``AlreadyExists``
        when the name is taken."""
        with self._changing(already=f"dataset {name!r} already exists"):
            data.insert_dataset(self._conn, name, utc_iso(self.now), self._actor)

    def add_dataset_version(self, version: DatasetVersion) -> None:
        """Store ``version`` of an existing dataset; raise ``AlreadyExists`` when that
        number is taken."""
        with self._changing(already=f"dataset version {version.ref} already exists"):
            data.insert_version(self._conn, version)

    def set_datasheet(self, name: str, datasheet: dict[str, str]) -> None:
        """Replace the datasheet of dataset ``name``."""
        with self._changing():
            data.set_datasheet(self._conn, name, datasheet)

    def set_contract(self, name: str, contract: dict[str, Any] | None) -> None:
        """Replace the data contract of dataset ``name`` (``None`` removes it)."""
        with self._changing():
            data.set_contract(self._conn, name, contract)

    def add_evidence(self, record: Evidence) -> None:
        """Store an evidence record (``record.id`` is new)."""
        with self._changing():
            data.insert_evidence(self._conn, record)

    # runs
    def add_run(self, run: Run) -> None:
        """Store a run (``run.id`` is new)."""
        with self._changing():
            run_rows.insert_run(self._conn, run)

    def add_metrics(self, run_id: str, points: list[MetricPoint]) -> None:
        """Append ``points`` to the metric series of run ``run_id``, in the order given."""
        with self._changing():
            run_rows.insert_metrics(self._conn, run_id, points)

    def finish_run(self, run_id: str, status: RunStatus, ended_at: str, content_hash: str) -> bool:
        """Seal a running run; ``False`` when it is unknown or not running (any more)."""
        with self._changing():
            return run_rows.finish_run(self._conn, run_id, status, ended_at, content_hash)

    # models
    def add_model(self, model: Model) -> None:
        """Create a model and its card; raise ``AlreadyExists`` when the name is taken."""
        with self._changing(already=f"model {model.name!r} already exists"):
            model_rows.insert_model(self._conn, model)

    def update_model(self, model: Model) -> None:
        """Replace the card of model ``model.name``."""
        with self._changing():
            model_rows.update_model(self._conn, model)

    def add_model_version(self, version: ModelVersion) -> None:
        """Store ``version`` of an existing model; raise ``AlreadyExists`` when that number
        is taken."""
        with self._changing(already=f"model version {version.ref} already exists"):
            model_rows.insert_model_version(self._conn, version)

    def lock(self, key: str) -> None:
        """Serialize writers on ``key`` until this transaction ends (PostgreSQL: an advisory
        lock; SQLite's write transactions are serialized already). Changes nothing."""
        if self._conn.dialect.name == "postgresql":
            self._conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})

    def set_stage(self, name: str, version: int, stage: Stage) -> None:
        """Move version ``version`` of model ``name`` to ``stage``."""
        with self._changing():
            model_rows.set_stage(self._conn, name, version, stage)

    # governance
    def add_approval(self, approval: Approval) -> None:
        """Store an approval with its ``content_hash`` (``approval.id`` is new)."""
        with self._changing():
            governance.insert_approval(self._conn, approval)

    def add_waiver(self, waiver: Waiver) -> None:
        """Store a waiver with its ``content_hash`` (``waiver.id`` is new)."""
        with self._changing():
            governance.insert_waiver(self._conn, waiver)

    def add_comment(self, comment: Comment) -> None:
        """Store a comment with its ``content_hash`` (``comment.id`` is new)."""
        with self._changing():
            governance.insert_comment(self._conn, comment)

    def add_webhook(self, hook: Webhook) -> None:
        """Store a webhook subscription (``hook.id`` is new)."""
        with self._changing():
            governance.insert_webhook(self._conn, hook)

    def set_webhook_active(self, hook_id: str, active: bool) -> bool:
        """Turn a webhook on or off; ``False`` when there is no webhook ``hook_id``."""
        with self._changing():
            return governance.set_webhook_active(self._conn, hook_id, active)

    def queue_delivery(self, delivery: Delivery) -> None:
        """Queue a notification (working state: the change it reports has its own event)."""
        governance.insert_delivery(self._conn, delivery)

    def update_delivery(self, delivery: Delivery) -> None:
        """Record how sending a queued notification went (working state, no event)."""
        governance.update_delivery(self._conn, delivery)

    # serving
    def add_deployment(self, deployment: Deployment) -> None:
        """Store an endpoint's next state with its ``content_hash``; ``AlreadyExists`` when
        its number is taken (a concurrent change came first)."""
        with self._changing(
            already=f"endpoint {deployment.endpoint} state {deployment.seq} already exists"
        ):
            serving_rows.insert_deployment(self._conn, deployment)

    # monitoring
    def add_monitor(self, monitor: Monitor) -> None:
        """Store a monitor's next version; ``AlreadyExists`` when its number is taken."""
        with self._changing(already=f"monitor {monitor.name}@{monitor.version} already exists"):
            monitoring_rows.insert_monitor(self._conn, monitor)

    def add_alert_state(self, state: AlertState) -> None:
        """Store an alert's next state; ``AlreadyExists`` when its number is taken (a
        concurrent change came first)."""
        with self._changing(already=f"alert {state.alert} state {state.seq} already exists"):
            monitoring_rows.insert_alert_state(self._conn, state)

    def set_labels(self, endpoint: str, labels: dict[str, Any]) -> None:
        """Record ground-truth labels (request id → label) of ``endpoint``'s predictions."""
        with self._changing():
            serving_rows.upsert_labels(
                self._conn, endpoint, labels, at=utc_iso(self.now), by=self._actor
            )

    # policies
    def add_policy(self, policy: AppliedPolicy) -> None:
        """Store an applied policy version; raise ``AlreadyExists`` when that number is
        taken."""
        with self._changing(already=f"policy {policy.name}@{policy.version} already exists"):
            policy_rows.insert_policy(self._conn, policy)

    # the ledger
    def record(
        self, type_: EventType, *, subject: str | None, payload: dict[str, Any]
    ) -> LedgerEvent:
        """Append this transaction's ledger event. The only way anything writes the ledger."""
        self._require_open()
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


def still_valid(transaction: Reader, actor: Actor) -> None:
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
