"""The demo's Steward server, on a loopback port chosen when it starts.

Embedded, the demo runs ``steward serve``'s application under uvicorn in a thread of its own
process once a model is deployed (the CLI runs the same app in worker processes). With
``--remote`` it runs ``steward serve`` itself as a child process from the first step, and
every step is then an HTTP call to it: the API and the scoring routes of one server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from steward.settings import Settings, child_environment

__all__ = ["DemoServer", "ServeProcess", "ThreadServer"]

START_SECONDS = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DemoServer(ABC):
    """What the steps ask of a running server: its URL and a JSON call to it."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    @abstractmethod
    def start(self) -> None:
        """Start it and return once it answers."""

    @abstractmethod
    def stop(self) -> None:
        """Stop it (its open prediction log segments sealed)."""

    def call(self, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """The status and the decoded body (JSON, else text) of one request."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data)  # noqa: S310
        request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
                raw = answer.read()
                status = answer.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        text = raw.decode("utf-8")
        return status, json.loads(text) if text.startswith(("{", "[")) else text


class ThreadServer(DemoServer):
    """``steward serve``'s application under uvicorn in a thread, as the identity of
    ``token``, re-reading deployments every half second."""

    def __init__(self, settings: Settings, token: str) -> None:
        import uvicorn

        from steward.serving import build_state, create_app

        super().__init__()
        home = Settings(home=settings.home)
        app = create_app(lambda: build_state(home, token, reload_seconds=0.5))
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="error", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not self.server.started and time.monotonic() < deadline:
            if not self.thread.is_alive():
                raise RuntimeError("the model server did not start (see the error above)")
            time.sleep(0.1)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)


class ServeProcess(DemoServer):
    """``steward serve --workers 2`` over ``settings``' home as the identity of ``token``,
    a child process writing to ``log``; stopped with SIGTERM (it seals its open prediction
    log segments as it stops), killed only if it has not stopped within a minute."""

    def __init__(self, settings: Settings, token: str, log: Path) -> None:
        super().__init__()
        self.home = settings.home
        self.token = token
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        values = {"STEWARD_HOME": str(self.home), "STEWARD_TOKEN": self.token}
        env = child_environment(values, only=True)
        command = [sys.executable, "-m", "steward", "serve", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--workers", "2"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace").strip().splitlines()[-1:]
                raise RuntimeError(f"steward serve stopped as it started: {' '.join(tail)}")
            try:
                status, _ = self.call("/healthz")
            except OSError:
                status = 0
            if status == 200:
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"steward serve did not answer on {self.url} within {START_SECONDS}s")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
