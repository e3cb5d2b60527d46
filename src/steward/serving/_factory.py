"""The worker's factory: the ServerState of one process, and its FastAPI application."""

from __future__ import annotations

import sys
import warnings
from typing import TYPE_CHECKING

from steward.serving._app import create_app
from steward.serving._state import RELOAD_SECONDS, ServerState

__all__ = ["app_from_environment", "build_state"]

if TYPE_CHECKING:
    from fastapi import FastAPI

    from steward.settings import Settings


def build_state(settings: Settings, *, reload_seconds: float = RELOAD_SECONDS) -> ServerState:
    """Open the home of ``settings`` for serving, with one BLAS/OpenMP thread per process
    (peers that leave it unbounded were measured at 1,000x their latency under contention)."""
    from threadpoolctl import threadpool_limits

    from steward.app import Application
    from steward.serving._metrics import Metrics

    threadpool_limits(limits=1)
    # The log's writer thread hands batches back to the event loop: let it have the
    # interpreter within 0.5 ms, not the default 5 ms, while the loop runs a model.
    sys.setswitchinterval(0.0005)
    # An array given to an estimator fitted on a named frame (see LoadedVersion.takes_array)
    # has the same columns in the same order: scikit-learn's warning about it is noise here.
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    app = Application.open(settings, delivery="deferred")
    try:
        token = settings.token.get_secret_value() if settings.token is not None else None
        actor = app.authenticate(token)
        return ServerState(app, actor, metrics=Metrics(), reload_seconds=reload_seconds)
    except BaseException:
        app.close()
        raise


def app_from_environment() -> FastAPI:
    """The FastAPI application of one worker, configured from ``STEWARD_*``."""
    from steward.settings import Settings

    settings = Settings()
    return create_app(lambda: build_state(settings))
