"""Tracked runs: parameters, metrics, tags, artifacts, inputs, code and environment."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["MetricPoint", "Run", "RunStatus", "run_content"]


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class MetricPoint:
    key: str
    value: float
    step: int
    timestamp: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "step": self.step,
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True, slots=True)
class Run:
    """A unit of tracked work. While running it is a draft its owner adds to; finishing seals
    it: ``content_hash`` (of everything, metrics included) goes into the ledger."""

    id: str
    name: str
    parent_id: str | None
    status: RunStatus
    actor: str
    started_at: str
    ended_at: str | None
    params: dict[str, Any]
    tags: dict[str, str]
    code: dict[str, Any]
    environment: dict[str, Any]
    inputs: tuple[dict[str, Any], ...]
    artifacts: dict[str, str]
    content_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The run's JSON document (its metrics are values of their own, ``MetricPoint``);
        ``content_hash`` is ``None`` until the run is sealed."""
        return {
            "id": self.id,
            "name": self.name,
            "parent_id": self.parent_id,
            "status": self.status.value,
            "actor": self.actor,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "params": self.params,
            "tags": self.tags,
            "code": self.code,
            "environment": self.environment,
            "inputs": list(self.inputs),
            "artifacts": self.artifacts,
            "content_hash": self.content_hash,
        }


def run_content(run: Run, metrics: list[MetricPoint]) -> dict[str, Any]:
    """What a finished run's hash covers."""
    return {
        "actor": run.actor,
        "artifacts": run.artifacts,
        "code": run.code,
        "ended_at": run.ended_at,
        "environment": run.environment,
        "id": run.id,
        "inputs": list(run.inputs),
        "metrics": [m.to_dict() for m in metrics],
        "name": run.name,
        "params": run.params,
        "parent_id": run.parent_id,
        "started_at": run.started_at,
        "status": run.status.value,
        "tags": run.tags,
    }
