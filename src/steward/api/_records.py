"""``/api/v1`` records kept where the server runs: the prediction log (read, labelled) and
the ledger's export; and monitor runs, which read that log (jobs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from steward.api._common import (
    ARROW_STREAM,
    CALLER,
    Caller,
    answer,
    arrow_answer,
    file_answer,
    permission,
)
from steward.api._jobs import JobProgress
from steward.services import retention_to_keep

__all__ = ["router"]

router = APIRouter(tags=["records"])


class FromPredictions(BaseModel):
    name: str = Field(max_length=200, description="The dataset to register a version of.")
    base: str | None = Field(None, max_length=200)
    since: str | None = Field(None, max_length=64)
    until: str | None = Field(None, max_length=64)


class Retrain(BaseModel):
    name: str = Field(max_length=200, description="The model (or NAME@N: its champion).")
    dataset: str | None = Field(None, max_length=200)
    trials: int = Field(0, ge=0, le=100_000)
    alert: str | None = Field(None, max_length=64)
    code: dict[str, Any] | None = None


class Labels(BaseModel):
    labels: list[dict[str, Any]] = Field(max_length=100_000)


@router.get(
    "/endpoints/{name}/predictions",
    summary="An endpoint's logged predictions, PII keyed-hashed (Arrow IPC stream)",
    openapi_extra=permission("prediction:read"),
    responses={200: {"content": {ARROW_STREAM: {}}}},
)
def predictions(
    name: str,
    since: str | None = Query(None, max_length=64),
    until: str | None = Query(None, max_length=64),
    labels: bool = True,
    call: Caller = CALLER,
) -> Response:
    frame = call.app.predictions.read(call.actor, name, since=since, until=until, labels=labels)
    return arrow_answer(frame.to_arrow())


@router.post(
    "/endpoints/{name}/labels",
    summary="Attach ground-truth labels by request id (idempotent; unknown ids reported)",
    openapi_extra=permission("prediction:label"),
)
def label(name: str, body: Labels, call: Caller = CALLER) -> Response:
    return answer(call.app.predictions.label(call.actor, name, body.labels))


class Prune(BaseModel):
    retention_days: int = Field(ge=0, le=36_500, description="Keep this many days.")


@router.post(
    "/predictions/prunings",
    summary="Delete prediction records older than the retention (whole sealed segments), "
    "ledgered as one event",
    openapi_extra=permission("model:deploy"),
)
def prune(body: Prune, call: Caller = CALLER) -> Response:
    required = call.app.deployments.retention_days(call.actor)
    days = retention_to_keep(required, body.retention_days)
    return answer({"segments": call.app.predictions.prune(call.actor, days)})


@router.get(
    "/predictions/retention",
    summary="The days of predictions the policies governing every version ever served "
    "require to be kept",
    openapi_extra=permission("model:read"),
)
def retention(call: Caller = CALLER) -> Response:
    return answer({"retention_days": call.app.deployments.retention_days(call.actor)})


@router.post(
    "/monitors/{name}/runs",
    status_code=202,
    summary="Run a monitor now where the server runs (its log): a job",
    openapi_extra=permission("monitor:run"),
)
def run_monitor(name: str, request: Request, call: Caller = CALLER) -> Response:
    call.app.monitoring.admit_run(call.actor, name)

    def work(progress: JobProgress) -> Any:
        def moved(step: str, done: int, total: int) -> None:
            progress.move("checks", description=step, check=step, done=done, total=total)

        return call.app.monitoring.run(call.actor, name, progress=moved).to_dict()

    return request.app.state.api_jobs.submit(call, "monitor", work)  # type: ignore[no-any-return]


@router.get(
    "/audit/export",
    summary="The ledger's export (JSON lines, with the signed head), for offline verification",
    openapi_extra=permission("audit:export"),
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def export(call: Caller = CALLER) -> Response:
    def write(folder: Path) -> tuple[Path, dict[str, str]]:
        summary = call.app.audit.export(call.actor, folder / "ledger.jsonl")
        return summary.path, {
            "X-Steward-Events": str(summary.events),
            "X-Steward-Root": summary.root_hash,
            "X-Steward-Key": summary.key_id,
        }

    return file_answer(write, "application/x-ndjson", "steward-export-")


@router.post(
    "/endpoints/{name}/datasets",
    status_code=201,
    summary="Register an endpoint's labelled predictions as a dataset version",
    openapi_extra=permission("dataset:write"),
)
def from_predictions(name: str, body: FromPredictions, call: Caller = CALLER) -> Response:
    result = call.app.retraining.from_predictions(
        call.actor, name, name=body.name, base=body.base, since=body.since, until=body.until
    )
    return answer(result.to_dict(), 201 if result.created else 200)


@router.post(
    "/retraining",
    status_code=202,
    summary="Train a challenger with the champion's recipe and compare them: a job",
    openapi_extra=permission("model:write"),
)
def retrain(body: Retrain, request: Request, call: Caller = CALLER) -> Response:
    from steward.api._work import check_mover, trial_mover
    from steward.provenance import capture_environment

    call.app.retraining.admit(call.actor, body.name)

    def work(progress: JobProgress) -> Any:
        done = call.app.retraining.retrain(
            call.actor,
            body.name,
            dataset=body.dataset,
            trials=body.trials,
            alert=body.alert,
            code=body.code,
            environment=capture_environment(),
            progress=trial_mover(progress),
            check_progress=check_mover(progress),
        )
        return {**done.to_dict(), "champion_version": done.champion.to_dict()}

    return request.app.state.api_jobs.submit(call, "retraining", work)  # type: ignore[no-any-return]
