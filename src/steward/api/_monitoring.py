"""``/api/v1`` monitors and their alerts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from steward.api._common import CALLER, PAGE, Caller, PageQuery, answer, page, permission
from steward.errors import InvalidInput

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
