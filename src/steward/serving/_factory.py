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


def build_state(
    settings: Settings, token: str | None, *, reload_seconds: float = RELOAD_SECONDS
) -> ServerState:
    """Open the home of ``settings`` for serving, as the identity of ``token`` (strictly: a
    missing or revoked token is refused, never replaced by an identity of the home). Its
    refresher also starts the scheduled monitors that are due, as that identity (see
    ``steward.monitoring``)."""
    from steward.app import Application
    from steward.monitoring import MonitorScheduler
    from steward.serving._metrics import Metrics

    app = Application.open(settings, delivery="deferred", computes="server")
    try:
        actor = app.authenticate(token)
        return ServerState(
            app,
            actor,
            metrics=Metrics(),
            reload_seconds=reload_seconds,
            coalesce_rows=settings.coalesce_rows,
            scheduler=MonitorScheduler(app, actor, token),
        )
    except BaseException:
        app.close()
        raise


def app_from_environment() -> FastAPI:
    """The FastAPI application of one worker process, configured from ``STEWARD_*`` (its own
    identity from ``STEWARD_SERVER_TOKEN``, which ``steward serve`` sets)."""
    from threadpoolctl import threadpool_limits

    from steward.settings import Settings

    # Loading a model through skops walks scikit-learn's estimators (its trusted types), and
    # scikit-learn's testing helpers import pytest whenever it is installed, as it often is
    # beside a data scientist's models: ~6 MB a worker of a test framework that a server
    # never runs. A None entry fails that import as if pytest were absent (scikit-learn
    # expects it may be); a process that already holds pytest (a test's in-process server)
    # keeps it.
    for name in ("pytest", "_pytest"):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]

    # One BLAS/OpenMP thread per worker: peers that leave it unbounded were measured at
    # 1,000x their latency under contention.
    threadpool_limits(limits=1)
    # The log's writer thread hands batches back to the event loop: let it have the
    # interpreter within 0.5 ms, not the default 5 ms, while the loop runs a model.
    sys.setswitchinterval(0.0005)
    # An array given to an estimator fitted on a named frame (see LoadedVersion.takes_array)
    # has the same columns in the same order: scikit-learn's warning about it is noise here.
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    settings = Settings()
    secret = settings.server_token
    token = secret.get_secret_value() if secret is not None else None
    from steward.api import mount

    app = create_app(lambda: build_state(settings, token))
    mount(app)  # the REST API, /api/v1, on the same application
    return app
