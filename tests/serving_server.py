"""A real ``steward serve`` for the tests: a subprocess (uvicorn, uvloop, httptools, N
workers) on a loopback port chosen at run time, over a prepared home."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Server", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``steward serve`` in its own process group, so a kill reaches every worker."""

    def __init__(
        self, home: Path, token: str, *, workers: int = 2, env: dict[str, str] | None = None
    ) -> None:
        self.home = home
        self.env = env or {}
        self.token = token
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.output = home.parent / f"serve-{self.port}.log"

    def start(self, timeout: float = 120.0) -> Server:
        env = {
            **os.environ,
            "STEWARD_HOME": str(self.home),
            "STEWARD_TOKEN": self.token,
            "PYTHONWARNINGS": "ignore",
            **self.env,
        }
        with open(self.output, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "steward",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"steward serve exited: {self.output.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"steward serve not ready in {timeout} s: {self.output.read_text()}")

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        if kill:  # the workers are in the same group: wait for them to be gone
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.killpg(self.process.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)

    def post(
        self,
        path: str,
        body: Any,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        sent = {**(headers or {}), **({"authorization": f"Bearer {token}"} if token else {})}
        return httpx.post(f"{self.url}{path}", json=body, headers=sent, timeout=30, **kw)

    def get(self, path: str, token: str | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{self.url}{path}", headers=headers, timeout=30)
