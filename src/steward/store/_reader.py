"""Reading the metadata store: queries inside one transaction, returning frozen domain
objects. ``Writer`` (``_store.py``) extends it with the state changes; the contract every
method keeps is stated on :class:`Reader`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from steward.domain import (
    AlertState,
    ApiToken,
    AppliedPolicy,
    Approval,
    Comment,
    Dataset,
    DatasetVersion,
    Delivery,
    Deployment,
    Evidence,
    LedgerEvent,
    MetricPoint,
    Model,
    ModelVersion,
    Monitor,
    Run,
    Stage,
    TreeHead,
    User,
    Waiver,
    Webhook,
)
from steward.ledger import EventRow
from steward.store import _dataset_rows as data
from steward.store import _governance_rows as governance
from steward.store import _identity_rows as identity
from steward.store import _ledger_rows as ledger
from steward.store import _model_rows as model_rows
from steward.store import _monitoring_rows as monitoring_rows
from steward.store import _policy_rows as policy_rows
from steward.store import _run_rows as run_rows
from steward.store import _serving_rows as serving_rows

__all__ = ["Reader"]


class Reader:
    """Queries inside one transaction, all answered from one consistent snapshot.

    The contract of every method, on both backends (the conformance tests in
    ``tests/test_store.py`` and ``tests/test_store_contract.py`` hold them to it):

    - a lookup by name, id or number returns ``None`` when there is no such row; no method
      raises for a missing row;
    - a listing returns a new list in the order its docstring names (``[]`` when nothing
      matches); the caller may keep or change the list;
    - every value is a frozen domain object (a frozen dataclass) or a tuple, built afresh
      from the rows: its dict fields are the caller's copies, and nothing it holds changes
      when the store does;
    - a reader is valid inside its ``with`` block only.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # identities
    def user(self, name: str) -> User | None:
        """The user named ``name``, or ``None``."""
        return identity.user_by_name(self._conn, name)

    def users(self) -> list[User]:
        """Every user, by name."""
        return identity.list_users(self._conn)

    def token_and_head(self, token_id: str) -> tuple[bool, int] | None:
        """``(revoked?, ledger head seq)`` of token ``token_id`` (one statement), or
        ``None``."""
        return identity.token_and_head(self._conn, token_id)

    def token_secret(self, token_id: str) -> tuple[str, datetime | None, str] | None:
        """``(secret_hash, revoked_at, user_name)`` of token ``token_id``, or ``None``."""
        return identity.token_secret_hash(self._conn, token_id)

    def token_rows(self) -> list[tuple[str, str | None, str, bool, str | None]]:
        """``(token id, user name, secret hash, revoked?, issued by)`` of every token row, in
        no set order; the user name is ``None`` for a row whose user is gone (for audit)."""
        return identity.token_rows(self._conn)

    def role_rows(self) -> list[tuple[int, str]]:
        """``(user id, role)`` of every role row, orphans included, in no set order (for audit)."""
        return identity.role_rows(self._conn)

    def token(self, token_id: str) -> ApiToken | None:
        """The public record of token ``token_id``, or ``None``."""
        return identity.token_by_id(self._conn, token_id)

    def tokens(self, user_name: str | None = None) -> list[ApiToken]:
        """Tokens of ``user_name`` (of everyone when ``None``), oldest first; ``[]`` for an
        unknown user."""
        return identity.list_tokens(self._conn, user_name)

    # datasets and evidence
    def dataset(self, name: str) -> Dataset | None:
        """Dataset ``name`` with its latest version number, or ``None``."""
        return data.dataset_by_name(self._conn, name)

    def datasets(self) -> list[Dataset]:
        """Every dataset, by name."""
        return data.list_datasets(self._conn)

    def dataset_version(self, name: str, version: int) -> DatasetVersion | None:
        """Version ``version`` of dataset ``name``, or ``None``."""
        return data.version_of(self._conn, name, version)

    def dataset_versions(self, name: str | None = None) -> list[DatasetVersion]:
        """Versions of dataset ``name`` by version, or of every dataset in the order they were
        stored; ``[]`` for an unknown name."""
        if name is None:
            return data.iter_versions(self._conn)
        return data.versions_of(self._conn, name)

    def dataset_version_by_fingerprint(self, name: str, fingerprint: str) -> DatasetVersion | None:
        """The newest version of dataset ``name`` with content ``fingerprint``, or ``None``."""
        return data.version_by_fingerprint(self._conn, name, fingerprint)

    def evidence(self, evidence_id: str) -> Evidence | None:
        """Evidence record ``evidence_id``, or ``None``."""
        return data.evidence_by_id(self._conn, evidence_id)

    def evidence_for(self, subject: str | None = None) -> list[Evidence]:
        """Evidence about ``subject`` (all evidence when ``None``), oldest first."""
        if subject is None:
            return data.iter_evidence(self._conn)
        return data.evidence_for(self._conn, subject)

    # runs
    def run(self, run_id: str) -> Run | None:
        """Run ``run_id``, or ``None``."""
        return run_rows.run_by_id(self._conn, run_id)

    def runs_named(self, name: str) -> list[Run]:
        """Runs named ``name``, oldest first."""
        return run_rows.runs_named(self._conn, name)

    def runs(self, *, parent_id: str | None = None, limit: int | None = 100) -> list[Run]:
        """The newest ``limit`` runs (every run when ``None``), newest first; with
        ``parent_id``, only that run's children."""
        return run_rows.list_runs(self._conn, parent_id=parent_id, limit=limit)

    def run_metrics(self, run_id: str) -> list[MetricPoint]:
        """The metric points of run ``run_id`` in the order they were logged; ``[]`` when none."""
        return run_rows.metrics_of(self._conn, run_id)

    # models
    def model(self, name: str) -> Model | None:
        """Model ``name`` with its card and latest version number, or ``None``."""
        return model_rows.model_by_name(self._conn, name)

    def models(self) -> list[Model]:
        """Every model, by name."""
        return model_rows.list_models(self._conn)

    def model_version(self, name: str, version: int) -> ModelVersion | None:
        """Version ``version`` of model ``name``, or ``None``."""
        return model_rows.model_version(self._conn, name, version)

    def model_versions(self, name: str | None = None) -> list[ModelVersion]:
        """Versions of model ``name`` by version, or of every model in the order they were
        stored; ``[]`` for an unknown name."""
        if name is None:
            return model_rows.iter_model_versions(self._conn)
        return model_rows.model_versions_of(self._conn, name)

    def versions_in_stage(self, name: str, stage: Stage) -> list[ModelVersion]:
        """Versions of model ``name`` now in ``stage``, by version."""
        return model_rows.versions_in_stage(self._conn, name, stage)

    # policies
    def policy(self, name: str, version: int | None = None) -> AppliedPolicy | None:
        """Version ``version`` of applied policy ``name`` (its latest when ``None``), or
        ``None``."""
        return policy_rows.policy_version(self._conn, name, version)

    def policies(self) -> list[AppliedPolicy]:
        """The latest version of each applied policy, by name."""
        return policy_rows.latest_policies(self._conn)

    def policy_versions(self, name: str | None = None) -> list[AppliedPolicy]:
        """Every applied version of policy ``name`` (of every policy when ``None``), by name
        then version."""
        return policy_rows.policy_versions(self._conn, name)

    # governance
    def approvals(self, subject: str | None = None) -> list[Approval]:
        """Approvals and rejections about ``subject`` (every one when ``None``), oldest first."""
        return governance.approvals_for(self._conn, subject)

    def waivers(self, subject: str | None = None) -> list[Waiver]:
        """Waivers of ``subject`` (every one when ``None``), expired ones included, oldest first."""
        return governance.waivers_for(self._conn, subject)

    def comments(self, subject: str | None = None) -> list[Comment]:
        """Comments on ``subject`` (every one when ``None``), oldest first."""
        return governance.comments_for(self._conn, subject)

    def webhooks(self, *, active_only: bool = False) -> list[Webhook]:
        """Webhook subscriptions (only active ones with ``active_only``), oldest first."""
        return governance.webhooks_list(self._conn, active_only=active_only)

    def deliveries(self, *, state: str | None = None, due_by: str | None = None) -> list[Delivery]:
        """Queued notifications, oldest first: only in ``state`` when given, only those due
        (next attempt at or before the ISO time ``due_by``) when given."""
        return governance.deliveries(self._conn, state=state, due_by=due_by)

    # serving
    def deployments(self, endpoint: str | None = None) -> list[Deployment]:
        """Every state of ``endpoint`` (of every endpoint when ``None``), oldest first."""
        return serving_rows.deployment_rows(self._conn, endpoint)

    def current_deployments(self) -> list[Deployment]:
        """The current state of every endpoint, by name."""
        return serving_rows.latest_deployments(self._conn)

    def labels(self, endpoint: str, request_ids: Iterable[str] | None = None) -> dict[str, Any]:
        """Ground-truth labels of ``endpoint``'s predictions by request id."""
        return serving_rows.labels_for(self._conn, endpoint, request_ids)

    # monitoring
    def monitors(self, name: str | None = None) -> list[Monitor]:
        """Every version of monitor ``name`` (of every monitor when ``None``), by name then
        version."""
        return monitoring_rows.monitor_rows(self._conn, name)

    def alert_states(
        self, alert: str | None = None, *, version: str | None = None
    ) -> list[AlertState]:
        """Every state of ``alert`` (of every alert when ``None``; of alerts about model
        version ``version`` when given), oldest first."""
        return monitoring_rows.alert_state_rows(self._conn, alert, version=version)

    # ledger
    def head(self) -> TreeHead | None:
        """The latest signed tree head, or ``None`` while the ledger is empty."""
        return ledger.read_head(self._conn)

    def event_rows(self) -> Iterator[EventRow]:
        """Every event row ``(seq, ts, type, actor, subject, body, leaf_hash)`` in sequence
        order, streamed: iterate it before the transaction ends."""
        return ledger.iter_event_rows(self._conn)

    def events(
        self, *, limit: int, type_: str | None = None, subject: str | None = None
    ) -> list[LedgerEvent]:
        """The newest ``limit`` events (only of type ``type_`` / about ``subject`` when given),
        oldest first."""
        return ledger.recent_events(self._conn, limit=limit, type_=type_, subject=subject)

    def events_of_types(self, *types: str) -> list[LedgerEvent]:
        """Every event of one of ``types``, in sequence order."""
        return ledger.events_of_types(self._conn, types)

    def events_about(self, subject: str, *types: str) -> list[LedgerEvent]:
        """Events about ``subject`` of one of ``types``, in sequence order."""
        return ledger.events_about(self._conn, subject, types)

    def event_types_between(self, after: int, up_to: int) -> set[str]:
        """The types of events ``after`` < seq <= ``up_to``."""
        return ledger.event_types_between(self._conn, after, up_to)

    def event(self, seq: int) -> LedgerEvent | None:
        """Event number ``seq``, or ``None``."""
        return ledger.event_by_seq(self._conn, seq)

    def leaf_hashes(self, up_to: int) -> list[bytes]:
        """The recorded leaf hashes of events 1 to ``up_to``, in sequence order."""
        return ledger.leaf_hashes(self._conn, up_to)

    def event_count(self) -> int:
        """How many events the ledger holds."""
        return ledger.count_events(self._conn)
