"""Ledger events and signed tree heads as values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["EventType", "LedgerEvent", "TreeHead"]


class EventType(StrEnum):
    """Every kind of state change Steward records. Documented in docs/audit.md."""

    LEDGER_STARTED = "ledger.started"
    USER_CREATED = "user.created"
    TOKEN_ISSUED = "token.issued"  # noqa: S105 - an event name, not a secret
    TOKEN_REVOKED = "token.revoked"  # noqa: S105
    TOKEN_RESET = "token.reset"  # noqa: S105
    DATASET_REGISTERED = "dataset.registered"
    DATASHEET_UPDATED = "dataset.datasheet_updated"
    CONTRACT_SET = "dataset.contract_set"
    RUN_STARTED = "run.started"
    RUN_FINISHED = "run.finished"
    MODEL_REGISTERED = "model.registered"
    MODEL_UPDATED = "model.updated"
    MODEL_UNSAFE_LOAD = "model.unsafe_load"
    EVIDENCE_RECORDED = "evidence.recorded"
    POLICY_APPLIED = "policy.applied"
    POLICY_ENDORSED = "policy.endorsed"
    APPROVAL_RECORDED = "approval.recorded"
    WAIVER_GRANTED = "waiver.granted"
    COMMENT_ADDED = "comment.added"
    MODEL_PROMOTED = "model.promoted"
    ATTEMPT_REFUSED = "attempt.refused"
    WEBHOOK_ADDED = "webhook.added"
    WEBHOOK_REMOVED = "webhook.removed"
    DEPLOYMENT_CHANGED = "deployment.changed"
    SERVING_ENFORCED = "serving.enforced"
    PREDICTIONS_SEALED = "predictions.sealed"
    PREDICTIONS_PRUNED = "predictions.pruned"
    LABELS_RECORDED = "labels.recorded"
    MONITOR_APPLIED = "monitor.applied"
    MONITOR_RAN = "monitor.ran"
    ALERT_CHANGED = "alert.changed"


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One entry of the audit ledger.

    ``body`` is the canonical encoding the Merkle leaf is computed from; the other fields are
    read from it and kept alongside for querying.
    """

    seq: int
    ts: str
    type: str
    actor: str
    subject: str | None
    payload: dict[str, Any]
    body: str
    leaf_hash: bytes

    def to_dict(self) -> dict[str, Any]:
        """The event's JSON document: its columns, payload and leaf hash (hex); not the
        canonical body, which the other fields are read from."""
        return {
            "seq": self.seq,
            "ts": self.ts,
            "type": self.type,
            "actor": self.actor,
            "subject": self.subject,
            "payload": self.payload,
            "leaf_hash": self.leaf_hash.hex(),
        }


@dataclass(frozen=True, slots=True)
class TreeHead:
    """A signed statement: "the ledger had ``size`` events with this Merkle root"."""

    size: int
    root_hash: bytes
    timestamp: str
    key_id: str
    signature: bytes

    def to_dict(self) -> dict[str, Any]:
        """The head's JSON document, hashes and signature in hex (``tree_size`` is ``size``)."""
        return {
            "tree_size": self.size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }
