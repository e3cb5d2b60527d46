"""The server's application, with ``POST /predict/{endpoint}`` answered as plain ASGI.

Scoring is the hot path: FastAPI's routing (over a hundred routes once the REST API is
mounted), its dependency solving, the ``Request`` object and four middlewares cost about as
much as validating and logging a row (``docs/benchmarks.md``). :class:`ScoringApp` answers
that one route before them, with the function the FastAPI route uses
(``_routes.predict_answer``) and the answers its exception handlers give (``refusal``,
``fault_response``): the same statuses, bodies and headers. Everything else, including a
``/predict/...`` path the route would not match, goes through FastAPI as before; the route
stays registered, for the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI

from steward.errors import StewardError
from steward.serving._routes import predict_answer
from steward.serving._scoring import capped_body, fault_response, refusal

__all__ = ["ScoringApp", "scoring_endpoint"]

_PREFIX = "/predict/"
_WANTED = frozenset({b"authorization", b"x-steward-key", b"content-length"})


def scoring_endpoint(scope: dict[str, Any]) -> str | None:
    """The endpoint of a ``POST /predict/{endpoint}`` request (as the route's path
    parameter matches it: one non-empty segment), else ``None``."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if not path.startswith(_PREFIX) or scope.get("root_path"):
        return None
    endpoint = path[len(_PREFIX) :]
    if not endpoint or "/" in endpoint:
        return None
    return endpoint


class _Disconnected(Exception):
    pass


class ScoringApp(FastAPI):
    """FastAPI, but for the scoring route (see the module's docstring)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        endpoint = scoring_endpoint(scope)
        state = getattr(self.state, "steward", None) if endpoint is not None else None
        if endpoint is None or state is None:
            await super().__call__(scope, receive, send)
            return
        await _predict(state, endpoint, scope, receive, send)


async def _predict(state: Any, endpoint: str, scope: Any, receive: Any, send: Any) -> None:
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _WANTED and name not in headers:  # the first, as Starlette reads them
            headers[name] = value
    query = scope.get("query_string", b"")
    explain = "false"
    if query:
        explain = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)).get(
            "explain", "false"
        )
    declared = headers.get(b"content-length")

    async def stream() -> AsyncIterator[bytes]:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    async def body() -> bytes:
        return await capped_body(None if declared is None else declared.decode(), stream())

    try:
        response = await predict_answer(
            state,
            endpoint,
            _text(headers.get(b"authorization")),
            _text(headers.get(b"x-steward-key")),
            explain,
            body,
        )
    except _Disconnected:
        return  # nobody to answer
    except StewardError as exc:
        response = refusal(state, endpoint, exc)
    except Exception as exc:  # a fault of the server: 500, and it keeps serving
        response = fault_response("POST", scope["path"], exc)
    await response(scope, receive, send)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")
