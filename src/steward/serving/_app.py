"""The HTTP application of ``steward serve``: health, readiness, metrics, scoring (Steward's
body, MLflow's bodies, the Open Inference Protocol) and ground-truth feedback.

One FastAPI application; the scoring routes are one router (``scoring_router``) over the
``ServerState`` of the process, itself over ``steward.app.Application``: the REST API and the
web UI of later issues mount their own routers on the same app. Every error answers
CONTRACT.md's body ``{"error": {"code", "message", "details"}}`` with the status of its error
class; a fault of the server answers 500 and the server keeps serving.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from steward.domain import Actor
from steward.errors import (
    AuthenticationError,
    InternalError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    StewardError,
    Unavailable,
    UsageError,
)
from steward.serving._runtime import EndpointRuntime, LoadedVersion, context_redaction
from steward.serving._schemas import ERRORS, FEEDBACK_BODY, PREDICT_BODY, V2_BODY, documented
from steward.serving._state import ServerState

__all__ = ["MAX_BODY_BYTES", "create_app", "scoring_router"]

MAX_BODY_BYTES = 32 << 20
JSON = "application/json"
_log = logging.getLogger("steward.serving")
_NUMPY = orjson.OPT_SERIALIZE_NUMPY

scoring_router = APIRouter()


def _json(document: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(document, option=_NUMPY), status_code=status, media_type=JSON)


def _error(exc: StewardError) -> Response:
    return _json(exc.to_dict(), exc.http_status)


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.steward
    return state


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthenticationError("the Authorization header must be 'Bearer TOKEN'")
    return value.strip()


def _scored(request: Request, endpoint: str, scope: str = "predict") -> tuple[ServerState, Actor]:
    state = _state(request)
    actor = state.authenticate(_bearer(request))
    if not actor.has_scope(scope, endpoint):
        raise PermissionDenied(
            f"the token of {actor.name} has no scope {scope}:{endpoint} (issue one with "
            f"`steward token issue --scope {scope}:{endpoint}`)",
            details={"actor": actor.name, "scope": f"{scope}:{endpoint}"},
        )
    return state, actor


def _runtime(state: ServerState, endpoint: str) -> EndpointRuntime:
    runtime = state.serving.endpoints.get(endpoint)
    if runtime is None:
        raise NotFound(f"no endpoint named {endpoint[:80]!r} is deployed")
    if not runtime.routes:
        raise Unavailable(
            f"endpoint {endpoint} serves nothing now: {runtime.unavailable}",
            details={"endpoint": endpoint, "reason": runtime.unavailable},
        )
    return runtime


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES >> 20} MiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES >> 20} MiB")
        chunks.append(chunk)
    return b"".join(chunks)


def _plain(values: np.ndarray) -> list[Any]:
    return values.tolist()  # type: ignore[no-any-return]


async def _score(
    state: ServerState,
    runtime: EndpointRuntime,
    parsed: Any,
    key: str | None,
    started: float,
) -> tuple[LoadedVersion, list[str], np.ndarray, np.ndarray | None, Any, list[dict[str, Any]]]:
    """Validate, predict, and make the predictions durable; ``(version, request ids,
    labels, probabilities, the model's input, each row's logged outputs)``."""
    from steward.logs import PredictionRecord, record_time, redact

    loaded = runtime.choose(key)
    frame = loaded.validator.frame(parsed)
    labels, proba = loaded.predict(frame)
    rows = parsed.rows
    ids = _request_ids(rows)
    names = list(parsed.columns)
    by_row = zip(*parsed.columns.values(), strict=True)
    inputs = [dict(zip(names, row, strict=True)) for row in by_row]
    if loaded.pii:
        inputs = [redact(row, loaded.pii, state.log_key) for row in inputs]
    context = parsed.context
    contexts: list[dict[str, Any]]
    if context:
        contexts = [
            redact(entry, context_redaction(entry, loaded.sensitive), state.log_key)
            for entry in context
        ]
    else:
        contexts = [{} for _ in range(rows)]
    plain_labels = _plain(labels)
    if proba is None:
        outputs = [{"prediction": label} for label in plain_labels]
    else:
        classes = loaded.class_names
        outputs = [
            {"prediction": label, "probabilities": dict(zip(classes, row, strict=True))}
            for label, row in zip(plain_labels, _plain(proba), strict=True)
        ]
    records = PredictionRecord.rows(
        request_ids=ids,
        time=record_time(),
        endpoint=runtime.name,
        model=loaded.ref,
        inputs=inputs,
        contexts=contexts,
        outputs=outputs,
        latency_ms=(time.perf_counter() - started) * 1000.0,
    )
    await state.write(records)
    return loaded, ids, labels, proba, frame, outputs


def _request_ids(rows: int) -> list[str]:
    """One random 128-bit id (32 hex digits) per row, drawn at once."""
    drawn = secrets.token_hex(16 * rows)
    return [drawn[at : at + 32] for at in range(0, 32 * rows, 32)]


def _count(
    state: ServerState, endpoint: str, loaded: LoadedVersion, labels: np.ndarray, started: float
) -> None:
    # a regression's values are not classes: counted as rows, not one series per value
    values = ["(value)"] * len(labels) if loaded.regression else _plain(labels)
    state.metrics.scored(endpoint, loaded.ref, values, time.perf_counter() - started)


# --- scoring -----------------------------------------------------------------------------


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
    from steward.serving._bodies import parse_predict

    started = time.perf_counter()
    state, _ = _scored(request, endpoint)
    runtime = _runtime(state, endpoint)
    parsed = parse_predict(await _body(request))
    key = parsed.key or request.headers.get("x-steward-key")
    explain = request.query_params.get("explain", "false").lower()
    if explain not in ("true", "false", "1", "0"):
        raise InvalidInput("{explain} is true or false", details={"field": "explain"})
    scored = await _score(state, runtime, parsed, key, started)
    loaded, ids, labels, _, frame, predictions = scored
    if explain in ("true", "1"):
        from starlette.concurrency import run_in_threadpool

        explained = await run_in_threadpool(state.explain, loaded, frame, labels)
        predictions = [  # copies: the logged records keep their outputs as written
            {**prediction, "explanation": explanation}
            for prediction, explanation in zip(predictions, explained, strict=True)
        ]
    _count(state, endpoint, loaded, labels, started)
    return _json({"predictions": predictions, "model": loaded.ref, "request_ids": ids})


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

    state = _state(request)
    actor = state.authenticate(_bearer(request))
    try:
        document = orjson.loads(await _body(request))
    except orjson.JSONDecodeError:
        raise UsageError("the body is not JSON") from None
    labels = document.get("labels") if isinstance(document, dict) else None
    if not isinstance(labels, list):
        raise InvalidInput("the body needs a list 'labels'", details={"field": "labels"})
    result = await run_in_threadpool(state.app.predictions.label, actor, endpoint, labels)
    return _json(result)


# --- the Open Inference Protocol (V2) ----------------------------------------------------


@scoring_router.get("/v2/health/live", summary="V2: server live", responses=documented(200))
async def v2_live() -> Response:
    return _json({"live": True})


@scoring_router.get("/v2/health/ready", summary="V2: server ready", responses=documented(200, 503))
async def v2_ready(request: Request) -> Response:
    ready, _ = _state(request).readiness()
    return _json({"ready": ready}, 200 if ready else 503)


@scoring_router.get(
    "/v2/models/{endpoint}",
    summary="V2: model metadata, with the served version's governance state",
    responses=documented(200, 401, 403, 404, 503),
)
async def v2_metadata(endpoint: str, request: Request) -> Response:
    from steward.serving._v2 import v2_metadata as metadata

    state, _ = _scored(request, endpoint)
    runtime = _runtime(state, endpoint)
    loaded = runtime.routes[0][0]
    governance = {
        **loaded.governance,
        "version": loaded.ref,
        "routes": [
            {"version": v.ref, "share": share, "role": role} for v, share, role in runtime.routes
        ],
    }
    document = metadata(endpoint, loaded.version.version, loaded.version.signature, governance)
    return _json(document)


@scoring_router.get(
    "/v2/models/{endpoint}/ready",
    summary="V2: model ready (loaded, and its gate passes now)",
    responses=documented(200, 401, 403, 404, 503),
)
async def v2_model_ready(endpoint: str, request: Request) -> Response:
    state, _ = _scored(request, endpoint)
    runtime = state.serving.endpoints.get(endpoint)
    if runtime is None:
        raise NotFound(f"no endpoint named {endpoint[:80]!r} is deployed")
    ready = bool(runtime.routes)
    return _json(
        {"name": endpoint, "ready": ready, "reason": runtime.unavailable}, 200 if ready else 503
    )


@scoring_router.post(
    "/v2/models/{endpoint}/infer",
    summary="V2: inference, one input tensor per column",
    responses=documented(200, 400, 401, 403, 404, 413, 422, 503),
    openapi_extra=V2_BODY,
)
async def v2_infer(endpoint: str, request: Request) -> Response:
    from steward.serving._v2 import parse_v2_infer, v2_output_names, v2_response

    started = time.perf_counter()
    state, _ = _scored(request, endpoint)
    runtime = _runtime(state, endpoint)
    parsed = parse_v2_infer(await _body(request))
    given = v2_output_names(runtime.routes[0][0].version.signature)
    unknown = [name for name in parsed.outputs or () if name not in given]
    if unknown:  # before scoring: nothing is logged for a request answered 422
        raise InvalidInput(
            f"the model has no output {', '.join(unknown)}: it gives {', '.join(given)}",
            details={"field": "outputs"},
        )
    key = parsed.key or request.headers.get("x-steward-key")
    loaded, ids, labels, proba, _, _ = await _score(state, runtime, parsed, key, started)
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
    _count(state, endpoint, loaded, labels, started)
    return _json(document)


# --- health ------------------------------------------------------------------------------


@scoring_router.get("/healthz", summary="Liveness", responses=documented(200))
async def healthz() -> Response:
    return _json({"status": "ok"})


@scoring_router.get(
    "/readyz",
    summary="Readiness: the store reachable and every deployed version loaded, or why not",
    responses=documented(200, 503),
)
async def readyz(request: Request) -> Response:
    ready, document = _state(request).readiness()
    return _json(document, 200 if ready else 503)


@scoring_router.get(
    "/metrics",
    summary="Prometheus metrics of every worker",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    from steward.serving._metrics import CONTENT_TYPE

    return Response(_state(request).metrics.render(), media_type=CONTENT_TYPE)


# --- the application ---------------------------------------------------------------------


def create_app(build: Any) -> FastAPI:
    """The server application; ``build()`` returns the process's ``ServerState`` (called in
    the lifespan, once per worker, so each worker opens its own store connections)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state: ServerState = build()
        state.start()
        app.state.steward = state

        try:
            yield
        finally:
            state.stop()
            state.app.close()

    app = FastAPI(
        title="Steward model server",
        description="Governed scoring: only versions whose gate passes now are served.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.include_router(scoring_router)

    @app.exception_handler(StewardError)
    async def steward_error(request: Request, exc: StewardError) -> Response:
        endpoint = request.path_params.get("endpoint")
        if endpoint and hasattr(request.app.state, "steward"):
            request.app.state.steward.metrics.errors.labels(endpoint[:63], exc.code).inc()
        if exc.http_status >= 500 and not isinstance(exc, Unavailable):
            _log.error("%s: %s", exc.code, exc.message)
        return _error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        error: StewardError = (
            NotFound(f"no route {request.url.path[:200]}")
            if exc.status_code == 404
            else UsageError(str(exc.detail))
        )
        return _json(
            {"error": {"code": error.code, "message": error.message, "details": {}}},
            exc.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return _error(
            InvalidInput("the request is malformed", details={"errors": len(exc.errors())})
        )

    @app.exception_handler(Exception)
    async def fault(request: Request, exc: Exception) -> Response:
        _log.exception("fault while answering %s %s", request.method, request.url.path)
        return _error(InternalError(f"the server failed: {type(exc).__name__}"))

    # A documented schema for every error response (schemathesis checks them).
    app.openapi_schema = None
    _ = ERRORS
    return app
