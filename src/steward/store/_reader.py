"""Reading the metadata store: queries inside one read transaction, returning frozen domain
objects. ``Writer`` (``_store.py``) extends it with the state changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Connection

from steward.domain import (
    ApiToken,
    AppliedPolicy,
    Approval,
    Comment,
    Dataset,
    DatasetVersion,
    Delivery,
    Evidence,
    LedgerEvent,
    MetricPoint,
    Model,
    ModelVersion,
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
from steward.store import _policy_rows as policy_rows
from steward.store import _run_rows as run_rows

__all__ = ["Reader"]


class Reader:
    """Queries inside one read transaction (a consistent snapshot)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # identities
    def user(self, name: str) -> User | None:
        return identity.user_by_name(self._conn, name)

    def users(self) -> list[User]:
        return identity.list_users(self._conn)

    def token_secret(self, token_id: str) -> tuple[str, datetime | None, str] | None:
        return identity.token_secret_hash(self._conn, token_id)

    def token_rows(self) -> list[tuple[str, str, str, bool, str | None]]:
        return identity.token_rows(self._conn)

    def role_rows(self) -> list[tuple[int, str]]:
        return identity.role_rows(self._conn)

    def token(self, token_id: str) -> ApiToken | None:
        return identity.token_by_id(self._conn, token_id)

    def tokens(self, user_name: str | None = None) -> list[ApiToken]:
        return identity.list_tokens(self._conn, user_name)

    # datasets and evidence
    def dataset(self, name: str) -> Dataset | None:
        return data.dataset_by_name(self._conn, name)

    def datasets(self) -> list[Dataset]:
        return data.list_datasets(self._conn)

    def dataset_version(self, name: str, version: int) -> DatasetVersion | None:
        return data.version_of(self._conn, name, version)

    def dataset_versions(self, name: str | None = None) -> list[DatasetVersion]:
        """Versions of one dataset in order, or of every dataset in insertion order."""
        if name is None:
            return data.iter_versions(self._conn)
        return data.versions_of(self._conn, name)

    def dataset_version_by_fingerprint(self, name: str, fingerprint: str) -> DatasetVersion | None:
        return data.version_by_fingerprint(self._conn, name, fingerprint)

    def evidence(self, evidence_id: str) -> Evidence | None:
        return data.evidence_by_id(self._conn, evidence_id)

    def evidence_for(self, subject: str | None = None) -> list[Evidence]:
        """Evidence about one subject, or all evidence when ``subject`` is None."""
        if subject is None:
            return data.iter_evidence(self._conn)
        return data.evidence_for(self._conn, subject)

    # runs
    def run(self, run_id: str) -> Run | None:
        return run_rows.run_by_id(self._conn, run_id)

    def runs_named(self, name: str) -> list[Run]:
        return run_rows.runs_named(self._conn, name)

    def runs(self, *, parent_id: str | None = None, limit: int | None = 100) -> list[Run]:
        return run_rows.list_runs(self._conn, parent_id=parent_id, limit=limit)

    def run_metrics(self, run_id: str) -> list[MetricPoint]:
        return run_rows.metrics_of(self._conn, run_id)

    # models
    def model(self, name: str) -> Model | None:
        return model_rows.model_by_name(self._conn, name)

    def models(self) -> list[Model]:
        return model_rows.list_models(self._conn)

    def model_version(self, name: str, version: int) -> ModelVersion | None:
        return model_rows.model_version(self._conn, name, version)

    def model_versions(self, name: str | None = None) -> list[ModelVersion]:
        """Versions of one model in order, or of every model in insertion order."""
        if name is None:
            return model_rows.iter_model_versions(self._conn)
        return model_rows.model_versions_of(self._conn, name)

    def versions_in_stage(self, name: str, stage: Stage) -> list[ModelVersion]:
        return model_rows.versions_in_stage(self._conn, name, stage)

    # policies
    def policy(self, name: str, version: int | None = None) -> AppliedPolicy | None:
        """Version ``version`` of applied policy ``name`` (its latest when ``None``)."""
        return policy_rows.policy_version(self._conn, name, version)

    def policies(self) -> list[AppliedPolicy]:
        """The latest version of each applied policy."""
        return policy_rows.latest_policies(self._conn)

    def policy_versions(self, name: str | None = None) -> list[AppliedPolicy]:
        return policy_rows.policy_versions(self._conn, name)

    # governance
    def approvals(self, subject: str | None = None) -> list[Approval]:
        return [a for a, _ in governance.approvals_for(self._conn, subject)]

    def approvals_hashed(self) -> list[tuple[Approval, str]]:
        return governance.approvals_for(self._conn, None)

    def waivers(self, subject: str | None = None) -> list[Waiver]:
        return [w for w, _ in governance.waivers_for(self._conn, subject)]

    def waivers_hashed(self) -> list[tuple[Waiver, str]]:
        return governance.waivers_for(self._conn, None)

    def comments(self, subject: str | None = None) -> list[Comment]:
        return [c for c, _ in governance.comments_for(self._conn, subject)]

    def comments_hashed(self) -> list[tuple[Comment, str]]:
        return governance.comments_for(self._conn, None)

    def webhooks(self, *, active_only: bool = False) -> list[Webhook]:
        return governance.webhooks_list(self._conn, active_only=active_only)

    def deliveries(self, *, state: str | None = None, due_by: str | None = None) -> list[Delivery]:
        return governance.deliveries(self._conn, state=state, due_by=due_by)

    # ledger
    def head(self) -> TreeHead | None:
        return ledger.read_head(self._conn)

    def event_rows(self) -> Iterator[EventRow]:
        return ledger.iter_event_rows(self._conn)

    def events(
        self, *, limit: int, type_: str | None = None, subject: str | None = None
    ) -> list[LedgerEvent]:
        return ledger.recent_events(self._conn, limit=limit, type_=type_, subject=subject)

    def events_of_types(self, *types: str) -> list[LedgerEvent]:
        return ledger.events_of_types(self._conn, types)

    def events_about(self, subject: str, *types: str) -> list[LedgerEvent]:
        return ledger.events_about(self._conn, subject, types)

    def event(self, seq: int) -> LedgerEvent | None:
        return ledger.event_by_seq(self._conn, seq)

    def leaf_hashes(self, up_to: int) -> list[bytes]:
        return ledger.leaf_hashes(self._conn, up_to)

    def event_count(self) -> int:
        return ledger.count_events(self._conn)
