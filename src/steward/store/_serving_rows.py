"""Rows of endpoint deployment states and prediction labels, as frozen domain objects."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from steward.domain import Deployment, EndpointStatus, Route
from steward.store._schema import deployments, prediction_labels

__all__ = [
    "deployment_rows",
    "insert_deployment",
    "labels_for",
    "latest_deployments",
    "upsert_labels",
]


def _deployment(row: Row[Any]) -> Deployment:
    return Deployment(
        id=row.id,
        endpoint=row.endpoint,
        seq=row.seq,
        action=row.action,
        routes=tuple(Route.from_dict(r) for r in json.loads(row.routes)),
        stage=row.stage,
        status=EndpointStatus(row.status),
        reason=row.reason,
        restores=row.restores,
        created_at=row.created_at,
        created_by=row.created_by,
        content_hash=row.content_hash,
    )


def insert_deployment(conn: Connection, deployment: Deployment) -> None:
    conn.execute(
        insert(deployments).values(
            id=deployment.id,
            endpoint=deployment.endpoint,
            seq=deployment.seq,
            action=deployment.action,
            routes=json.dumps([r.to_dict() for r in deployment.routes]),
            stage=deployment.stage,
            status=deployment.status.value,
            reason=deployment.reason,
            restores=deployment.restores,
            created_at=deployment.created_at,
            created_by=deployment.created_by,
            content_hash=deployment.content_hash,
        )
    )


def deployment_rows(conn: Connection, endpoint: str | None = None) -> list[Deployment]:
    """Every state of ``endpoint`` (of every endpoint if None), by endpoint then seq."""
    query = select(deployments).order_by(deployments.c.endpoint, deployments.c.seq)
    if endpoint is not None:
        query = query.where(deployments.c.endpoint == endpoint)
    return [_deployment(row) for row in conn.execute(query)]


def latest_deployments(conn: Connection) -> list[Deployment]:
    """The current state of every endpoint, by name: one indexed query, for servers that
    poll."""
    last = (
        select(deployments.c.endpoint, func.max(deployments.c.seq).label("seq"))
        .group_by(deployments.c.endpoint)
        .subquery()
    )
    query = (
        select(deployments)
        .join(
            last,
            (deployments.c.endpoint == last.c.endpoint) & (deployments.c.seq == last.c.seq),
        )
        .order_by(deployments.c.endpoint)
    )
    return [_deployment(row) for row in conn.execute(query)]


def labels_for(
    conn: Connection, endpoint: str, request_ids: Iterable[str] | None = None
) -> dict[str, Any]:
    """``{request id: label}`` of ``endpoint`` (only ``request_ids`` when given)."""
    query = select(prediction_labels.c.request_id, prediction_labels.c.label).where(
        prediction_labels.c.endpoint == endpoint
    )
    if request_ids is not None:
        ids = list(request_ids)
        found: dict[str, Any] = {}
        for start in range(0, len(ids), 500):
            chunk = query.where(prediction_labels.c.request_id.in_(ids[start : start + 500]))
            found.update((rid, json.loads(label)) for rid, label in conn.execute(chunk))
        return found
    return {rid: json.loads(label) for rid, label in conn.execute(query)}


def upsert_labels(
    conn: Connection, endpoint: str, labels: dict[str, Any], *, at: str, by: str
) -> None:
    """Record ``labels`` (request id → label): new ids inserted, changed ones updated."""
    known = labels_for(conn, endpoint, labels)
    new = [
        {
            "endpoint": endpoint,
            "request_id": rid,
            "label": json.dumps(label),
            "recorded_at": at,
            "recorded_by": by,
        }
        for rid, label in labels.items()
        if rid not in known
    ]
    if new:
        conn.execute(insert(prediction_labels), new)
    for rid, label in labels.items():
        if rid in known:
            conn.execute(
                update(prediction_labels)
                .where(
                    (prediction_labels.c.endpoint == endpoint)
                    & (prediction_labels.c.request_id == rid)
                )
                .values(label=json.dumps(label), recorded_at=at, recorded_by=by)
            )
