"""Typed ledger events of models and their evidence (see ``_events`` for the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from steward.domain._event_base import Event
from steward.domain._events import EvidenceEntry
from steward.domain._ledger import EventType

__all__ = ["EvidenceRecorded", "ModelRegistered", "ModelUnsafeLoad", "ModelUpdated"]


@dataclass(frozen=True, slots=True)
class ModelRegistered(Event):
    """Event ``model.registered``: a model version was registered (the model and its card
    too, on its first version).

    :ivar model: the model's name.
    :ivar version: the version number.
    :ivar artifact: the model file (``sha256:…``).
    :ivar format: how it is stored (``skops``, ``pickle``, a booster's native format).
    :ivar run: the run that trained it, or ``null``.
    :ivar datasets: its training data (``ref``, ``fingerprint``, ``role`` of each).
    :ivar split: the id of its train/test split, or ``null``.
    :ivar content_hash: the SHA-256 of the version's canonical record.
    :ivar card_hash: on a first version, the hash of the new model card; ``null`` otherwise.
    :ivar risk_tier: on a first version, the card's risk tier; absent otherwise.
    :ivar risk_tier_because: on a first version whose training data set the tier, why;
        absent otherwise.
    """

    event_type: ClassVar[EventType] = EventType.MODEL_REGISTERED

    model: str
    version: int
    artifact: str
    format: str
    run: str | None
    datasets: tuple[dict[str, Any], ...]
    split: str | None
    content_hash: str
    card_hash: str | None
    risk_tier: str | None = None
    risk_tier_because: str | None = None


@dataclass(frozen=True, slots=True)
class ModelUpdated(Event):
    """Event ``model.updated``: a model card was edited.

    :ivar model: the model's name.
    :ivar changes: the new value of each changed field (for ``tags``, the whole new set).
    :ivar card_hash: the hash of the card after the edit.
    """

    event_type: ClassVar[EventType] = EventType.MODEL_UPDATED

    model: str
    changes: dict[str, Any]
    card_hash: str


@dataclass(frozen=True, slots=True)
class ModelUnsafeLoad(Event):
    """Event ``model.unsafe_load``: a model version stored as a pickle was loaded with
    ``trust_pickle=True``; written before it is unpickled.

    :ivar model: the model's name.
    :ivar version: the version number.
    :ivar format: ``pickle``.
    """

    event_type: ClassVar[EventType] = EventType.MODEL_UNSAFE_LOAD

    model: str
    version: int
    format: str


@dataclass(frozen=True, slots=True)
class EvidenceRecorded(Event):
    """Event ``evidence.recorded``: checks recorded evidence about a model version
    (``steward check run``, the checks after ``steward train``, ``steward check reproduce``).

    :ivar subject: the model version (``model:NAME@N``).
    :ivar evidence: the records (``id``, ``check_id``, ``check_version``, ``status``,
        ``content_hash`` of each, ``reproduces`` and ``code_matches_source`` when set).
    """

    event_type: ClassVar[EventType] = EventType.EVIDENCE_RECORDED

    subject: str
    evidence: tuple[EvidenceEntry, ...]
