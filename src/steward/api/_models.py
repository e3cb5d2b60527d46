"""``/api/v1`` models: cards (edited with ``If-Match``), versions, lineage, evidence.

A version is addressed as ``/models/{name}/versions/{selector}``: ``N``, ``latest`` or a
stage (``production``), the parts of the CLI's ``NAME@SELECTOR``.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from steward.api._common import (
    ARROW_STREAM,
    CALLER,
    PAGE,
    Caller,
    PageQuery,
    answer,
    arrow_answer,
    page,
    permission,
)
from steward.domain import Permission

__all__ = ["router", "version_ref"]

router = APIRouter(tags=["models"])


def version_ref(name: str, selector: str) -> str:
    return f"{name}@{selector}"


class CardChanges(BaseModel):
    """The fields to change; ``tags`` maps a tag to its new value, ``null`` to remove it."""

    owner: str | None = Field(None, max_length=200)
    risk_tier: str | None = Field(None, max_length=20)
    description: str | None = Field(None, max_length=20_000)
    intended_use: str | None = Field(None, max_length=20_000)
    limitations: str | None = Field(None, max_length=20_000)
    tags: dict[str, str | None] | None = Field(None, max_length=200)


def _etag(card_hash: str) -> dict[str, str]:
    return {"ETag": f'"{card_hash}"'}


@router.get("/models", summary="Every model's card", openapi_extra=permission("model:read"))
def models(query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    return page(call.app.models.list_models(call.actor), query, identity=lambda model: model.name)


@router.get(
    "/models/{name}",
    summary="A model's card; its ETag is the card's hash",
    openapi_extra=permission("model:read"),
)
def model(name: str, call: Caller = CALLER) -> Response:
    card = call.app.models.model(call.actor, name)
    return answer(card.to_dict(), headers=_etag(card.content_hash))


@router.patch(
    "/models/{name}",
    summary="Edit a model's card, its owner's alone (If-Match: the ETag read)",
    openapi_extra=permission("model:write|card:manage"),
)
def update_model(
    name: str,
    changes: CardChanges,
    if_match: str | None = Header(None, max_length=200),
    call: Caller = CALLER,
) -> Response:
    given: dict[str, Any] = changes.model_dump(exclude_unset=True)
    expected = if_match.strip().removeprefix("W/").strip('"') if if_match else None
    card = call.app.models.update(call.actor, name, given, if_match=expected)
    return answer(card.to_dict(), headers=_etag(card.content_hash))


@router.get(
    "/models/{name}/versions",
    summary="A model's versions, oldest first",
    openapi_extra=permission("model:read"),
)
def versions(name: str, query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    found = call.app.models.versions(call.actor, name)
    return page(found, query, identity=lambda item: item.ref)


@router.get(
    "/models/{name}/versions/{selector}",
    summary="A model version: signature, metrics, datasets, split, artifact, stage",
    openapi_extra=permission("model:read"),
)
def version(name: str, selector: str, request: Request, call: Caller = CALLER) -> Response:
    ref = version_ref(name, selector)
    return request.app.state.api_answers.answer(  # type: ignore[no-any-return]
        call,
        ("version", ref),
        Permission.MODEL_READ,
        lambda: call.app.models.get(call.actor, ref).to_dict(),
    )


@router.get(
    "/models/{name}/versions/{selector}/lineage",
    summary="Where a version came from: run, trials, datasets, split, ledger events",
    openapi_extra=permission("model:read"),
)
def lineage(name: str, selector: str, call: Caller = CALLER) -> Response:
    return answer(call.app.models.lineage(call.actor, version_ref(name, selector)))


@router.get(
    "/models/{name}/versions/{selector}/evidence",
    summary="A version's evidence records",
    openapi_extra=permission("model:read"),
)
def evidence(name: str, selector: str, query: PageQuery = PAGE, call: Caller = CALLER) -> Response:
    found = call.app.evidence.list_evidence(call.actor, version_ref(name, selector))
    return page(found, query, identity=lambda item: item.id)


@router.get(
    "/models/{name}/versions/{selector}/evidence/{evidence_id}/files/{file}",
    summary="A file an evidence record stored (a plot, a table), hash-checked",
    openapi_extra=permission("model:read"),
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def evidence_file(
    name: str, selector: str, evidence_id: str, file: str, call: Caller = CALLER
) -> Response:
    data = call.app.evidence.artifact(
        call.actor, version_ref(name, selector), evidence_id[:128], file[:256]
    )
    kind = mimetypes.guess_type(file)[0] or "application/octet-stream"
    return Response(data, media_type=kind, headers={"Content-Disposition": "attachment"})


@router.get(
    "/checks",
    summary="The evidence checks installed where the server runs",
    openapi_extra=permission(None),
)
def checks(call: Caller = CALLER) -> Response:
    return answer({"items": call.app.evidence.installed(), "next": None})


@router.get(
    "/models/{name}/versions/{selector}/artifact",
    summary="A version's model file (its sha256 is the version's artifact key)",
    openapi_extra=permission("model:read"),
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def artifact(
    name: str, selector: str, trust_pickle: bool = False, call: Caller = CALLER
) -> Response:
    """A pickle is handed out only with ``trust_pickle=true``, which the ledger records."""
    found, data = call.app.models.artifact(
        call.actor, version_ref(name, selector), trust_pickle=trust_pickle
    )
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"X-Steward-Artifact": found.artifact, "X-Steward-Format": found.format},
    )


@router.get(
    "/models/{name}/versions/{selector}/splits/{part}",
    summary="The rows of a part of a version's split (Arrow IPC stream)",
    openapi_extra=permission("model:read"),
    responses={200: {"content": {ARROW_STREAM: {}}}},
)
def split(name: str, selector: str, part: str, call: Caller = CALLER) -> Response:
    _, rows = call.app.models.split_rows(call.actor, version_ref(name, selector), part[:40])
    return arrow_answer(rows)
