"""Monitors and alerts: what watches an endpoint, and what it raised.

A ``Monitor`` is one version of a monitor document (``steward.monitor/v1``): applying a
changed document under the same name makes its next version; versions are never edited. An
alert's life is a sequence of ``AlertState``s — ``open`` when a monitor run raises it, then
``acknowledged`` and ``resolved`` with who and why — each a new immutable row recorded with
one ledger event; a resolved alert stays in the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "ALERT_ACTIONS",
    "Alert",
    "AlertState",
    "AlertStatus",
    "Monitor",
    "alert_content",
    "monitor_content",
]

ALERT_ACTIONS = ("notify", "revalidate", "suspend", "retrain")


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Monitor:
    """Version ``version`` of monitor ``name``, watching ``endpoint`` by ``document``."""

    id: str
    name: str
    version: int
    endpoint: str
    document: dict[str, Any]
    source: str
    created_at: str
    created_by: str
    content_hash: str = ""

    @property
    def subject(self) -> str:
        return f"monitor:{self.name}@{self.version}"

    def content(self) -> dict[str, Any]:
        """What the content hash covers: every field but the id and the hash."""
        return monitor_content(
            name=self.name,
            version=self.version,
            endpoint=self.endpoint,
            document=self.document,
            source=self.source,
            created_at=self.created_at,
            created_by=self.created_by,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.content(), "content_hash": self.content_hash}


def monitor_content(**fields: Any) -> dict[str, Any]:
    keys = ("name", "version", "endpoint", "document", "source", "created_at", "created_by")
    return {key: fields[key] for key in keys}


@dataclass(frozen=True, slots=True)
class AlertState:
    """State ``seq`` of alert ``alert``: raised by rule ``rule`` of ``monitor`` (``NAME@V``)
    in the run recorded as evidence ``evidence``, about version ``version`` served by
    ``endpoint``. ``actions`` says what each of the rule's actions did (set when raised);
    ``note`` is why a person acknowledged or resolved it."""

    id: str
    alert: str
    seq: int
    status: AlertStatus
    monitor: str
    endpoint: str
    version: str
    rule: str
    severity: str
    message: str
    evidence: str
    actions: tuple[dict[str, Any], ...]
    note: str
    created_at: str
    created_by: str
    content_hash: str = ""

    def content(self) -> dict[str, Any]:
        return alert_content(
            alert=self.alert,
            seq=self.seq,
            status=self.status.value,
            monitor=self.monitor,
            endpoint=self.endpoint,
            version=self.version,
            rule=self.rule,
            severity=self.severity,
            message=self.message,
            evidence=self.evidence,
            actions=[dict(a) for a in self.actions],
            note=self.note,
            created_at=self.created_at,
            created_by=self.created_by,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.content(), "content_hash": self.content_hash}


def alert_content(**fields: Any) -> dict[str, Any]:
    keys = (
        "alert",
        "seq",
        "status",
        "monitor",
        "endpoint",
        "version",
        "rule",
        "severity",
        "message",
        "evidence",
        "actions",
        "note",
        "created_at",
        "created_by",
    )
    return {key: fields[key] for key in keys}


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as it stands: its current state, with when it was raised and by whom."""

    current: AlertState
    raised_at: str
    raised_by: str
    history: tuple[AlertState, ...]

    @property
    def id(self) -> str:
        return self.current.alert

    @property
    def open(self) -> bool:
        return self.current.status is not AlertStatus.RESOLVED

    def to_dict(self) -> dict[str, Any]:
        state = self.current
        return {
            "id": state.alert,
            "status": state.status.value,
            "monitor": state.monitor,
            "endpoint": state.endpoint,
            "version": state.version,
            "rule": state.rule,
            "severity": state.severity,
            "message": state.message,
            "evidence": state.evidence,
            "actions": [dict(a) for a in self.history[0].actions],
            "raised_at": self.raised_at,
            "raised_by": self.raised_by,
            "history": [s.to_dict() for s in self.history],
        }
