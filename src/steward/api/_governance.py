"""``/api/v1`` governance on model versions: gate, approvals, rejections, waivers, comments,
promotions, history; and the policies they are judged by."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from steward.api._common import CALLER, PAGE, Caller, PageQuery, answer, page, permission
from steward.api._models import version_ref

__all__ = ["router"]

router = APIRouter(tags=["governance"])
_VERSION = "/models/{name}/versions/{selector}"
_TEXT = 20_000


class Stage(BaseModel):
    stage: str = Field(max_length=40)


class Judgement(BaseModel):
    stage: str = Field(max_length=40)
    comment: str = Field("", max_length=_TEXT)


class NewWaiver(BaseModel):
    rule: str = Field(max_length=200)
    reason: str = Field(max_length=_TEXT)
    expires: str = Field(max_length=64, description="A date (end of that day, UTC) or a time.")


class NewComment(BaseModel):
    text: str = Field(max_length=_TEXT)


class PolicyText(BaseModel):
    text: str = Field(max_length=1_000_000, description="The policy's YAML.")
    source: str = Field("<api>", max_length=500, description="Where it came from (a file).")


class Endorsement(BaseModel):
    version: int | None = Field(None, ge=1)
    comment: str = Field("", max_length=_TEXT)


@router.get(
    _VERSION + "/gate",
    summary="The gate of a stage, rule by rule (allowed or not, never an error)",
    openapi_extra=permission("model:read"),
)
def gate(
    name: str, selector: str, stage: str = Query(..., max_length=40), call: Caller = CALLER
) -> Response:
    decision, governing = call.app.policies.gate(call.actor, version_ref(name, selector), stage)
    return answer({"decision": decision.to_dict(), "governing": governing.to_dict()})


@router.post(
    _VERSION + "/approvals",
    status_code=201,
    summary="Approve a version for a stage (bound to its file, evidence, policy and card)",
    openapi_extra=permission("model:approve"),
)
def approve(name: str, selector: str, body: Judgement, call: Caller = CALLER) -> Response:
    ref = version_ref(name, selector)
    made = call.app.governance.approve(call.actor, ref, body.stage, body.comment)
    return answer(made.to_dict(), 201)


@router.post(
    _VERSION + "/rejections",
    status_code=201,
    summary="Reject a version for a stage",
    openapi_extra=permission("model:approve"),
)
def reject(name: str, selector: str, body: Judgement, call: Caller = CALLER) -> Response:
    ref = version_ref(name, selector)
    made = call.app.governance.reject(call.actor, ref, body.stage, body.comment)
    return answer(made.to_dict(), 201)


@router.post(
    _VERSION + "/waivers",
    status_code=201,
    summary="Waive a waivable rule for a version, until a date",
    openapi_extra=permission("policy:waive"),
)
def waive(name: str, selector: str, body: NewWaiver, call: Caller = CALLER) -> Response:
    ref = version_ref(name, selector)
    made = call.app.governance.waive(call.actor, ref, body.rule, body.reason, body.expires)
    return answer(made.to_dict(), 201)


@router.post(
    _VERSION + "/comments",
    status_code=201,
    summary="Comment on a version",
    openapi_extra=permission("model:comment"),
)
def comment(name: str, selector: str, body: NewComment, call: Caller = CALLER) -> Response:
    made = call.app.governance.comment(call.actor, version_ref(name, selector), body.text)
    return answer(made.to_dict(), 201)


@router.post(
    _VERSION + "/promotions",
    summary="Move a version to a stage through its gate (409, nothing changed, if it fails)",
    openapi_extra=permission("model:promote"),
)
def promote(name: str, selector: str, body: Stage, call: Caller = CALLER) -> Response:
    ref = version_ref(name, selector)
    version, decision = call.app.governance.promote(call.actor, ref, body.stage)
    document = {
        "version": version.to_dict(),
        "decision": decision.to_dict() if decision is not None else None,
    }
    return answer(document)


@router.get(
    _VERSION + "/history",
    summary="A version's approvals, rejections, waivers and comments, oldest first",
    openapi_extra=permission("model:read"),
)
def history(name: str, selector: str, call: Caller = CALLER) -> Response:
    found = call.app.governance.history(call.actor, version_ref(name, selector))
    return answer({part: [item.to_dict() for item in found[part]] for part in found})


@router.get(
    "/policies",
    summary="The policies in force (built-in packs too)",
    openapi_extra=permission("model:read"),
)
def policies(
    built_in: bool = Query(False), query: PageQuery = PAGE, call: Caller = CALLER
) -> Response:
    found = call.app.policies.list_policies(call.actor, built_in=built_in)
    return page(found, query, identity=lambda policy: policy.subject)


@router.post(
    "/policies",
    summary="Apply a policy document (a new version when it changed)",
    openapi_extra=permission("policy:manage"),
)
def apply_policy(body: PolicyText, call: Caller = CALLER) -> Response:
    applied, changed = call.app.policies.apply(call.actor, body.text, body.source)
    return answer({"policy": applied.to_dict(), "changed": changed}, 201 if changed else 200)


@router.get(
    "/policies/{name}",
    summary="A policy (its latest version)",
    openapi_extra=permission("model:read"),
)
def policy(
    name: str, version: int | None = Query(None, ge=1, le=2**31 - 1), call: Caller = CALLER
) -> Response:
    return answer(call.app.policies.get(call.actor, name, version).to_dict())


@router.post(
    "/policies/{name}/endorsements",
    status_code=201,
    summary="Endorse a policy that relaxes a built-in pack",
    openapi_extra=permission("policy:manage"),
)
def endorse(name: str, body: Endorsement, call: Caller = CALLER) -> Response:
    made = call.app.policies.endorse(call.actor, name, body.version, body.comment)
    return answer(made.to_dict(), 201)
