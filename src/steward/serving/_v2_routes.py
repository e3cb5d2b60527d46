"""The Open Inference Protocol (V2) routes: server live and ready, model metadata (with the
served version's governance state), model ready (loaded, and its gate passes now), and
inference with one input tensor per column. Bodies and answers: ``steward.serving._v2``."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response

from steward.errors import InvalidInput, NotFound
from steward.serving._schemas import V2_BODY, documented
from steward.serving._scoring import (
    authorized,
    count_scored,
    endpoint_runtime,
    json_response,
    read_body,
    score,
    server_state,
)

__all__ = ["v2_router"]

v2_router = APIRouter()


@v2_router.get("/v2/health/live", summary="V2: server live", responses=documented(200))
async def v2_live() -> Response:
    return json_response({"live": True})


@v2_router.get("/v2/health/ready", summary="V2: server ready", responses=documented(200, 503))
async def v2_ready(request: Request) -> Response:
    ready, _ = server_state(request).readiness()
    return json_response({"ready": ready}, 200 if ready else 503)


@v2_router.get(
    "/v2/models/{endpoint}",
    summary="V2: model metadata, with the served version's governance state",
    responses=documented(200, 401, 403, 404, 503),
)
async def v2_metadata(endpoint: str, request: Request) -> Response:
    from steward.serving._v2 import v2_metadata as metadata

    state, _ = authorized(request, endpoint)
    runtime = endpoint_runtime(state, endpoint)
    loaded = runtime.routes[0][0]
    governance = {
        **loaded.governance,
        "version": loaded.ref,
        "routes": [
            {"version": v.ref, "share": share, "role": role} for v, share, role in runtime.routes
        ],
    }
    document = metadata(endpoint, loaded.version.version, loaded.version.signature, governance)
    return json_response(document)


@v2_router.get(
    "/v2/models/{endpoint}/ready",
    summary="V2: model ready (loaded, and its gate passes now)",
    responses=documented(200, 401, 403, 404, 503),
)
async def v2_model_ready(endpoint: str, request: Request) -> Response:
    state, _ = authorized(request, endpoint)
    runtime = state.serving.endpoints.get(endpoint)
    if runtime is None:
        raise NotFound(f"no endpoint named {endpoint[:80]!r} is deployed")
    ready = bool(runtime.routes)
    return json_response(
        {"name": endpoint, "ready": ready, "reason": runtime.unavailable}, 200 if ready else 503
    )


@v2_router.post(
    "/v2/models/{endpoint}/infer",
    summary="V2: inference, one input tensor per column",
    responses=documented(200, 400, 401, 403, 404, 413, 422, 503),
    openapi_extra=V2_BODY,
)
async def v2_infer(endpoint: str, request: Request) -> Response:
    from steward.serving._v2 import parse_v2_infer, v2_output_names, v2_response

    started = time.perf_counter()
    state, _ = authorized(request, endpoint)
    runtime = endpoint_runtime(state, endpoint)
    parsed = parse_v2_infer(await read_body(request))
    given = v2_output_names(runtime.routes[0][0].version.signature)
    unknown = [name for name in parsed.outputs or () if name not in given]
    if unknown:  # before scoring: nothing is logged for a request answered 422
        raise InvalidInput(
            f"the model has no output {', '.join(unknown)}: it gives {', '.join(given)}",
            details={"field": "outputs"},
        )
    key = parsed.key or request.headers.get("x-steward-key")
    loaded, ids, labels, proba, _, _ = await score(state, runtime, parsed, key, started)
    document = v2_response(
        model_name=endpoint,
        model_version=loaded.version.version,
        request_id=parsed.id or ids[0],
        labels=labels,
        probabilities=proba,
        classes=list(loaded.classes) or None,
        parameters={"model": loaded.ref, "request_ids": ids},
        requested=parsed.outputs,
    )
    count_scored(state, endpoint, loaded, labels, started)
    return json_response(document)
