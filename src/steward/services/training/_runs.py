"""Tracked runs: start, add to while running, finish (sealed and ledgered)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from steward.artifacts import ArtifactStore
from steward.domain import (
    Actor,
    MetricPoint,
    Permission,
    Run,
    RunFinished,
    RunStarted,
    RunStatus,
    run_content,
)
from steward.errors import InvalidInput, NotFound, PermissionDenied, Refused
from steward.ledger import canonical_bytes
from steward.services._access import require
from steward.services._records import content_hash, record_event
from steward.store import Draft, Store
from steward.types import utc_iso

__all__ = ["RunService"]


class RunService:
    """Runs belong to the identity that started them: only it may add to or finish them."""

    def __init__(self, store: Store, artifacts: ArtifactStore) -> None:
        self._store = store
        self._artifacts = artifacts

    def start(
        self,
        actor: Actor,
        name: str,
        *,
        parent_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        code: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
    ) -> Run:
        require(actor, Permission.RUN_WRITE, "start runs")
        if not name or len(name) > 255:
            raise InvalidInput("a run needs a name of 1-255 characters")
        checked_params = json_values(dict(params or {}), "parameter")
        checked_tags = text_tags(dict(tags or {}))
        with self._store.write(actor) as tx:
            if parent_id is not None and tx.run(parent_id) is None:
                raise NotFound(f"no run {parent_id!r} to be the parent")
            run = Run(
                id=uuid.uuid4().hex,
                name=name,
                parent_id=parent_id,
                status=RunStatus.RUNNING,
                actor=actor.name,
                started_at=utc_iso(tx.now),
                ended_at=None,
                params=checked_params,
                tags=checked_tags,
                code=code or {"git": None},
                environment=environment or {},
                inputs=(),
                artifacts={},
            )
            tx.add_run(run)
            started = RunStarted(run=run.id, name=name, parent=parent_id, code=run.code)
            record_event(tx, started, subject=f"run:{run.id}")
        return run

    def now(self) -> str:
        return utc_iso(self._store.now())

    def record(
        self,
        actor: Actor,
        name: str,
        *,
        parent_id: str,
        started_at: str,
        status: RunStatus,
        params: Mapping[str, Any],
        tags: Mapping[str, str],
        metrics: Sequence[tuple[str, float, int]],
        code: dict[str, Any],
        environment: dict[str, Any],
    ) -> Run:
        """Record a finished child run in one transaction (one ``run.finished`` event): how
        tuning trials are kept without a round of writes for every step they take."""
        require(actor, Permission.RUN_WRITE, "record runs")
        checked_params = json_values(dict(params), "parameter")
        checked_tags = text_tags(dict(tags))
        with self._store.write(actor) as tx:
            parent = tx.run(parent_id)
            if parent is None:
                raise NotFound(f"no run {parent_id!r} to be the parent")
            ended = utc_iso(tx.now)
            points = [
                MetricPoint(key, finite_metric(key, value), int(step), ended)
                for key, value, step in metrics
            ]
            run = Run(
                id=uuid.uuid4().hex,
                name=name,
                parent_id=parent_id,
                status=status,
                actor=actor.name,
                started_at=started_at,
                ended_at=ended,
                params=checked_params,
                tags=checked_tags,
                code=code,
                environment=environment,
                inputs=(),
                artifacts={},
            )
            digest = content_hash(run_content(run, points))
            run = replace(run, content_hash=digest)
            tx.add_run(run)
            tx.add_metrics(run.id, points)
            finished = RunFinished(
                run=run.id,
                status=status.value,
                metrics=len(points),
                inputs=(),
                artifacts={},
                content_hash=digest,
                name=name,
                parent=parent_id,
            )
            record_event(tx, finished, subject=f"run:{run.id}")
        return run

    def get(self, actor: Actor, run_id: str) -> Run:
        require(actor, Permission.RUN_READ, "read runs")
        with self._store.read() as reader:
            run = reader.run(run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r}")
        return run

    def named(self, actor: Actor, name: str) -> list[Run]:
        require(actor, Permission.RUN_READ, "read runs")
        with self._store.read() as reader:
            return reader.runs_named(name)

    def list_runs(
        self, actor: Actor, *, parent_id: str | None = None, limit: int | None = 100
    ) -> list[Run]:
        require(actor, Permission.RUN_READ, "read runs")
        with self._store.read() as reader:
            return reader.runs(parent_id=parent_id, limit=limit)

    def metrics(self, actor: Actor, run_id: str) -> list[MetricPoint]:
        require(actor, Permission.RUN_READ, "read runs")
        with self._store.read() as reader:
            return reader.run_metrics(run_id)

    # --- adding to a running run ---------------------------------------------------------

    def _draft(self, actor: Actor, run_id: str, tx: Draft) -> Run:
        require(actor, Permission.RUN_WRITE, "add to runs")
        run = tx.run(run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r}")
        if run.actor != actor.name:
            raise PermissionDenied(
                f"{actor.name} may not add to run {run_id}: it belongs to {run.actor}"
            )
        if run.status is not RunStatus.RUNNING:
            raise Refused(f"run {run_id} is {run.status.value}: finished runs do not change")
        return run

    def log_params(self, actor: Actor, run_id: str, params: Mapping[str, Any]) -> None:
        checked = json_values(dict(params), "parameter")
        with self._store.draft(actor) as tx:
            run = self._draft(actor, run_id, tx)
            changed = {k: v for k, v in checked.items() if run.params.get(k, v) != v}
            if changed:
                raise InvalidInput(
                    f"parameter(s) {', '.join(sorted(changed))} already logged with another "
                    "value: parameters are set once per run"
                )
            tx.update_run(run_id, {"params": {**run.params, **checked}})

    def set_tags(self, actor: Actor, run_id: str, tags: Mapping[str, str]) -> None:
        checked = text_tags(dict(tags))
        with self._store.draft(actor) as tx:
            run = self._draft(actor, run_id, tx)
            tx.update_run(run_id, {"tags": {**run.tags, **checked}})

    def log_metrics(
        self, actor: Actor, run_id: str, points: Sequence[tuple[str, float, int]]
    ) -> None:
        """Append ``(key, value, step)`` points; values must be finite numbers."""
        if not points:
            return
        with self._store.draft(actor) as tx:
            self._draft(actor, run_id, tx)
            when = utc_iso(tx.now)
            checked = [
                MetricPoint(key, finite_metric(key, value), int(step), when)
                for key, value, step in points
            ]
            tx.add_metrics(run_id, checked)

    def log_artifact(self, actor: Actor, run_id: str, path: Path, name: str | None = None) -> str:
        """Store a file in the artifact store under the run; returns its key."""
        if not path.is_file():
            raise InvalidInput(f"{path}: not a file")
        label = name or path.name
        with self._store.draft(actor) as tx:  # refused before anything is stored
            self._draft(actor, run_id, tx)
        key = self._artifacts.put_file(path)
        with self._store.draft(actor) as tx:
            run = self._draft(actor, run_id, tx)
            tx.update_run(run_id, {"artifacts": {**run.artifacts, label: key}})
        return key

    def attach_artifact(self, actor: Actor, run_id: str, label: str, key: str) -> None:
        """Record an artifact already in the store (``key``) under ``label`` in the run."""
        if not self._artifacts.exists(key):
            raise NotFound(f"artifact {key} is not in the store")
        with self._store.draft(actor) as tx:
            run = self._draft(actor, run_id, tx)
            tx.update_run(run_id, {"artifacts": {**run.artifacts, label: key}})

    def use_dataset(self, actor: Actor, run_id: str, ref: str, fingerprint: str) -> None:
        """Record that the run read dataset version ``ref`` (lineage)."""
        with self._store.draft(actor) as tx:
            run = self._draft(actor, run_id, tx)
            entry = {"dataset": ref, "fingerprint": fingerprint}
            if entry not in run.inputs:
                tx.update_run(run_id, {"inputs": [*run.inputs, entry]})

    def fail(self, actor: Actor, run_id: str, reason: str) -> Run:
        """Mark a run whose process died (killed, crashed machine) as failed: its owner's or
        an admin's act, sealed and ledgered like any finished run, with the reason."""
        if not reason.strip():
            raise InvalidInput("say why the run failed", details={"field": "reason"})
        return self.finish(actor, run_id, RunStatus.FAILED, reason=reason.strip())

    def finish(
        self,
        actor: Actor,
        run_id: str,
        status: RunStatus = RunStatus.FINISHED,
        *,
        reason: str | None = None,
    ) -> Run:
        """Seal the run: its content hash, metrics included, goes into the ledger."""
        if status is RunStatus.RUNNING:
            raise InvalidInput("a run finishes as finished or failed")
        if not (status is RunStatus.FAILED and actor.can(Permission.USER_MANAGE)):
            require(actor, Permission.RUN_WRITE, "finish runs")  # judged before the lookup
        with self._store.write(actor) as tx:
            run = tx.run(run_id)
            if run is None:
                raise NotFound(f"no run {run_id!r}")
            if run.actor != actor.name and not (
                status is RunStatus.FAILED and actor.can(Permission.USER_MANAGE)
            ):
                raise PermissionDenied(f"{actor.name} may not finish run {run_id}")
            if run.status is not RunStatus.RUNNING:
                raise Refused(f"run {run_id} is already {run.status.value}")
            metrics = tx.run_metrics(run_id)
            ended = replace(run, status=status, ended_at=utc_iso(tx.now))
            digest = content_hash(run_content(ended, metrics))
            tx.finish_run(run_id, status, ended.ended_at or "", digest)
            sealed = RunFinished(
                run=run_id,
                status=status.value,
                metrics=len(metrics),
                inputs=run.inputs,
                artifacts=run.artifacts,
                content_hash=digest,
                reason=reason or None,
                by=actor.name if reason else None,
            )
            record_event(tx, sealed, subject=f"run:{run_id}")
            finished = tx.run(run_id)
        assert finished is not None
        return finished


def finite_metric(key: Any, value: Any) -> float:
    if not isinstance(key, str) or not key or len(key) > 255:
        raise InvalidInput(f"invalid metric name {key!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput(f"metric {key!r} is {value!r}: only finite numbers")
    return number


def json_values(values: dict[str, Any], kind: str) -> dict[str, Any]:
    for key in values:
        if not isinstance(key, str) or not key or len(key) > 255:
            raise InvalidInput(f"invalid {kind} name {key!r}")
    try:
        canonical_bytes(values)
    except ValueError as exc:
        raise InvalidInput(f"{kind} values must be JSON values: {exc}") from None
    return values


def text_tags(tags: dict[str, Any]) -> dict[str, str]:
    for key, value in tags.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise InvalidInput(f"tag {key!r}: tags are text keys with text values")
    return tags
