"""The ``/api/v1`` router, and ``mount``: the API on the application of ``steward serve``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from steward.api import (
    _audit,
    _datasets,
    _endpoints,
    _governance,
    _identity,
    _jobs,
    _models,
    _monitoring,
    _records,
    _runs,
    _webhooks,
    _work,
)
from steward.api._common import AnswerCache
from steward.api._guard import FailureLimiter
from steward.api._jobs import JobRunner
from steward.api._limits import MAX_JSON_BYTES, ApiTransport
from steward.api._work import UPLOAD_PATH
from steward.errors import StewardError

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["API_PREFIX", "MAX_JSON_BYTES", "api_router", "mount"]

API_PREFIX = "/api/v1"

_WHY = {
    400: "Malformed request (not JSON, wrong shape)",
    401: "No token, or an invalid or revoked one",
    403: "The caller's roles lack the permission (x-steward-permission)",
    404: "No such object",
    409: "Refused (a gate failed: nothing changed, the attempt ledgered) or already exists",
    412: "If-Match no longer holds: the object changed since it was read",
    413: "Body too large",
    422: "Invalid input, each bad field named",
    429: "Too many failed authentications from this address",
    500: "Stored data failed verification, or a fault of the server",
    503: "The store cannot be reached",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": why,
        "content": {"application/json": {"schema": StewardError.body_schema()}},
    }
    for status, why in _WHY.items()
}

api_router = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)
for _module in (
    _identity,
    _datasets,
    _models,
    _runs,
    _work,
    _jobs,
    _governance,
    _endpoints,
    _records,
    _monitoring,
    _webhooks,
    _audit,
):
    api_router.include_router(_module.router)


def mount(app: FastAPI) -> None:
    """Serve the API on ``app`` (whose lifespan sets ``app.state.steward``)."""
    app.state.api_limiter = FailureLimiter()
    app.state.api_answers = AnswerCache()
    app.state.api_jobs = runner = JobRunner()
    # jobs still running when the server stops finish first (bounded), while the store is open
    app.state.on_stop = [*getattr(app.state, "on_stop", []), runner.shutdown]
    app.include_router(api_router)
    app.add_middleware(ApiTransport, exempt=UPLOAD_PATH)
