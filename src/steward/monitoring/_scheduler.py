"""Running scheduled monitors inside ``steward serve``.

Each worker's refresher (``ServerState``) holds a ``MonitorScheduler`` and ticks it: every
``CHECK_SECONDS`` it asks which monitors with a ``schedule`` are due (never run on the
version the endpoint serves now, or last run at least one schedule ago) and starts each due
one as a child process, ``python -m steward.monitoring run NAME``, as the server's own
identity (strictly: its token, never an ambient one), so that a run's crash or memory never
stays in the worker, and its work never takes the worker's interpreter from its requests.
Of several workers (or servers on one home) one runs a monitor at a time: a child is
started only under a non-blocking lock on ``run/monitor-NAME.lock`` in the home, held until
the child ends (the child holds it too, so it stays held should the worker die first), and
the store is asked again under that lock.
"""

from __future__ import annotations

import fcntl
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["CHECK_SECONDS", "MonitorScheduler"]

CHECK_SECONDS = 30.0
_log = logging.getLogger("steward.monitoring")


@dataclass
class _Child:
    process: subprocess.Popen[bytes]
    lock: IO[bytes]


class MonitorScheduler:
    """Starts due monitor runs (see the module docstring): a worker's refresher calls
    ``tick`` at each of its rounds and ``stop`` when the worker stops."""

    def __init__(
        self,
        app: Any,
        actor: Any,
        token: str | None,
        *,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self._app = app
        self._actor = actor
        self._token = token
        self._check_seconds = check_seconds
        self._last_check = -check_seconds
        self._children: dict[str, _Child] = {}
        self._folder = Path(app.settings.home) / "run"
        self._warned = False

    def due(self) -> list[str]:
        """The names of the scheduled monitors due now."""
        from steward.domain import Permission

        if not self._actor.can(Permission.MONITOR_RUN):
            if not self._warned:
                _log.warning(
                    "%s may not run monitors (monitor:run): scheduled monitors do not run",
                    self._actor.name,
                )
                self._warned = True
            return []
        names: list[str] = self._app.monitoring.due(self._actor)
        return names

    def tick(self) -> list[str]:
        """Reap finished children; at most every ``check_seconds``, start the due runs.
        The names started."""
        self._reap()
        if time.monotonic() - self._last_check < self._check_seconds:
            return []
        self._last_check = time.monotonic()
        started = []
        for name in self.due():
            if name in self._children:
                continue
            child = self._start(name)
            if child is not None:
                self._children[name] = child
                started.append(name)
        return started

    def _start(self, name: str) -> _Child | None:
        self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = (self._folder / f"monitor-{name}.lock").open("ab")
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()  # another worker or server runs it
            return None
        try:
            process = self._spawn(name, lock) if name in self.due() else None
        except BaseException:
            lock.close()
            raise
        if process is None:  # it ran meanwhile
            lock.close()
            return None
        _log.info("monitor %s: run started (pid %s)", name, process.pid)
        return _Child(process, lock)

    def _spawn(self, name: str, lock: IO[bytes]) -> subprocess.Popen[bytes]:
        from steward.settings import child_environment

        values = {"STEWARD_HOME": str(self._app.settings.home)}
        if self._token:  # the server's own identity, as its workers hold it
            values["STEWARD_SERVER_TOKEN"] = self._token
        with (self._folder / f"monitor-{name}.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "steward.monitoring", "run", name],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=child_environment(values),
                pass_fds=(lock.fileno(),),  # the lock lives as long as the run
            )

    def _reap(self) -> None:
        for name, child in list(self._children.items()):
            code = child.process.poll()
            if code is None:
                continue
            if code not in (0, 1):
                _log.warning("monitor %s: run failed with exit code %s", name, code)
            child.lock.close()  # releases the lock
            del self._children[name]

    def stop(self, timeout: float = 5.0) -> None:
        """Wait for running children, killing any still running after ``timeout`` seconds
        in all, so that a worker stops promptly and leaves no run behind (a run records its
        result in one transaction: one killed before that records nothing and is due
        again)."""
        deadline = time.monotonic() + timeout
        for child in self._children.values():
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
            child.lock.close()
        self._children.clear()
