"""Rows of runs and their metric series."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from steward.domain import MetricPoint, Run, RunStatus
from steward.ledger import canonical_bytes
from steward.store._schema import run_metrics, runs

__all__ = [
    "finish_run",
    "insert_metrics",
    "insert_run",
    "list_runs",
    "metrics_of",
    "run_by_id",
    "runs_named",
    "update_draft",
]

_JSON_FIELDS = ("params", "tags", "code", "environment", "inputs", "artifacts")


def _json(value: Any) -> str:
    return canonical_bytes(value).decode("utf-8")


def _run(row: Row[Any]) -> Run:
    return Run(
        id=row.id,
        name=row.name,
        parent_id=row.parent_id,
        status=RunStatus(row.status),
        actor=row.actor,
        started_at=row.started_at,
        ended_at=row.ended_at,
        params=json.loads(row.params),
        tags=json.loads(row.tags),
        code=json.loads(row.code),
        environment=json.loads(row.environment),
        inputs=tuple(json.loads(row.inputs)),
        artifacts=json.loads(row.artifacts),
        content_hash=row.content_hash,
    )


def insert_run(conn: Connection, run: Run) -> None:
    conn.execute(
        insert(runs).values(
            id=run.id,
            name=run.name,
            parent_id=run.parent_id,
            status=run.status.value,
            actor=run.actor,
            started_at=run.started_at,
            ended_at=run.ended_at,
            params=_json(run.params),
            tags=_json(run.tags),
            code=_json(run.code),
            environment=_json(run.environment),
            inputs=_json(list(run.inputs)),
            artifacts=_json(run.artifacts),
            content_hash=run.content_hash,
        )
    )


def run_by_id(conn: Connection, run_id: str) -> Run | None:
    row = conn.execute(select(runs).where(runs.c.id == run_id)).one_or_none()
    return None if row is None else _run(row)


def runs_named(conn: Connection, name: str) -> list[Run]:
    rows = conn.execute(select(runs).where(runs.c.name == name).order_by(runs.c.started_at)).all()
    return [_run(row) for row in rows]


def list_runs(
    conn: Connection, *, parent_id: str | None = None, limit: int | None = 100
) -> list[Run]:
    """The newest runs first; ``limit=None`` for all of them."""
    query = select(runs)
    if parent_id is not None:
        query = query.where(runs.c.parent_id == parent_id)
    rows = conn.execute(query.order_by(runs.c.started_at.desc(), runs.c.id).limit(limit)).all()
    return [_run(row) for row in rows]


def update_draft(conn: Connection, run_id: str, fields: dict[str, Any]) -> bool:
    """Replace JSON fields of a running run; ``False`` when it is not running (any more)."""
    values = {name: _json(value) for name, value in fields.items() if name in _JSON_FIELDS}
    result = conn.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == RunStatus.RUNNING.value)
        .values(**values)
    )
    return result.rowcount == 1


def insert_metrics(conn: Connection, run_id: str, points: list[MetricPoint]) -> None:
    conn.execute(
        insert(run_metrics),
        [
            {"run_id": run_id, "key": p.key, "step": p.step, "value": p.value, "ts": p.timestamp}
            for p in points
        ],
    )


def metrics_of(conn: Connection, run_id: str) -> list[MetricPoint]:
    rows = conn.execute(
        select(run_metrics.c.key, run_metrics.c.value, run_metrics.c.step, run_metrics.c.ts)
        .where(run_metrics.c.run_id == run_id)
        .order_by(run_metrics.c.id)
    ).all()
    return [MetricPoint(key, float(value), int(step), ts) for key, value, step, ts in rows]


def finish_run(
    conn: Connection, run_id: str, status: RunStatus, ended_at: str, content_hash: str
) -> bool:
    result = conn.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == RunStatus.RUNNING.value)
        .values(status=status.value, ended_at=ended_at, content_hash=content_hash)
    )
    return result.rowcount == 1
