"""The model server (``steward serve``): governed scoring over ``steward.app.Application``.

``app_from_environment`` is the factory uvicorn loads in every worker process: it reads
``Settings`` from the environment (``steward serve`` sets it up), opens the home, and
authenticates the server's own identity strictly (``STEWARD_SERVER_TOKEN``; never a token
saved in the home), under which it records what it enforces and anchors the prediction log.
"""

from __future__ import annotations

from steward.serving._app import MAX_BODY_BYTES, create_app, scoring_router
from steward.serving._factory import app_from_environment, build_state
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
