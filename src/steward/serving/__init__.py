"""The model server (``steward serve``): governed scoring over ``steward.app.Application``.

``app_from_environment`` is the factory uvicorn loads in every worker process: it reads
``Settings`` from the environment (``steward serve`` sets it up), opens the home, and
authenticates the server's own identity strictly (``STEWARD_TOKEN``; never the saved
token), under which it records what it enforces and anchors the prediction log.
"""

from __future__ import annotations

from typing import Any

from steward.serving._app import MAX_BODY_BYTES, create_app, scoring_router
from steward.serving._state import RECHECK_SECONDS, RELOAD_SECONDS, ServerState

__all__ = [
    "MAX_BODY_BYTES",
    "RECHECK_SECONDS",
    "RELOAD_SECONDS",
    "ServerState",
    "app_from_environment",
    "build_state",
    "create_app",
    "scoring_router",
]


def build_state(settings: Any, *, reload_seconds: float = RELOAD_SECONDS) -> ServerState:
    """Open the home of ``settings`` for serving, with one BLAS/OpenMP thread per process
    (peers that leave it unbounded were measured at 1,000x their latency under contention)."""
    from threadpoolctl import threadpool_limits

    from steward.app import Application
    from steward.serving._metrics import Metrics

    threadpool_limits(limits=1)
    app = Application.open(settings, delivery="deferred")
    try:
        token = settings.token.get_secret_value() if settings.token is not None else None
        actor = app.authenticate(token)
        return ServerState(app, actor, metrics=Metrics(), reload_seconds=reload_seconds)
    except BaseException:
        app.close()
        raise


def app_from_environment() -> Any:
    """The FastAPI application of one worker, configured from ``STEWARD_*``."""
    from steward.settings import Settings

    settings = Settings()
    return create_app(lambda: build_state(settings))
