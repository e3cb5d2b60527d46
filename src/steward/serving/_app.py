"""The HTTP application of ``steward serve``: health, readiness, metrics, scoring (Steward's
body, MLflow's bodies, the Open Inference Protocol) and ground-truth feedback.

One FastAPI application; the scoring routes are one router (``scoring_router``,
``steward.serving._routes``) over the ``ServerState`` of the process, itself over
``steward.app.Application``: the REST API and the web UI of later issues mount their own
routers on the same app. Every error answers CONTRACT.md's body ``{"error": {"code",
"message", "details"}}`` with the status of its error class; a fault of the server answers 500
and the server keeps serving.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from steward.errors import (
    InvalidInput,
    NotFound,
    StewardError,
    UsageError,
)
from steward.serving._fast import ScoringApp
from steward.serving._routes import scoring_router
from steward.serving._schemas import ERRORS
from steward.serving._scoring import (
    MAX_BODY_BYTES,
    error_response,
    fault_response,
    json_response,
    refusal,
)
from steward.serving._state import ServerState

__all__ = ["MAX_BODY_BYTES", "create_app", "scoring_router"]


def _docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI over ``/openapi.json``, its files from the installed
    ``swagger-ui-bundle-v2`` package (``/docs/assets``): no network at run time."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Steward API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )


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
            for stopping in getattr(app.state, "on_stop", ()):  # the REST API's jobs
                stopping()
            state.stop()
            state.app.close()

    app = ScoringApp(
        title="Steward model server",
        description="Governed scoring: only versions whose gate passes now are served.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served below from the installed Swagger UI, not a CDN
        redoc_url=None,
    )
    app.include_router(scoring_router)
    _docs(app)

    @app.exception_handler(StewardError)
    async def steward_error(request: Request, exc: StewardError) -> Response:
        state = getattr(request.app.state, "steward", None)
        return refusal(state, request.path_params.get("endpoint"), exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        error: StewardError = (
            NotFound(f"no route {request.url.path[:200]}")
            if exc.status_code == 404
            else UsageError(str(exc.detail))
        )
        return json_response(
            {"error": {"code": error.code, "message": error.message, "details": {}}},
            exc.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # each bad field named by where it is (body.stage, query.limit), never its value
        errors = [
            {"field": ".".join(str(part) for part in e["loc"]), "problem": e["msg"]}
            for e in exc.errors()[:20]
        ]
        first = errors[0] if errors else {"field": "body", "problem": "malformed"}
        return error_response(
            InvalidInput(
                f"the request is malformed: {first['field']}: {first['problem']}"[:300],
                details={"errors": errors},
            )
        )

    @app.exception_handler(Exception)
    async def fault(request: Request, exc: Exception) -> Response:
        return fault_response(request.method, request.url.path, exc)

    # A documented schema for every error response (schemathesis checks them).
    app.openapi_schema = None
    _ = ERRORS
    return app
