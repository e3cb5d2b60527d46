"""Every typed ledger event by its type, and reading a stored event back as one."""

from __future__ import annotations

from steward.domain._event_base import Event
from steward.domain._events import (
    ContractSet,
    DatasetRegistered,
    DatasheetUpdated,
    LedgerStarted,
    RunFinished,
    RunStarted,
    TokenIssued,
    TokenReset,
    TokenRevoked,
    UserCreated,
)
from steward.domain._governance_events import (
    ApprovalRecorded,
    AttemptRefused,
    CommentAdded,
    ModelPromoted,
    PolicyApplied,
    PolicyEndorsed,
    WaiverGranted,
    WebhookAdded,
    WebhookRemoved,
)
from steward.domain._ledger import LedgerEvent
from steward.domain._model_events import (
    EvidenceRecorded,
    ModelRegistered,
    ModelUnsafeLoad,
    ModelUpdated,
)
from steward.domain._monitoring_events import AlertChanged, MonitorApplied, MonitorRan
from steward.domain._serving_events import (
    DeploymentChanged,
    LabelsRecorded,
    PredictionsPruned,
    PredictionsSealed,
    ServingEnforced,
)

__all__ = ["parse_event"]


_CLASSES: dict[str, type[Event]] = {
    cls.event_type.value: cls
    for cls in (
        LedgerStarted,
        UserCreated,
        TokenIssued,
        TokenRevoked,
        TokenReset,
        DatasetRegistered,
        DatasheetUpdated,
        ContractSet,
        RunStarted,
        RunFinished,
        ModelRegistered,
        ModelUpdated,
        ModelUnsafeLoad,
        EvidenceRecorded,
        PolicyApplied,
        PolicyEndorsed,
        ApprovalRecorded,
        WaiverGranted,
        CommentAdded,
        ModelPromoted,
        AttemptRefused,
        WebhookAdded,
        WebhookRemoved,
        DeploymentChanged,
        ServingEnforced,
        PredictionsSealed,
        PredictionsPruned,
        LabelsRecorded,
        MonitorApplied,
        MonitorRan,
        AlertChanged,
    )
}


def parse_event(event: LedgerEvent) -> Event:
    """The typed payload of a stored event; ``ValueError`` for an unknown type, or a payload
    missing a field or holding a value of the wrong type."""
    cls = _CLASSES.get(event.type)
    if cls is None:
        raise ValueError(f"event {event.seq}: unknown event type {event.type!r}")
    try:
        return cls.from_payload(event.payload)
    except ValueError as exc:
        raise ValueError(f"event {event.seq}: {exc}") from None
