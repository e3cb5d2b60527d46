"""Table definitions (SQLAlchemy Core). The migrations in ``migrations/`` create exactly these;
a test compares the migrated database with this metadata so the two cannot drift."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "KNOWN_REVISIONS",
    "SCHEMA_HEAD",
    "api_tokens",
    "approvals",
    "comments",
    "dataset_versions",
    "datasets",
    "deployments",
    "evidence",
    "jobs",
    "ledger_events",
    "ledger_head",
    "metadata",
    "model_versions",
    "models",
    "policies",
    "prediction_labels",
    "run_metrics",
    "runs",
    "tuning_journal",
    "user_roles",
    "users",
    "waivers",
    "webhook_deliveries",
    "webhooks",
]

# Alembic revisions in order. Opening a store compares its revision with SCHEMA_HEAD without
# importing Alembic (start-up time); a test checks these against the migration scripts.
KNOWN_REVISIONS: tuple[str, ...] = (
    "0001_foundation",
    "0002_datasets",
    "0003_runs",
    "0004_models",
    "0005_policies",
    "0006_governance",
    "0007_hardening",
    "0008_serving",
    "0009_monitoring",
    "0010_jobs",
)
SCHEMA_HEAD = KNOWN_REVISIONS[-1]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone; we store UTC and say so)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_Seq = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(63), nullable=True),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(32), primary_key=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("issued_by", String(63), nullable=True),
)

# Append-only: database triggers refuse UPDATE and DELETE (see the first migration).
ledger_events = Table(
    "ledger_events",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=False),
    Column("ts", String(32), nullable=False),
    Column("type", String(64), nullable=False),
    Column("actor", String(63), nullable=False),
    Column("subject", String(255), nullable=True),
    Column("body", Text, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Index("ix_ledger_events_type", "type"),
    Index("ix_ledger_events_subject", "subject"),
)

# One row (id = 1): the latest signed tree head and the Merkle frontier appends extend.
ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tree_size", _Seq, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    Column("timestamp", String(32), nullable=True),
    Column("key_id", String(64), nullable=True),
    Column("signature", LargeBinary(64), nullable=True),
    # HMAC of (size, frontier) under a key derived from the signing key: an append refuses a
    # head that someone without the key has rewritten, so a forged history is never re-signed.
    Column("mac", LargeBinary(32), nullable=True),
    CheckConstraint("id = 1", name="single_row"),
)


# JSON documents are stored as canonical JSON text, so the content hashes recomputed from them
# during verification are exact on every backend.
datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(63), nullable=False),
    Column("datasheet", Text, nullable=False),
    Column("contract", Text, nullable=True),
)

# Immutable once written (triggers refuse UPDATE and DELETE); content_hash is also in the
# ledger event that recorded the row, and verification compares the two.
dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset_id", ForeignKey("datasets.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("artifact", String(71), nullable=False),
    Column("rows", _Seq, nullable=False),
    Column("table_schema", Text, nullable=False),
    Column("profile", Text, nullable=False),
    Column("target", String(255), nullable=True),
    Column("sensitive", Text, nullable=False),
    Column("missing", Text, nullable=False),
    Column("pii_columns", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("evidence_ids", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(63), nullable=False),
    Column("content_hash", String(64), nullable=False),
    UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_id_version"),
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("subject", String(255), nullable=False, index=True),
    Column("check_id", String(63), nullable=False),
    Column("check_version", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("params", Text, nullable=False),
    Column("inputs", Text, nullable=False),
    Column("metrics", Text, nullable=False),
    Column("findings", Text, nullable=False),
    Column("artifacts", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(63), nullable=False),
    Column("content_hash", String(64), nullable=False),
    # who computed it, with which code (canonical JSON; '{}' for records made before)
    Column("provenance", Text, nullable=False, server_default="{}"),
)


# A run is a draft while running (its owner adds parameters, tags, artifacts, metrics) and
# sealed when it finishes: triggers then refuse changes, and the run.finished ledger event
# carries the hash of its whole content, metrics included.
runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(255), nullable=False, index=True),
    Column("parent_id", ForeignKey("runs.id"), nullable=True, index=True),
    Column("status", String(16), nullable=False),
    Column("actor", String(63), nullable=False),
    Column("started_at", String(32), nullable=False),
    Column("ended_at", String(32), nullable=True),
    Column("params", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("environment", Text, nullable=False),
    Column("inputs", Text, nullable=False),
    Column("artifacts", Text, nullable=False),
    Column("content_hash", String(64), nullable=True),
)

run_metrics = Table(
    "run_metrics",
    metadata,
    Column("id", _Seq, primary_key=True, autoincrement=True),
    Column("run_id", ForeignKey("runs.id"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("step", _Seq, nullable=False),
    Column("value", Float(precision=53), nullable=False),
    Column("ts", String(32), nullable=False),
    Index("ix_run_metrics_run_id_key_step", "run_id", "key", "step"),
)


# A model's card: who owns it, what it is for, how risky it is. Editable; every edit is
# ledgered with the hash of the card it leaves (checked by ``audit verify``).
models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("owner", String(63), nullable=False),
    Column("risk_tier", String(16), nullable=False),
    Column("description", Text, nullable=False),
    Column("intended_use", Text, nullable=False),
    Column("limitations", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(63), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("content_hash", String(64), nullable=False),
)

# Immutable except ``stage`` (triggers refuse changing any other column, and deleting rows).
# ``record`` is the canonical JSON of the version's content; ``content_hash`` covers it and
# is repeated in the ledger event that registered the version.
model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", ForeignKey("models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("run_id", ForeignKey("runs.id"), nullable=True, index=True),
    Column("artifact", String(71), nullable=False),
    Column("record", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(63), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("stage", String(16), nullable=False),
    UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
)


# Optuna studies, as Optuna's journal: one append-only log of operations per study, replayed
# by every process working on it (``services/_journal.py``). Working state, not evidence: the
# trials it drives are recorded, and ledgered, as runs.
tuning_journal = Table(
    "tuning_journal",
    metadata,
    Column("study", String(255), primary_key=True),
    Column("seq", _Seq, primary_key=True, autoincrement=False),
    Column("log", Text, nullable=False),
)


# Applied policies: each changed document under a name is its next version; rows never change.
policies = Table(
    "policies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("applied_at", String(32), nullable=False),
    Column("applied_by", String(63), nullable=False),
    Column("content_hash", String(64), nullable=False),
    UniqueConstraint("name", "version", name="uq_policies_name_version"),
)


# Approvals and rejections of a version for a stage, bound to the content they judged.
approvals = Table(
    "approvals",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("subject", String(255), nullable=False, index=True),
    Column("stage", String(16), nullable=False),
    Column("user_name", String(63), nullable=False),
    Column("roles", Text, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("comment", Text, nullable=False),
    Column("artifact", String(71), nullable=False),
    Column("evidence_hash", String(64), nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("content_hash", String(64), nullable=False),
    # bound to the model card as approved; the approver's credentials at the time
    Column("card_hash", String(64), nullable=False, server_default=""),
    Column("vouchers", Text, nullable=False, server_default="[]"),
    Column("token_id", String(16), nullable=True),
    Column("token_reset_by", String(63), nullable=True),
)

waivers = Table(
    "waivers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("subject", String(255), nullable=False, index=True),
    Column("rule", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("granted_by", String(63), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("content_hash", String(64), nullable=False),
)

comments = Table(
    "comments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("subject", String(255), nullable=False, index=True),
    Column("user_name", String(63), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("content_hash", String(64), nullable=False),
)

# Webhook subscriptions and their delivery log (an outbox: a delivery is queued in the same
# transaction as the change it reports, then sent, retried with backoff, and logged).
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", String(128), nullable=False),
    Column("events", Text, nullable=False),
    Column("created_by", String(63), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("webhook_id", ForeignKey("webhooks.id"), nullable=False),
    Column("event", String(63), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(32), nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("delivered_at", String(32), nullable=True),
)

# Endpoint states (append-only, like approvals): one row per deploy, canary, rollback, stop…
deployments = Table(
    "deployments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("endpoint", String(63), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("routes", Text, nullable=False),
    Column("stage", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("restores", Integer, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(63), nullable=False),
    Column("content_hash", String(64), nullable=False),
    UniqueConstraint("endpoint", "seq", name="uq_deployments_endpoint_seq"),
)

# Ground-truth labels of logged predictions, by request id (the latest label counts).
prediction_labels = Table(
    "prediction_labels",
    metadata,
    Column("endpoint", String(63), primary_key=True),
    Column("request_id", String(64), primary_key=True),
    Column("label", Text, nullable=False),
    Column("recorded_at", String(32), nullable=False),
    Column("recorded_by", String(63), nullable=False),
)

# Monitor documents (append-only: applying a changed document makes the next version).
monitors = Table(
    "monitors",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(63), nullable=False),
    Column("version", Integer, nullable=False),
    Column("endpoint", String(63), nullable=False),
    Column("document", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(63), nullable=False),
    Column("content_hash", String(64), nullable=False),
    UniqueConstraint("name", "version", name="uq_monitors_name_version"),
)

# Alert states (append-only): raised (seq 1), then acknowledged, resolved.
alert_states = Table(
    "alert_states",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("alert", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("monitor", String(80), nullable=False),
    Column("endpoint", String(63), nullable=False),
    Column("version", String(80), nullable=False),
    Column("rule", String(63), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("evidence", String(32), nullable=False),
    Column("actions", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(63), nullable=False),
    Column("content_hash", String(64), nullable=False),
    UniqueConstraint("alert", "seq", name="uq_alert_states_alert_seq"),
)


# Long operations asked for over the API (a training, a check run): who asked, how far it
# is, and its outcome, so any process serving the API can answer for it. Working state, like
# the tuning journal: what a job changes is recorded, and ledgered, by the services it runs.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("actor", String(63), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("progress", Text, nullable=False),
    Column("result", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("worker", String(255), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
