"""Jobs: one row per long operation asked for over the API, updated as it goes."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from steward.domain import Job, JobStatus
from steward.store._schema import jobs

__all__ = ["add_job", "forget_jobs", "job", "update_job"]


def add_job(conn: Connection, record: Job) -> None:
    conn.execute(
        insert(jobs).values(
            id=record.id,
            kind=record.kind,
            actor=record.actor,
            status=record.status.value,
            progress=json.dumps(record.progress),
            result=None,
            error=None,
            worker=record.worker,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )
    )


def forget_jobs(conn: Connection, before: str) -> int:
    """Delete the jobs last updated before ``before`` (an ISO time); how many."""
    return int(conn.execute(delete(jobs).where(jobs.c.updated_at < before)).rowcount or 0)


def update_job(conn: Connection, job_id: str, updated_at: str, **fields: Any) -> None:
    values: dict[str, Any] = {"updated_at": updated_at}
    for name, value in fields.items():
        if name == "status":
            values[name] = JobStatus(value).value
        elif name in ("progress", "result", "error"):
            values[name] = None if value is None else json.dumps(value)
        else:
            raise ValueError(f"jobs have no field {name!r} to update")
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))


def job(conn: Connection, job_id: str) -> Job | None:
    row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().one_or_none()
    if row is None:
        return None
    return Job(
        id=row["id"],
        kind=row["kind"],
        actor=row["actor"],
        status=JobStatus(row["status"]),
        progress=json.loads(row["progress"]),
        result=None if row["result"] is None else json.loads(row["result"]),
        error=None if row["error"] is None else json.loads(row["error"]),
        worker=row["worker"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
