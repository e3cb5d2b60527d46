"""Jobs: a long operation asked for over the API (a training, a check run) runs in the
process that took the request, and reports here, in the store, so any process serving the
API answers for it: who asked, how far it is, what it returned or raised.

A job is working state, not evidence (no ledger event): what it changes is recorded, and
ledgered, by the services it runs, as the caller who asked. Only that caller (or a holder
of ``user:manage``) may read it. A running job whose process has not reported for
``LOST_SECONDS`` is answered as ``lost``: its process ended or was killed. A job is kept
``KEEP_DAYS`` after its last report, then forgotten when a new one starts."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from steward.domain import Actor, Job, JobStatus, Permission
from steward.errors import NotFound
from steward.store import Store
from steward.types import utc_iso

__all__ = ["HEARTBEAT_SECONDS", "KEEP_DAYS", "LOST_SECONDS", "JobService"]

HEARTBEAT_SECONDS = 10.0
LOST_SECONDS = 120.0
KEEP_DAYS = 7


class JobService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def start(self, actor: Actor, kind: str) -> Job:
        """A running job of ``kind`` for ``actor``, in this process."""
        moment = self._store.now()
        now = utc_iso(moment)
        record = Job(
            id=uuid.uuid4().hex,
            kind=kind,
            actor=actor.name,
            status=JobStatus.RUNNING,
            progress={},
            worker=f"{socket.gethostname()}:{os.getpid()}"[:255],
            created_at=now,
            updated_at=now,
        )
        self._store.add_job(record, forget_before=utc_iso(moment - timedelta(days=KEEP_DAYS)))
        return record

    def report(self, job_id: str, progress: dict[str, Any]) -> None:
        self._store.update_job(job_id, progress=progress)

    def succeed(self, job_id: str, progress: dict[str, Any], result: Any) -> None:
        self._store.update_job(job_id, status=JobStatus.SUCCEEDED, progress=progress, result=result)

    def fail(self, job_id: str, progress: dict[str, Any], error: dict[str, Any]) -> None:
        self._store.update_job(job_id, status=JobStatus.FAILED, progress=progress, error=error)

    def get(self, actor: Actor, job_id: str) -> Job:
        found = self._store.job(job_id[:64])
        if found is None or (found.actor != actor.name and not actor.can(Permission.USER_MANAGE)):
            raise NotFound(f"no job {job_id[:64]!r} of {actor.name}")
        if found.status is JobStatus.RUNNING:
            quiet = self._store.now() - datetime.fromisoformat(found.updated_at)
            if quiet > timedelta(seconds=LOST_SECONDS):
                from dataclasses import replace

                return replace(found, status=JobStatus.LOST)
        return found
