"""The scoring path the routes share: the error body, the bearer token and its scope, the
endpoint's runtime, the body (size-limited), and ``score``: validate, predict, log durably.

Every error answers CONTRACT.md's body ``{"error": {"code", "message", "details"}}`` with the
status of its error class (``error_response``).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import orjson
from fastapi import Request
from fastapi.responses import Response

from steward.app import bearer_token
from steward.domain import Actor
from steward.errors import (
    InternalError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    StewardError,
    Unavailable,
)
from steward.serving._runtime import EndpointRuntime, LoadedVersion, context_redaction
from steward.serving._state import ServerState

__all__ = [
    "MAX_BODY_BYTES",
    "authorized",
    "bearer",
    "capped_body",
    "count_scored",
    "endpoint_runtime",
    "error_response",
    "fault_response",
    "json_response",
    "plain",
    "read_body",
    "refusal",
    "scoped_actor",
    "score",
    "server_state",
]

_log = logging.getLogger("steward.serving")

MAX_BODY_BYTES = 32 << 20
JSON = "application/json"
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def json_response(document: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(document, option=_NUMPY), status_code=status, media_type=JSON)


def error_response(exc: StewardError) -> Response:
    return json_response(exc.to_dict(), exc.http_status)


def refusal(state: ServerState | None, endpoint: str | None, exc: StewardError) -> Response:
    """The answer to a ``StewardError``: its body and status, ``WWW-Authenticate`` on 401,
    ``Retry-After`` on 429; counted against ``endpoint`` when a scoring route raised it."""
    if endpoint and state is not None:
        state.metrics.errors.labels(endpoint[:63], exc.code).inc()
    if exc.http_status >= 500 and not isinstance(exc, Unavailable):
        _log.error("%s: %s", exc.code, exc.message)
    response = error_response(exc)
    if exc.http_status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    retry = exc.details.get("retry_after") if exc.http_status == 429 else None
    if isinstance(retry, int):
        response.headers["Retry-After"] = str(retry)
    return response


def fault_response(method: str, path: str, exc: Exception) -> Response:
    """The answer to a fault of the server (logged with its traceback): 500, the server
    keeps serving."""
    _log.error("fault while answering %s %s", method, path, exc_info=exc)
    return error_response(InternalError(f"the server failed: {type(exc).__name__}"))


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.steward
    return state


def bearer(request: Request) -> str | None:
    return bearer_token(request.headers.get("authorization"))


def authorized(
    request: Request, endpoint: str, scope: str = "predict"
) -> tuple[ServerState, Actor]:
    state = server_state(request)
    return state, scoped_actor(state, request.headers.get("authorization"), endpoint, scope)


def scoped_actor(
    state: ServerState, authorization: str | None, endpoint: str, scope: str = "predict"
) -> Actor:
    """The actor of an ``Authorization`` header, if its token holds ``scope:endpoint``."""
    actor = state.authenticate(bearer_token(authorization))
    if not actor.has_scope(scope, endpoint):
        raise PermissionDenied(
            f"the token of {actor.name} has no scope {scope}:{endpoint} (issue one with "
            f"`steward token issue --scope {scope}:{endpoint}`)",
            details={"actor": actor.name, "scope": f"{scope}:{endpoint}"},
        )
    return actor


def endpoint_runtime(state: ServerState, endpoint: str) -> EndpointRuntime:
    runtime = state.serving.endpoints.get(endpoint)
    if runtime is None:
        raise NotFound(f"no endpoint named {endpoint[:80]!r} is deployed")
    if not runtime.routes:
        raise Unavailable(
            f"endpoint {endpoint} serves nothing now: {runtime.unavailable}",
            details={"endpoint": endpoint, "reason": runtime.unavailable},
        )
    return runtime


async def read_body(request: Request) -> bytes:
    return await capped_body(request.headers.get("content-length"), request.stream())


async def capped_body(declared: str | None, stream: AsyncIterator[bytes]) -> bytes:
    """The body of ``stream``, refused (413) past ``MAX_BODY_BYTES``, declared or sent."""
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES >> 20} MiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES >> 20} MiB")
        chunks.append(chunk)
    return b"".join(chunks)


def plain(values: np.ndarray) -> list[Any]:
    return values.tolist()  # type: ignore[no-any-return]


async def score(
    state: ServerState,
    runtime: EndpointRuntime,
    parsed: Any,
    key: str | None,
    started: float,
) -> tuple[LoadedVersion, list[str], np.ndarray, np.ndarray | None, Any, list[dict[str, Any]]]:
    """Validate, predict (in one call of the model with the other requests for the version
    waiting in this turn of the loop: ``steward.serving._coalesce``), and make the
    predictions durable (one log record for the request: a batch, its inputs column by
    column); ``(version, request ids, labels, probabilities,
    the model's input, each row's logged outputs)``."""
    from steward.logs import PredictionBatch, record_time, redact, redact_columns

    loaded = runtime.choose(key)
    frame = loaded.model_input(parsed)
    labels, proba = await state.coalescer.predict(runtime.name, loaded, frame)
    rows = parsed.rows
    ids = request_ids(rows)
    inputs = parsed.columns
    if loaded.pii:
        inputs = redact_columns(inputs, loaded.pii, state.log_key)
    context = parsed.context
    contexts: list[dict[str, Any]]
    if context:
        contexts = [
            redact(entry, context_redaction(entry, loaded.sensitive), state.log_key)
            for entry in context
        ]
    else:
        contexts = [{}] * rows
    plain_labels = plain(labels)
    if proba is None:
        outputs = [{"prediction": label} for label in plain_labels]
    else:
        outputs = _outputs(loaded.class_names, plain_labels, plain(proba))
    batch = PredictionBatch(
        request_ids=ids,
        time=record_time(),
        endpoint=runtime.name,
        model=loaded.ref,
        inputs=inputs,
        contexts=contexts,
        outputs=outputs,
        latency_ms=(time.perf_counter() - started) * 1000.0,
    )
    await state.write([batch])
    return loaded, ids, labels, proba, frame, outputs


def _outputs(
    classes: tuple[str, ...], labels: list[Any], proba: list[list[float]]
) -> list[dict[str, Any]]:
    """Each row's ``{"prediction", "probabilities": {class: p}}``."""
    if len(classes) == 2:  # most models; literal dicts are ~5x faster than dict(zip())
        first, second = classes
        return [
            {"prediction": label, "probabilities": {first: p, second: q}}
            for label, (p, q) in zip(labels, proba, strict=True)
        ]
    return [
        {"prediction": label, "probabilities": dict(zip(classes, row, strict=True))}
        for label, row in zip(labels, proba, strict=True)
    ]


def request_ids(rows: int) -> list[str]:
    """One random 128-bit id (32 hex digits) per row, drawn at once."""
    drawn = secrets.token_hex(16 * rows)
    return [drawn[at : at + 32] for at in range(0, 32 * rows, 32)]


def count_scored(
    state: ServerState, endpoint: str, loaded: LoadedVersion, labels: np.ndarray, started: float
) -> None:
    # a regression's values are not classes: counted as rows, not one series per value
    values = ["(value)"] * len(labels) if loaded.regression else plain(labels)
    state.metrics.scored(endpoint, loaded.ref, values, time.perf_counter() - started)
