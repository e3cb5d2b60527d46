"""``/api/v1`` audit: the ledger's events, its signed head, inclusion proofs, verification.

Verification runs where the server runs, with the server home's trusted key and witness; an
outsider's check needs no server at all (``steward audit export`` and the offline verifier).
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from steward.api._common import CALLER, Caller, answer, permission

__all__ = ["router"]

router = APIRouter(tags=["audit"])


@router.get(
    "/audit/events",
    summary="The latest ledger events, newest first",
    openapi_extra=permission("audit:read"),
)
def events(
    limit: int = Query(50, ge=1, le=10_000),
    type: str | None = Query(None, max_length=100),
    subject: str | None = Query(None, max_length=300),
    call: Caller = CALLER,
) -> Response:
    found = call.app.audit.log(call.actor, limit=limit, type_=type, subject=subject)
    return answer({"items": [event.to_dict() for event in found], "next": None})


@router.get(
    "/audit/head",
    summary="The latest signed tree head (null before the first event)",
    openapi_extra=permission("audit:read"),
)
def head(call: Caller = CALLER) -> Response:
    found = call.app.audit.head(call.actor)
    return answer(found.to_dict() if found is not None else None)


@router.get(
    "/audit/proofs/{seq}",
    summary="An RFC 6962 inclusion proof of an event against the current head",
    openapi_extra=permission("audit:read"),
)
def proof(seq: int = Path(ge=1, le=2**62), call: Caller = CALLER) -> Response:
    return answer(call.app.audit.proof(call.actor, seq).to_dict())


@router.post(
    "/audit/verify",
    summary="Verify the ledger, the witness, records, triggers and the prediction log",
    openapi_extra=permission("audit:read"),
)
def verify(call: Caller = CALLER) -> Response:
    return answer(call.app.audit.verify(call.actor).to_dict())
