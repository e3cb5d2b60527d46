"""Alerts: the states of their lives, read back and moved on by people.

An alert is opened by a monitor run (``monitor.ran``); acknowledging it (someone is on it; it
stays open) and resolving it (closed, with why; it stays in the history) are new immutable
states, each with one ``alert.changed`` event. Refusals are ledgered.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from steward.domain import Actor, Alert, AlertChanged, AlertState, AlertStatus, Permission
from steward.errors import InvalidInput, NotFound, PermissionDenied, Refused
from steward.services._access import require
from steward.services._records import content_hash, record_event
from steward.store import Store
from steward.types import utc_iso

__all__ = ["AlertService", "alerts_of", "webhook_data"]


class AlertService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def alerts(
        self, actor: Actor, *, status: str | None = None, endpoint: str | None = None
    ) -> list[Alert]:
        """Every alert (newest first), only those in ``status`` (``open`` means not
        resolved) or about ``endpoint`` when given."""
        require(actor, Permission.MODEL_READ, "read alerts")
        if status not in (None, "open", "acknowledged", "resolved"):
            raise InvalidInput(
                f"unknown alert status {status!r}: use open, acknowledged or resolved",
                details={"field": "status"},
            )
        with self._store.read() as reader:
            every = alerts_of(reader.alert_states())
        chosen = [
            a
            for a in every
            if (endpoint is None or a.current.endpoint == endpoint)
            and (
                status is None or (status == "open" and a.open) or a.current.status.value == status
            )
        ]
        return sorted(chosen, key=lambda a: a.raised_at, reverse=True)

    def alert(self, actor: Actor, alert_id: str) -> Alert:
        """The alert whose id is, or starts with, ``alert_id`` (at least 6 characters)."""
        require(actor, Permission.MODEL_READ, "read alerts")
        with self._store.read() as reader:
            return find_alert(alerts_of(reader.alert_states()), alert_id)

    def acknowledge(self, actor: Actor, alert_id: str, note: str) -> Alert:
        """Say that someone is on it (the alert stays open)."""
        return self._change(actor, alert_id, AlertStatus.ACKNOWLEDGED, note)

    def resolve(self, actor: Actor, alert_id: str, note: str) -> Alert:
        """Close the alert, saying why; it stays in the history."""
        return self._change(actor, alert_id, AlertStatus.RESOLVED, note)

    def _change(self, actor: Actor, alert_id: str, status: AlertStatus, note: str) -> Alert:
        from steward.services.governance._service import refused_attempt

        verb = "acknowledge" if status is AlertStatus.ACKNOWLEDGED else "resolve"
        try:
            require(actor, Permission.ALERT_MANAGE, f"{verb} alerts")
            if not note.strip():
                raise InvalidInput(f"say why you {verb} it: {{note}}", details={"field": "note"})
            with self._store.write(actor) as tx:
                alert = find_alert(alerts_of(tx.alert_states()), alert_id)
                tx.lock(f"alert:{alert.id}")
                current = alert.current
                if current.status is AlertStatus.RESOLVED:
                    raise Refused(f"alert {alert.id[:12]} is already resolved")
                if current.status is status:
                    raise Refused(f"alert {alert.id[:12]} is already {status.value}")
                state = replace(
                    current,
                    id=uuid.uuid4().hex,
                    seq=current.seq + 1,
                    status=status,
                    note=note.strip()[:2000],
                    created_at=utc_iso(tx.now),
                    created_by=actor.name,
                    content_hash="",
                )
                state = replace(state, content_hash=content_hash(state.content()))
                tx.add_alert_state(state)
                record_event(tx, AlertChanged.of(state), subject=f"endpoint:{state.endpoint}")
            return Alert(state, alert.raised_at, alert.raised_by, (*alert.history, state))
        except (InvalidInput, NotFound, Refused, PermissionDenied) as exc:
            refused_attempt(self._store, actor, f"alert.{verb}", f"alert:{alert_id}", None, exc)
            raise


def alerts_of(states: list[AlertState]) -> list[Alert]:
    """The alerts the states make up, each with its history (states oldest first)."""
    by_alert: dict[str, list[AlertState]] = {}
    for state in states:
        by_alert.setdefault(state.alert, []).append(state)
    alerts = []
    for history in by_alert.values():
        history.sort(key=lambda s: s.seq)
        first = history[0]
        alerts.append(Alert(history[-1], first.created_at, first.created_by, tuple(history)))
    return alerts


def find_alert(alerts: list[Alert], alert_id: str) -> Alert:
    wanted = alert_id.strip().lower()
    if len(wanted) < 6:
        raise InvalidInput(
            "name an alert by its id or its first 6 characters at least", details={"field": "id"}
        )
    found = [a for a in alerts if a.id.startswith(wanted)]
    if not found:
        raise NotFound(f"no alert {alert_id[:40]!r} (`steward alert list`)")
    if len(found) > 1:
        raise InvalidInput(f"{alert_id!r} names {len(found)} alerts: give more of the id")
    return found[0]


def webhook_data(state: AlertState) -> dict[str, Any]:
    return {
        "alert": state.alert,
        "monitor": state.monitor,
        "endpoint": state.endpoint,
        "version": state.version,
        "rule": state.rule,
        "severity": state.severity,
        "message": state.message,
        "evidence": state.evidence,
        "actions": [a["action"] for a in state.actions],
    }
