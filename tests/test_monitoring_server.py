"""Monitors scheduled inside a real ``steward serve`` (2 workers, a loopback port): a due
monitor runs once, in a child process of one worker, and the alert's ``suspend`` takes the
drifted version off the running server within its reload bound, ledgered. Beside it, the
parts that make it so: of two workers' schedulers asked at once, one starts the run (the
per-monitor lock); a worker's refresher ticks its scheduler apart from the refresh."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from factories import monitoring_models
from serving_server import Server
from steward.app import Application, initialize
from steward.monitoring import MonitorScheduler
from steward.serving import RELOAD_SECONDS, ServerState
from steward.serving._metrics import Metrics
from steward.settings import Settings
from steward.testing import make_home
from test_monitoring import _traffic

BOUND_SECONDS = 90.0  # a child process's start and run, then the server's reload bound

MONITOR = """\
format: steward.monitor/v1
name: scheduled
endpoint: credit
window: {rows: 500}
schedule: 1h
alerts:
  - {name: inputs, when: input_drift, severity: high, actions: [notify, suspend]}
"""


class Home:
    def __init__(self, root: Path) -> None:
        self.settings = Settings(home=root / "home")
        init = initialize(self.settings)
        with Application.open(self.settings) as app:
            facts = monitoring_models(app, init)
            self.tokens: dict[str, str] = facts["tokens"]
            self.refs: list[str] = facts["refs"]
            eli = app.authenticate(self.tokens["eli"])
            self.predict = app.identity.issue_token(eli, scopes=["predict:credit"])[1]
            _traffic(app, eli, self.refs[1], 500, seed=61, shift=15.0)
            app.monitoring.apply(eli, MONITOR, "scheduled.yaml")
        self.admin = init.token

    def app(self) -> Application:
        return Application.open(self.settings)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    return Home(tmp_path_factory.mktemp("monitoring-server"))


@pytest.fixture(scope="module")
def server(home: Home) -> Iterator[Server]:
    running = Server(home.settings.home, home.tokens["eli"], workers=2).start()
    yield running
    running.stop()


def _served(server: Server, home: Home) -> Any:
    answer = server.post(
        "/predict/credit",
        {"instances": [{"income": 50.0, "debts": 1, "region": "north"}]},
        home.predict,
    )
    return answer.json().get("model") if answer.status_code == 200 else answer.status_code


def _answers(server: Server, home: Home, requests: int = 12) -> set[Any]:
    return {_served(server, home) for _ in range(requests)}


def test_a_due_monitor_runs_once_and_its_suspension_reaches_the_running_server(
    server: Server, home: Home
) -> None:
    deadline = time.monotonic() + BOUND_SECONDS
    while _served(server, home) != home.refs[0] and time.monotonic() < deadline:
        time.sleep(0.5)
    # Each worker reloads on its own tick: one answering from the stable version does not
    # mean the other does yet. Past the reload bound, every answer must (the kernel spreads
    # these new connections across both workers). A second run would have started by now too.
    time.sleep(RELOAD_SECONDS + 4)
    log = home.settings.home / "run" / "monitor-scheduled.log"
    said = log.read_text() if log.exists() else "no monitor log"
    assert _answers(server, home) == {home.refs[0]}, (
        f"{said}\nreadyz: {server.get('/readyz').text}\nserver: {server.output.read_text()}"
    )
    with home.app() as app:
        admin = app.authenticate(home.admin)
        runs = app.monitoring.runs(admin, "scheduled")
        assert [r.subject for r in runs] == [f"model:{home.refs[1]}"]
        assert runs[0].created_by == "eli"  # the server's own identity
        (alert,) = app.alerts.alerts(admin, status="open")
        assert alert.current.rule == "inputs"
        state = app.deployments.current(admin, "credit")
        assert state.action == "rollback" and alert.id[:12] in state.reason
        assert app.audit.verify(admin).ok


def _scheduler(home: Path, due: list[str]) -> MonitorScheduler:
    """A worker's scheduler on ``home`` whose store says ``due`` is due, checking at every
    tick; its runs are real children (which find no home there and end within seconds)."""
    app = SimpleNamespace(
        settings=SimpleNamespace(home=home), monitoring=SimpleNamespace(due=lambda _: list(due))
    )
    actor = SimpleNamespace(name="server", can=lambda _: True)
    return MonitorScheduler(app, actor, "token", check_seconds=0.0)


def test_of_two_workers_ticking_at_once_one_starts_a_due_monitor(tmp_path: Path) -> None:
    due = ["scheduled"]
    workers = (_scheduler(tmp_path, due), _scheduler(tmp_path, due))
    together = threading.Barrier(2)

    def tick(scheduler: MonitorScheduler) -> list[str]:
        together.wait(timeout=10)
        return scheduler.tick()

    with ThreadPoolExecutor(2) as pool:
        started = list(pool.map(tick, workers))
    assert sorted(started) == [[], ["scheduled"]]
    running, other = workers if started[0] else workers[::-1]
    try:
        assert other.tick() == []  # the run holds its lock until it ends and is reaped
        running.stop(timeout=30)
        assert other.tick() == ["scheduled"]  # released: still due, so the other runs it
        other.stop(timeout=30)
        due.clear()
        assert running.tick() == other.tick() == []
    finally:
        running.stop(timeout=0)
        other.stop(timeout=0)


class _Failing(MonitorScheduler):
    def __init__(self, app: Any, actor: Any) -> None:
        super().__init__(app, actor, None)
        self.ticks = 0
        self.stopped = False

    def tick(self) -> list[str]:
        self.ticks += 1
        raise RuntimeError("the store is away")

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped = True


def test_a_failing_scheduler_neither_stops_nor_skips_the_refresh(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", role="ml_engineer", user="eli")
    with Application.open(home.settings, delivery="deferred") as app:
        actor = app.authenticate(home.token)
        failing = _Failing(app, actor)
        state = ServerState(app, actor, metrics=Metrics(), reload_seconds=0.05, scheduler=failing)
        state.start()
        try:
            rebuilds = state.rebuilds
            app.identity.issue_token(actor, scopes=["predict:credit"])  # the ledger moves
            deadline = time.monotonic() + 10
            while state.rebuilds == rebuilds and time.monotonic() < deadline:
                time.sleep(0.05)
            assert state.rebuilds > rebuilds
            ticks = failing.ticks
            time.sleep(0.3)
            assert failing.ticks > ticks > 0  # it ticked on, round after round
        finally:
            state.stop()
        assert failing.stopped
