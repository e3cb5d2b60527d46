"""``/api/v1`` endpoints: deployments as governed states, canaries, rollback, stop, resume."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from steward.api._common import CALLER, PAGE, Caller, PageQuery, answer, page, permission

__all__ = ["router"]

router = APIRouter(tags=["endpoints"])


class NewDeployment(BaseModel):
    ref: str = Field(max_length=200, description="The version: NAME@N.")
    canary: int | None = Field(None, description="Percent of traffic for REF beside the current.")
    promote_canary: bool = False
    stage: str | None = Field(None, max_length=40, description="A new endpoint's stage.")


class Reason(BaseModel):
    reason: str = Field(max_length=20_000)


@router.get(
    "/endpoints",
    summary="Every endpoint's current state",
    openapi_extra=permission("model:read"),
)
def endpoints(query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    found = call.app.deployments.list_endpoints(call.actor)
    return page(found, query, identity=lambda state: state.endpoint)


@router.get(
    "/endpoints/{name}",
    summary="What an endpoint is deployed to serve and what it may serve now",
    openapi_extra=permission("model:read"),
)
def endpoint(name: str, call: Caller = CALLER) -> Response:
    return answer(call.app.deployments.plan(call.actor, name).to_dict())


@router.get(
    "/endpoints/{name}/history",
    summary="Every state of an endpoint, oldest first",
    openapi_extra=permission("model:read"),
)
def history(name: str, query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    found = call.app.deployments.history(call.actor, name)
    return page(found, query, identity=lambda state: state.id)


@router.get(
    "/endpoints/{name}/at",
    summary="What an endpoint served at a time",
    openapi_extra=permission("model:read"),
)
def at(name: str, time: str = Query(..., max_length=64), call: Caller = CALLER) -> Response:
    return answer(call.app.deployments.at(call.actor, name, time))


@router.post(
    "/endpoints/{name}/deployments",
    summary="Deploy a version through the gate of the endpoint's stage (409 if it fails)",
    openapi_extra=permission("model:deploy"),
)
def deploy(name: str, body: NewDeployment, call: Caller = CALLER) -> Response:
    state, changed = call.app.deployments.deploy(
        call.actor,
        body.ref,
        name,
        canary=body.canary,
        promote_canary=body.promote_canary,
        stage=body.stage,
    )
    return answer({"deployment": state.to_dict(), "changed": changed}, 201 if changed else 200)


@router.post(
    "/endpoints/{name}/rollback",
    summary="Restore the previous state in one ledgered step",
    openapi_extra=permission("model:deploy"),
)
def rollback(name: str, call: Caller = CALLER) -> Response:
    return answer(call.app.deployments.rollback(call.actor, name).to_dict())


@router.post(
    "/endpoints/{name}/stop",
    summary="Stop serving an endpoint (503 with the reason)",
    openapi_extra=permission("model:deploy"),
)
def stop(name: str, body: Reason, call: Caller = CALLER) -> Response:
    return answer(call.app.deployments.stop(call.actor, name, body.reason).to_dict())


@router.post(
    "/endpoints/{name}/resume",
    summary="Serve a stopped endpoint again (its gates must pass)",
    openapi_extra=permission("model:deploy"),
)
def resume(name: str, call: Caller = CALLER) -> Response:
    return answer(call.app.deployments.resume(call.actor, name).to_dict())
