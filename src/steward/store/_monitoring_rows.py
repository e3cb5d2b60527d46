"""Rows of monitor versions and alert states, as frozen domain objects."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from steward.domain import AlertState, AlertStatus, Monitor
from steward.store._schema import alert_states, monitors

__all__ = ["alert_state_rows", "insert_alert_state", "insert_monitor", "monitor_rows"]


def _monitor(row: Row[Any]) -> Monitor:
    return Monitor(
        id=row.id,
        name=row.name,
        version=row.version,
        endpoint=row.endpoint,
        document=json.loads(row.document),
        source=row.source,
        created_at=row.created_at,
        created_by=row.created_by,
        content_hash=row.content_hash,
    )


def insert_monitor(conn: Connection, monitor: Monitor) -> None:
    conn.execute(
        insert(monitors).values(
            id=monitor.id,
            name=monitor.name,
            version=monitor.version,
            endpoint=monitor.endpoint,
            document=json.dumps(monitor.document, sort_keys=True),
            source=monitor.source,
            created_at=monitor.created_at,
            created_by=monitor.created_by,
            content_hash=monitor.content_hash,
        )
    )


def monitor_rows(conn: Connection, name: str | None = None) -> list[Monitor]:
    """Every version of monitor ``name`` (of every monitor if None), by name then version."""
    query = select(monitors).order_by(monitors.c.name, monitors.c.version)
    if name is not None:
        query = query.where(monitors.c.name == name)
    return [_monitor(row) for row in conn.execute(query)]


def _state(row: Row[Any]) -> AlertState:
    return AlertState(
        id=row.id,
        alert=row.alert,
        seq=row.seq,
        status=AlertStatus(row.status),
        monitor=row.monitor,
        endpoint=row.endpoint,
        version=row.version,
        rule=row.rule,
        severity=row.severity,
        message=row.message,
        evidence=row.evidence,
        actions=tuple(json.loads(row.actions)),
        note=row.note,
        created_at=row.created_at,
        created_by=row.created_by,
        content_hash=row.content_hash,
    )


def insert_alert_state(conn: Connection, state: AlertState) -> None:
    conn.execute(
        insert(alert_states).values(
            id=state.id,
            alert=state.alert,
            seq=state.seq,
            status=state.status.value,
            monitor=state.monitor,
            endpoint=state.endpoint,
            version=state.version,
            rule=state.rule,
            severity=state.severity,
            message=state.message,
            evidence=state.evidence,
            actions=json.dumps([dict(a) for a in state.actions], sort_keys=True),
            note=state.note,
            created_at=state.created_at,
            created_by=state.created_by,
            content_hash=state.content_hash,
        )
    )


def alert_state_rows(
    conn: Connection, alert: str | None = None, *, version: str | None = None
) -> list[AlertState]:
    """Every state of ``alert`` (of every alert if None; only of alerts about model version
    ``version`` when given), by creation then seq."""
    query = select(alert_states).order_by(
        alert_states.c.created_at, alert_states.c.alert, alert_states.c.seq
    )
    if alert is not None:
        query = query.where(alert_states.c.alert == alert)
    if version is not None:
        query = query.where(alert_states.c.version == version)
    return [_state(row) for row in conn.execute(query)]
