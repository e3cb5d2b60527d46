"""Long operations over the API as jobs: ``202 Accepted`` at once with the job, the work
done on a thread of this process as the caller, its progress and outcome reported through
the job service (the store), so ``GET /api/v1/jobs/{id}`` answers from any process.

Progress is a document of bars, ``{bar: {"description", "done", "total", ...}}``, written
at most every ``FLUSH_SECONDS`` and at least every ``HEARTBEAT_SECONDS`` (a job whose
process stops reporting is answered ``lost``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from steward.api._common import CALLER, Caller, answer, permission
from steward.errors import InternalError, StewardError

__all__ = ["JobProgress", "JobRunner", "router"]

FLUSH_SECONDS = 0.5
_log = logging.getLogger("steward.api")

router = APIRouter(tags=["jobs"])


class JobProgress:
    """The bars of one job, flushed to the store as they move."""

    def __init__(self, jobs: Any, job_id: str, heartbeat: float) -> None:
        self._jobs = jobs
        self._id = job_id
        self._lock = threading.Lock()
        self._last = 0.0
        self._stop = threading.Event()
        self.bars: dict[str, dict[str, Any]] = {}
        self._beat = threading.Thread(target=self._heartbeat, args=(heartbeat,), daemon=True)
        self._beat.start()

    def move(self, bar: str, **fields: Any) -> None:
        with self._lock:
            self.bars[bar] = {**self.bars.get(bar, {}), **fields}
            due = time.monotonic() - self._last >= FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            document = {bar: dict(fields) for bar, fields in self.bars.items()}
            self._last = time.monotonic()
        self._jobs.report(self._id, document)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {bar: dict(fields) for bar, fields in self.bars.items()}

    def _heartbeat(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.flush()
            except Exception:  # the store is away: the next beat tries again
                _log.warning("job %s: could not report progress", self._id)

    def stop(self) -> None:
        self._stop.set()


class JobRunner:
    """The threads of one process that run its jobs (two: a training and a check run)."""

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="steward-job")

    def submit(self, call: Caller, kind: str, work: Callable[[JobProgress], Any]) -> Response:
        """Start ``work(progress)`` as a job of ``call``'s actor; its return value (a JSON
        document) is the job's result, a ``StewardError`` it raises the job's error."""
        from steward.services.jobs._service import HEARTBEAT_SECONDS

        jobs = call.app.jobs
        job = jobs.start(call.actor, kind)
        progress = JobProgress(jobs, job.id, HEARTBEAT_SECONDS)

        def run() -> None:
            try:
                result = work(progress)
            except StewardError as exc:
                jobs.fail(job.id, progress.snapshot(), exc.to_dict())
            except Exception as exc:  # a fault of the server: say so, keep serving
                _log.exception("job %s (%s) failed", job.id, kind)
                fault = InternalError(f"the job failed: {type(exc).__name__}")
                jobs.fail(job.id, progress.snapshot(), fault.to_dict())
            else:
                jobs.succeed(job.id, progress.snapshot(), result)
            finally:
                progress.stop()

        self._pool.submit(run)
        location = {"Location": f"/api/v1/jobs/{job.id}"}
        return answer({"job": job.to_dict()}, 202, headers=location)

    def shutdown(self, timeout: float = 60.0) -> None:
        """Start no queued job; let running ones finish for up to ``timeout`` seconds (a job
        still running then is answered ``lost`` once its heartbeat stops)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + timeout
        for thread in list(getattr(self._pool, "_threads", ())):
            thread.join(max(0.0, deadline - time.monotonic()))


@router.get(
    "/jobs/{job_id}",
    summary="A job the caller started: its progress, then its result or error",
    openapi_extra=permission(None),
)
def job(job_id: str, call: Caller = CALLER) -> Response:
    return answer(call.app.jobs.get(call.actor, job_id).to_dict())
