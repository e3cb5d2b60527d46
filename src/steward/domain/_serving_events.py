"""Typed ledger events of serving: deployments, what servers enforce, the prediction log's
sealed segments and ground-truth labels (see ``_event_base`` for how fields become payload
keys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

from steward.domain._deployment import Deployment
from steward.domain._event_base import Event
from steward.domain._ledger import EventType

__all__ = [
    "DeploymentChanged",
    "LabelsRecorded",
    "PredictionsPruned",
    "PredictionsSealed",
    "ServingEnforced",
]


@dataclass(frozen=True, slots=True)
class DeploymentChanged(Event):
    """Event ``deployment.changed``: a deploy, canary, canary promotion, rollback, stop or
    resume gave an endpoint a new state. ``audit verify`` checks the stored state against
    ``content_hash``; ``endpoint history --at`` reads these states.

    :ivar id: the deployment state's id.
    :ivar endpoint: the endpoint's name.
    :ivar seq: the state's number in the endpoint's history (from 1).
    :ivar action: ``deploy``, ``canary``, ``promote_canary``, ``rollback``, ``stop`` or
        ``resume``.
    :ivar routes: the versions served and their traffic shares (``version``, ``share``,
        ``role``: ``stable`` or ``canary``).
    :ivar stage: the stage whose gate the served versions must pass.
    :ivar status: ``active`` or ``stopped``.
    :ivar reason: why (a stop's reason; empty otherwise).
    :ivar restores: the state a rollback restored, or ``null``.
    :ivar created_at: when.
    :ivar created_by: who.
    :ivar content_hash: the SHA-256 of the state's canonical content.
    :ivar decisions: the gate decision summary of each version the change admitted.
    """

    event_type: ClassVar[EventType] = EventType.DEPLOYMENT_CHANGED

    id: str
    endpoint: str
    seq: int
    action: str
    routes: tuple[dict[str, Any], ...]
    stage: str
    status: str
    reason: str
    restores: int | None
    created_at: str
    created_by: str
    content_hash: str
    decisions: dict[str, Any]

    @classmethod
    def of(cls, deployment: Deployment, decisions: dict[str, Any]) -> Self:
        content = deployment.content()
        return cls(
            id=deployment.id,
            **{**content, "routes": tuple(content["routes"])},
            content_hash=deployment.content_hash,
            decisions=decisions,
        )


@dataclass(frozen=True, slots=True)
class ServingEnforced(Event):
    """Event ``serving.enforced``: a server found that a version an endpoint routes to may
    not be served now (its gate fails, or its model file is not the registered one), or may
    be again, and acted as the governing policy says. Recorded once per change, whichever
    server process notices first.

    :ivar endpoint: the endpoint.
    :ivar version: the version concerned (``NAME@N``).
    :ivar allowed: whether it may be served now.
    :ivar action: ``fallback``, ``refuse`` or ``keep`` (policy ``serving.on_gate_failure``),
        ``restored`` when it may be served again.
    :ivar serving: what the endpoint serves in its place (``NAME@N``), or ``null`` (503).
    :ivar reason: why, for people.
    :ivar failed: the failing rule ids (``artifact`` for a changed model file).
    """

    event_type: ClassVar[EventType] = EventType.SERVING_ENFORCED

    endpoint: str
    version: str
    allowed: bool
    action: str
    serving: str | None
    reason: str
    failed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PredictionsSealed(Event):
    """Event ``predictions.sealed``: a segment of the prediction log was sealed; its records
    can no longer change unnoticed (``audit verify`` recomputes ``digest``).

    :ivar segment: the segment's id.
    :ivar count: how many prediction records it holds.
    :ivar digest: the SHA-256 over its records' hashes, in order.
    :ivar endpoints: the endpoints its records are about.
    :ivar first: the time of its first record.
    :ivar last: the time of its last record.
    """

    event_type: ClassVar[EventType] = EventType.PREDICTIONS_SEALED

    segment: str
    count: int
    digest: str
    endpoints: tuple[str, ...]
    first: str | None
    last: str | None


@dataclass(frozen=True, slots=True)
class PredictionsPruned(Event):
    """Event ``predictions.pruned``: prediction records older than the retention period
    were deleted.

    :ivar before: the day before which records were deleted.
    :ivar segments: the sealed segments now entirely gone.
    :ivar retention_days: the retention period in force.
    """

    event_type: ClassVar[EventType] = EventType.PREDICTIONS_PRUNED

    before: str
    segments: tuple[str, ...]
    retention_days: int


@dataclass(frozen=True, slots=True)
class LabelsRecorded(Event):
    """Event ``labels.recorded``: ground-truth labels were attached to logged predictions.

    :ivar endpoint: the endpoint.
    :ivar count: how many labels were recorded (new or changed).
    :ivar digest: the SHA-256 of the recorded ``(request id, label)`` pairs' canonical JSON.
    :ivar unknown: how many request ids were not in the log (skipped).
    """

    event_type: ClassVar[EventType] = EventType.LABELS_RECORDED

    endpoint: str
    count: int
    digest: str
    unknown: int
