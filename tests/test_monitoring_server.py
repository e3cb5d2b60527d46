"""Monitors scheduled inside a real ``steward serve`` (2 workers, a loopback port): a due
monitor runs once, in a child process of one worker, and the alert's ``suspend`` takes the
drifted version off the running server within its reload bound, ledgered."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from factories import monitoring_models
from serving_server import Server
from steward.app import Application, initialize
from steward.serving import RELOAD_SECONDS
from steward.settings import Settings
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
