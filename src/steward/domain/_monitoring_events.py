"""Typed ledger events of monitoring: monitor documents applied, and each change of an
alert's life (see ``_event_base`` for how fields become payload keys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from steward.domain._event_base import Event, Payload
from steward.domain._events import EvidenceEntry
from steward.domain._ledger import EventType
from steward.domain._monitoring import AlertState, Monitor

__all__ = ["AlertChanged", "AlertEntry", "MonitorApplied", "MonitorRan"]


@dataclass(frozen=True, slots=True)
class MonitorApplied(Event):
    """Event ``monitor.applied``: a monitor document was applied (its first version, or a
    changed one). ``audit verify`` checks the stored version against ``content_hash``.

    :ivar id: the monitor version's id.
    :ivar monitor: the monitor's name.
    :ivar version: its version number (from 1).
    :ivar endpoint: the endpoint it watches.
    :ivar content_hash: the SHA-256 of the version's canonical content.
    """

    event_type: ClassVar[EventType] = EventType.MONITOR_APPLIED

    id: str
    monitor: str
    version: int
    endpoint: str
    content_hash: str

    @classmethod
    def of(cls, monitor: Monitor) -> Self:
        return cls(
            id=monitor.id,
            monitor=monitor.name,
            version=monitor.version,
            endpoint=monitor.endpoint,
            content_hash=monitor.content_hash,
        )


@dataclass(frozen=True, slots=True)
class AlertChanged(Event):
    """Event ``alert.changed``: a monitor run raised an alert (``open``), or a person
    acknowledged or resolved one. ``audit verify`` checks the stored state against
    ``content_hash``.

    :ivar id: the alert state's id.
    :ivar alert: the alert's id.
    :ivar seq: the state's number in the alert's life (from 1).
    :ivar status: ``open``, ``acknowledged`` or ``resolved``.
    :ivar monitor: the monitor version that raised it (``NAME@V``).
    :ivar endpoint: the endpoint.
    :ivar version: the model version it is about (``NAME@N``).
    :ivar rule: the monitor's alert rule.
    :ivar severity: ``info`` … ``critical``.
    :ivar actions: what the rule's actions did, when raised (``action``, ``outcome``).
    :ivar content_hash: the SHA-256 of the state's canonical content.
    """

    event_type: ClassVar[EventType] = EventType.ALERT_CHANGED

    id: str
    alert: str
    seq: int
    status: str
    monitor: str
    endpoint: str
    version: str
    rule: str
    severity: str
    actions: tuple[dict[str, str], ...]
    content_hash: str

    @classmethod
    def of(cls, state: AlertState) -> Self:
        return cls(
            id=state.id,
            alert=state.alert,
            seq=state.seq,
            status=state.status.value,
            monitor=state.monitor,
            endpoint=state.endpoint,
            version=state.version,
            rule=state.rule,
            severity=state.severity,
            actions=tuple({k: str(v) for k, v in a.items()} for a in state.actions),
            content_hash=state.content_hash,
        )


@dataclass(frozen=True, slots=True)
class AlertEntry(Payload):
    """One alert a monitor run raised, as ``monitor.ran`` lists it.

    :ivar id: the alert state's id (its first state).
    :ivar alert: the alert's id.
    :ivar rule: the monitor's alert rule.
    :ivar severity: ``info`` … ``critical``.
    :ivar actions: the rule's actions (``notify``, ``revalidate``, ``suspend``, ``retrain``).
    :ivar content_hash: the SHA-256 of the state's canonical content.
    """

    id: str
    alert: str
    rule: str
    severity: str
    actions: tuple[str, ...]
    content_hash: str

    @classmethod
    def of(cls, state: AlertState) -> Self:
        return cls(
            id=state.id,
            alert=state.alert,
            rule=state.rule,
            severity=state.severity,
            actions=tuple(str(a["action"]) for a in state.actions),
            content_hash=state.content_hash,
        )


@dataclass(frozen=True, slots=True)
class MonitorRan(Event):
    """Event ``monitor.ran``: a monitor run recorded its result as evidence about the version
    its endpoint serves, and the alerts its rules raised (opened in the same step; their
    later states are ``alert.changed``). ``audit verify`` checks the stored evidence and
    alert states against the hashes.

    :ivar monitor: the monitor version (``NAME@V``).
    :ivar endpoint: the endpoint.
    :ivar subject: the model version judged (``model:NAME@N``).
    :ivar evidence: the run's record (``id``, ``check_id``, ``check_version``, ``status``,
        ``content_hash``).
    :ivar alerts: the alerts raised (``id``, ``alert``, ``rule``, ``severity``, ``actions``,
        ``content_hash``).
    """

    event_type: ClassVar[EventType] = EventType.MONITOR_RAN

    monitor: str
    endpoint: str
    subject: str
    evidence: tuple[EvidenceEntry, ...]
    alerts: tuple[AlertEntry, ...]
