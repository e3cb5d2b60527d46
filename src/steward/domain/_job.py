"""Jobs: long operations asked for over the API (a training, a check run), as they go."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Job", "JobStatus"]


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    LOST = "lost"  # its process stopped reporting (ended or killed) before it finished


@dataclass(frozen=True, slots=True)
class Job:
    """Job ``id`` of kind ``kind`` asked for by ``actor``: ``progress`` is what it last
    reported (its bars: description, done, total), ``result`` the document of what it
    returned, ``error`` the error body of what it raised; ``worker`` the process running it
    (host and pid)."""

    id: str
    kind: str
    actor: str
    status: JobStatus
    progress: dict[str, Any]
    worker: str
    created_at: str
    updated_at: str
    result: Any = None
    error: dict[str, Any] | None = field(default=None)

    @property
    def done(self) -> bool:
        return self.status is not JobStatus.RUNNING

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "actor": self.actor,
            "status": self.status.value,
            "progress": self.progress,
            "result": self.result,
            "error": self.error,
            "worker": self.worker,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
