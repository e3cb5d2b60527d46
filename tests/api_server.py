"""A real uvicorn server in a thread of the test process, on a loopback port chosen at run
time, serving ``steward serve``'s application (scoring and ``/api/v1``) over a test home:
fast enough to start for each test that drives the API or runs the CLI remotely."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import uvicorn

from serving_server import free_port
from steward.settings import Settings

__all__ = ["ThreadedServer"]


class ThreadedServer:
    def __init__(self, settings: Settings, token: str) -> None:
        self.settings = settings
        self.token = token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def app(self) -> Any:
        from steward.api import mount
        from steward.serving import build_state, create_app

        app = create_app(lambda: build_state(self.settings, self.token, reload_seconds=0.2))
        mount(app)
        return app

    def start(self, timeout: float = 30.0) -> ThreadedServer:
        config = uvicorn.Config(
            self.app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise RuntimeError("the API server stopped while starting")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the API server was not up in {timeout} s")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
