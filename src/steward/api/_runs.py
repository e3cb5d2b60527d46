"""``/api/v1`` runs: tracked work, as the SDK's ``start_run`` records it from anywhere."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from steward.api._common import CALLER, PAGE, Caller, PageQuery, answer, page, permission
from steward.errors import InvalidInput, PayloadTooLarge, UsageError

__all__ = ["router"]

router = APIRouter(tags=["runs"])
MAX_RUN_ARTIFACT_BYTES = 256 << 20


class NewRun(BaseModel):
    name: str = Field(max_length=255)
    parent_id: str | None = Field(None, max_length=64)
    params: dict[str, Any] | None = None
    tags: dict[str, str] | None = None
    code: dict[str, Any] | None = None
    environment: dict[str, Any] | None = None


class Params(BaseModel):
    params: dict[str, Any]


class Tags(BaseModel):
    tags: dict[str, str]


class Points(BaseModel):
    points: list[tuple[str, float, int]] = Field(max_length=100_000)


class UsedDataset(BaseModel):
    ref: str = Field(max_length=200)
    fingerprint: str = Field(max_length=128)


class Ending(BaseModel):
    status: str = Field("finished", max_length=20)
    reason: str | None = Field(None, max_length=20_000)


def _run_id(run_id: str) -> str:
    return run_id[:64]


@router.get("/runs", summary="Runs, newest first", openapi_extra=permission("run:read"))
def runs(
    parent_id: str | None = Query(None, max_length=64),
    name: str | None = Query(None, max_length=255),
    query: PageQuery = PAGE,
    call: Caller = CALLER,
) -> Response:
    found = (
        call.app.runs.named(call.actor, name)
        if name is not None
        else call.app.runs.list_runs(call.actor, parent_id=parent_id, limit=None)
    )
    return page(found, query, identity=lambda run: run.id)


@router.post("/runs", status_code=201, summary="Start a run", openapi_extra=permission("run:write"))
def start(body: NewRun, call: Caller = CALLER) -> Response:
    run = call.app.runs.start(
        call.actor,
        body.name,
        parent_id=body.parent_id,
        params=body.params,
        tags=body.tags,
        code=body.code,
        environment=body.environment,
    )
    return answer(run.to_dict(), 201)


@router.get("/runs/{run_id}", summary="A run", openapi_extra=permission("run:read"))
def run(run_id: str, call: Caller = CALLER) -> Response:
    return answer(call.app.runs.get(call.actor, _run_id(run_id)).to_dict())


@router.get(
    "/runs/{run_id}/metrics", summary="A run's metric points", openapi_extra=permission("run:read")
)
def metrics(run_id: str, query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    found = call.app.runs.metrics(call.actor, _run_id(run_id))
    return page(found, query, identity=lambda point: f"{point.key}\x00{point.step}")


@router.post(
    "/runs/{run_id}/params",
    status_code=204,
    summary="Log parameters (the run's owner, while it runs)",
    openapi_extra=permission("run:write"),
)
def log_params(run_id: str, body: Params, call: Caller = CALLER) -> Response:
    call.app.runs.log_params(call.actor, _run_id(run_id), body.params)
    return Response(status_code=204)


@router.post(
    "/runs/{run_id}/tags",
    status_code=204,
    summary="Set tags (the run's owner, while it runs)",
    openapi_extra=permission("run:write"),
)
def set_tags(run_id: str, body: Tags, call: Caller = CALLER) -> Response:
    call.app.runs.set_tags(call.actor, _run_id(run_id), body.tags)
    return Response(status_code=204)


@router.post(
    "/runs/{run_id}/metrics",
    status_code=204,
    summary="Log metric points (key, value, step)",
    openapi_extra=permission("run:write"),
)
def log_metrics(run_id: str, body: Points, call: Caller = CALLER) -> Response:
    call.app.runs.log_metrics(call.actor, _run_id(run_id), body.points)
    return Response(status_code=204)


@router.post(
    "/runs/{run_id}/datasets",
    status_code=204,
    summary="Record that the run read a dataset version",
    openapi_extra=permission("run:write"),
)
def use_dataset(run_id: str, body: UsedDataset, call: Caller = CALLER) -> Response:
    call.app.runs.use_dataset(call.actor, _run_id(run_id), body.ref, body.fingerprint)
    return Response(status_code=204)


@router.post(
    "/runs/{run_id}/artifacts",
    status_code=201,
    summary="Store a file with the run (the body), under a name",
    openapi_extra={
        "x-steward-permission": "run:write",
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        },
    },
)
async def log_artifact(
    run_id: str, request: Request, name: str = Query(..., max_length=255), call: Caller = CALLER
) -> Response:
    import tempfile
    from pathlib import Path

    if request.headers.get("content-type", "") != "application/octet-stream":
        raise UsageError("a run's file is sent as application/octet-stream")
    safe = Path(name).name or "artifact"
    with tempfile.TemporaryDirectory(prefix="steward-run-") as folder:
        path = Path(folder) / safe
        size = 0
        with path.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_RUN_ARTIFACT_BYTES:
                    raise PayloadTooLarge(
                        f"a run's file is at most {MAX_RUN_ARTIFACT_BYTES >> 20} MiB"
                    )
                out.write(chunk)
        key = await run_in_threadpool(
            call.app.runs.log_artifact, call.actor, _run_id(run_id), path, name
        )
    return answer({"key": key}, 201)


class Failure(BaseModel):
    reason: str = Field(max_length=20_000)


@router.post(
    "/runs/{run_id}/end",
    summary="End a run as finished or failed (its owner): sealed and ledgered",
    openapi_extra=permission("run:write"),
)
def end(run_id: str, body: Ending, call: Caller = CALLER) -> Response:
    from steward.domain import RunStatus

    try:
        status = RunStatus(body.status)
    except ValueError:
        raise InvalidInput(
            f"unknown run status {body.status[:40]!r}", details={"field": "status"}
        ) from None
    ended = call.app.runs.finish(call.actor, _run_id(run_id), status, reason=body.reason)
    return answer(ended.to_dict())


@router.post(
    "/runs/{run_id}/fail",
    summary="Mark a run whose process died as failed (its owner or an admin), with why",
    openapi_extra=permission("run:write|user:manage"),
)
def fail(run_id: str, body: Failure, call: Caller = CALLER) -> Response:
    return answer(call.app.runs.fail(call.actor, _run_id(run_id), body.reason).to_dict())
