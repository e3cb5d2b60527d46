"""API jobs are working state: kept a week after their last report, then forgotten when a
new job starts (the table does not grow for ever), on both backends."""

from __future__ import annotations

from datetime import timedelta

from steward.domain import Actor, Job, JobStatus, Role
from steward.services.jobs._service import KEEP_DAYS, JobService
from steward.store import Store
from steward.types import utc_iso

DANA = Actor(user_id=1, name="dana", roles=frozenset({Role.DATA_SCIENTIST}))


def _job(store: Store, job_id: str, days_ago: float, status: JobStatus) -> None:
    at = utc_iso(store.now() - timedelta(days=days_ago))
    store.add_job(Job(job_id, "training", "dana", status, {}, "elsewhere:1", at, at))


def test_a_new_job_forgets_the_jobs_last_updated_over_a_week_ago(empty_store: Store) -> None:
    _job(empty_store, "a" * 32, KEEP_DAYS + 1, JobStatus.SUCCEEDED)
    _job(empty_store, "b" * 32, KEEP_DAYS + 30, JobStatus.RUNNING)  # long lost
    _job(empty_store, "c" * 32, KEEP_DAYS - 1, JobStatus.FAILED)
    started = JobService(empty_store).start(DANA, "tuning")
    assert empty_store.job("a" * 32) is None and empty_store.job("b" * 32) is None
    kept = empty_store.job("c" * 32)
    assert kept is not None and kept.status is JobStatus.FAILED
    assert JobService(empty_store).get(DANA, started.id).status is JobStatus.RUNNING
