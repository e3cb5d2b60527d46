"""``/api/v1`` webhooks: subscriptions, deliveries."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from steward.api._common import CALLER, PAGE, Caller, PageQuery, answer, page, permission

__all__ = ["router"]

router = APIRouter(tags=["webhooks"])


class NewWebhook(BaseModel):
    url: str = Field(max_length=2_000)
    events: list[str] = Field(default_factory=list, max_length=50)


@router.get(
    "/webhooks", summary="Webhooks (no secrets)", openapi_extra=permission("webhook:manage")
)
def webhooks(query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    found = call.app.webhooks.list_webhooks(call.actor)
    return page(found, query, identity=lambda hook: hook.id)


@router.post(
    "/webhooks",
    status_code=201,
    summary="Subscribe a URL; its signing secret is answered once",
    openapi_extra=permission("webhook:manage"),
)
def add(body: NewWebhook, call: Caller = CALLER) -> Response:
    hook = call.app.webhooks.add(call.actor, body.url, body.events)
    return answer({**hook.to_dict(), "secret": hook.secret}, 201)


@router.delete(
    "/webhooks/{hook_id}",
    status_code=204,
    summary="Stop notifying a webhook",
    openapi_extra=permission("webhook:manage"),
)
def remove(hook_id: str, call: Caller = CALLER) -> Response:
    call.app.webhooks.remove(call.actor, hook_id[:200])
    return Response(status_code=204)


@router.get(
    "/webhooks/deliveries",
    summary="The delivery log",
    openapi_extra=permission("webhook:manage"),
)
def deliveries(query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    found = call.app.webhooks.log(call.actor)
    return page(found, query, identity=lambda delivery: delivery.id)


@router.post(
    "/webhooks/deliveries",
    summary="Send the notifications that are due",
    openapi_extra=permission("webhook:manage"),
)
def deliver(call: Caller = CALLER) -> Response:
    return answer({"items": [d.to_dict() for d in call.app.webhooks.deliver(call.actor)]})
