"""The scoring routes of ``steward serve``: ``POST /predict`` (Steward's body and MLflow's),
``POST /feedback``, health, readiness and metrics, and the Open Inference Protocol's routes
(``steward.serving._v2_routes``): one router, ``scoring_router``, over the process's
``ServerState``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from steward.errors import InvalidInput, UsageError
from steward.serving._schemas import FEEDBACK_BODY, PREDICT_BODY, documented
from steward.serving._scoring import (
    bearer,
    count_scored,
    endpoint_runtime,
    json_response,
    read_body,
    scoped_actor,
    score,
    server_state,
)
from steward.serving._state import ServerState
from steward.serving._v2_routes import v2_router

__all__ = ["predict_answer", "scoring_router"]

scoring_router = APIRouter()


@scoring_router.post(
    "/predict/{endpoint}",
    summary="Score rows with the version an endpoint serves",
    responses=documented(200, 400, 401, 403, 404, 413, 422, 503),
    openapi_extra=PREDICT_BODY,
)
async def predict(endpoint: str, request: Request) -> Response:
    """Body ``{"instances": [{feature: value}, ...]}``, or MLflow's ``dataframe_split``,
    ``dataframe_records`` or ``inputs``; optional ``context`` (logged, never passed to the
    model) and ``key`` (sticky canary routing). Every 200 answer's predictions are in the
    durable log before it is sent."""
    # The server answers this route on its fast path (steward.serving._fast) with the
    # same function; the route stays for the OpenAPI document and an app without it.
    headers = request.headers
    return await predict_answer(
        server_state(request),
        endpoint,
        headers.get("authorization"),
        headers.get("x-steward-key"),
        request.query_params.get("explain", "false"),
        lambda: read_body(request),
    )


async def predict_answer(
    state: ServerState,
    endpoint: str,
    authorization: str | None,
    key_header: str | None,
    explain: str,
    body: Callable[[], Awaitable[bytes]],
) -> Response:
    """The answer of ``POST /predict/{endpoint}``: the token and its scope first, then the
    endpoint, then the body (read only for a caller allowed to score); errors raise."""
    from steward.serving._bodies import parse_predict

    started = time.perf_counter()
    scoped_actor(state, authorization, endpoint)
    runtime = endpoint_runtime(state, endpoint)
    parsed = parse_predict(await body())
    key = parsed.key or key_header
    explain = explain.lower()
    if explain not in ("true", "false", "1", "0"):
        raise InvalidInput("{explain} is true or false", details={"field": "explain"})
    scored = await score(state, runtime, parsed, key, started)
    loaded, ids, labels, _, frame, predictions = scored
    if explain in ("true", "1"):
        from starlette.concurrency import run_in_threadpool

        if not hasattr(frame, "columns"):  # an array: the explainer reads named columns
            frame = loaded.validator.frame(parsed)
        explained = await run_in_threadpool(state.explain, loaded, frame, labels)
        predictions = [  # copies: the logged records keep their outputs as written
            {**prediction, "explanation": explanation}
            for prediction, explanation in zip(predictions, explained, strict=True)
        ]
    count_scored(state, endpoint, loaded, labels, started)
    return json_response({"predictions": predictions, "model": loaded.ref, "request_ids": ids})


@scoring_router.post(
    "/feedback/{endpoint}",
    summary="Attach ground-truth labels to logged predictions",
    responses=documented(200, 400, 401, 403, 404, 413, 422),
    openapi_extra=FEEDBACK_BODY,
)
async def feedback(endpoint: str, request: Request) -> Response:
    """Body ``{"labels": [{"request_id": ..., "label": ...}, ...]}``: idempotent; unknown
    request ids are reported and skipped."""
    from starlette.concurrency import run_in_threadpool

    state = server_state(request)
    actor = state.authenticate(bearer(request))
    try:
        document = orjson.loads(await read_body(request))
    except orjson.JSONDecodeError:
        raise UsageError("the body is not JSON") from None
    labels = document.get("labels") if isinstance(document, dict) else None
    if not isinstance(labels, list):
        raise InvalidInput("the body needs a list 'labels'", details={"field": "labels"})
    result = await run_in_threadpool(state.app.predictions.label, actor, endpoint, labels)
    return json_response(result)


# --- health ------------------------------------------------------------------------------


@scoring_router.get("/healthz", summary="Liveness", responses=documented(200))
async def healthz() -> Response:
    return json_response({"status": "ok"})


@scoring_router.get(
    "/readyz",
    summary="Readiness: the store reachable and every deployed version loaded, or why not",
    responses=documented(200, 503),
)
async def readyz(request: Request) -> Response:
    ready, document = server_state(request).readiness()
    return json_response(document, 200 if ready else 503)


@scoring_router.get(
    "/metrics",
    summary="Prometheus metrics of every worker",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    from steward.serving._metrics import CONTENT_TYPE

    return Response(server_state(request).metrics.render(), media_type=CONTENT_TYPE)


scoring_router.include_router(v2_router)
