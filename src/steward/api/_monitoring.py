"""``/api/v1`` monitors and their alerts, a version's monitoring reference, label-free
estimates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from steward.api._common import (
    ARROW_STREAM,
    CALLER,
    PAGE,
    Caller,
    PageQuery,
    answer,
    page,
    permission,
)
from steward.api._models import version_ref
from steward.errors import InvalidInput, NotFound, UsageError

__all__ = ["router"]

router = APIRouter(tags=["monitoring"])


class Note(BaseModel):
    note: str = Field(max_length=20_000)


class MonitorText(BaseModel):
    """The monitor as YAML (``text``, as ``monitor apply`` reads a file) or as a document
    (``document``, as ``monitor add`` builds one)."""

    text: str | None = Field(None, max_length=1_000_000, description="The monitor's YAML.")
    document: dict[str, Any] | None = None
    source: str = Field("<api>", max_length=500)


@router.get("/monitors", summary="Every monitor", openapi_extra=permission("model:read"))
def monitors(query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    found = call.app.monitoring.list_monitors(call.actor)
    return page(found, query, identity=lambda monitor: monitor.name)


@router.post(
    "/monitors",
    summary="Apply a monitor document (a new version when it changed)",
    openapi_extra=permission("monitor:manage"),
)
def apply_monitor(body: MonitorText, call: Caller = CALLER) -> Response:
    if (body.text is None) == (body.document is None):
        raise InvalidInput("give the monitor as 'text' (YAML) or as 'document', one of them")
    if body.text is not None:
        monitor, changed = call.app.monitoring.apply(call.actor, body.text, body.source)
    else:
        monitor, changed = call.app.monitoring.add(call.actor, body.document or {})
    return answer({"monitor": monitor.to_dict(), "changed": changed}, 201 if changed else 200)


@router.get(
    "/models/{name}/versions/{selector}/reference",
    summary="A version's monitoring reference (evidence), when one was recorded",
    openapi_extra=permission("model:read"),
)
def reference(name: str, selector: str, call: Caller = CALLER) -> Response:
    ref = version_ref(name, selector)
    found = call.app.monitoring.stored_reference(call.actor, ref)
    if found is None:
        raise NotFound(f"{ref} has no monitoring reference yet")
    return answer(found.to_dict())


@router.post(
    "/models/{name}/versions/{selector}/reference",
    summary="Build and record a version's monitoring reference (the one recorded, if any)",
    openapi_extra=permission("evidence:write"),
)
def build_reference(name: str, selector: str, call: Caller = CALLER) -> Response:
    ref = version_ref(name, selector)
    call.app.monitoring.admit_reference(call.actor, ref)
    return answer(call.app.monitoring.reference(call.actor, ref).to_dict())


@router.post(
    "/models/{name}/versions/{selector}/estimates",
    summary="The label-free estimate of a version on the inputs sent (an Arrow IPC stream); "
    "recorded nowhere",
    openapi_extra={
        **permission("model:read"),
        "requestBody": {
            "required": True,
            "content": {ARROW_STREAM: {"schema": {"type": "string"}}},
        },
    },
)
async def estimate(name: str, selector: str, request: Request, call: Caller = CALLER) -> Response:
    if request.headers.get("content-type", "") != ARROW_STREAM:
        raise UsageError(f"the inputs are sent as an Arrow IPC stream ({ARROW_STREAM})")
    data = await request.body()  # at most the API's body limit
    return answer(await run_in_threadpool(_estimate, call, version_ref(name, selector), data))


def _estimate(call: Caller, ref: str, data: bytes) -> dict[str, Any]:
    import pyarrow as pa

    try:
        rows = pa.ipc.open_stream(data).read_pandas()
    except (pa.ArrowException, ValueError, OSError):  # pyarrow raises all three
        raise InvalidInput("the body is not an Arrow IPC stream of the version's inputs") from None
    return call.app.monitoring.estimate(call.actor, ref, rows)


@router.get("/monitors/{name}", summary="A monitor", openapi_extra=permission("model:read"))
def monitor(name: str, call: Caller = CALLER) -> Response:
    return answer(call.app.monitoring.get(call.actor, name).to_dict())


@router.get(
    "/monitors/{name}/runs",
    summary="A monitor's recorded runs (evidence), oldest first",
    openapi_extra=permission("model:read"),
)
def runs(name: str, query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    found = call.app.monitoring.runs(call.actor, name)
    return page(found, query, identity=lambda record: record.id)


@router.get("/alerts", summary="Monitoring alerts", openapi_extra=permission("model:read"))
def alerts(
    status: str | None = Query(None, max_length=40),
    endpoint: str | None = Query(None, max_length=200),
    query: PageQuery = PAGE,
    call: Caller = CALLER,
) -> Response:
    found = call.app.alerts.alerts(call.actor, status=status, endpoint=endpoint)
    return page(found, query, identity=lambda alert: alert.id)


@router.get("/alerts/{alert_id}", summary="An alert", openapi_extra=permission("model:read"))
def alert(alert_id: str, call: Caller = CALLER) -> Response:
    return answer(call.app.alerts.alert(call.actor, alert_id[:200]).to_dict())


@router.post(
    "/alerts/{alert_id}/acknowledge",
    summary="Acknowledge an open alert",
    openapi_extra=permission("alert:manage"),
)
def acknowledge(alert_id: str, body: Note, call: Caller = CALLER) -> Response:
    return answer(call.app.alerts.acknowledge(call.actor, alert_id[:200], body.note).to_dict())


@router.post(
    "/alerts/{alert_id}/resolve",
    summary="Resolve an alert",
    openapi_extra=permission("alert:manage"),
)
def resolve(alert_id: str, body: Note, call: Caller = CALLER) -> Response:
    return answer(call.app.alerts.resolve(call.actor, alert_id[:200], body.note).to_dict())
