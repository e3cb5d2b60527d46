"""Shared fixtures: a deterministic clock, a store on each backend, an initialised home.

Tests that take ``db_url`` (directly or through ``settings``/``home``/``app``) run once on
SQLite and once on PostgreSQL. PostgreSQL comes from ``STEWARD_TEST_PG_URL`` (``make test``
starts a throw-away server); without it those runs are skipped locally, and fail when
``STEWARD_REQUIRE_PG=1`` (as in CI) so a missing server can never pass silently.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from steward.app import Application, InitResult, initialize
from steward.cli import main
from steward.domain import Actor
from steward.settings import Settings

PG_URL = os.environ.get("STEWARD_TEST_PG_URL")
REQUIRE_PG = os.environ.get("STEWARD_REQUIRE_PG") == "1"


class StepClock:
    """A clock that starts at a fixed moment and advances one millisecond per reading."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime(2026, 1, 15, 9, 30, tzinfo=UTC)

    def now(self) -> datetime:
        self.moment += timedelta(milliseconds=1)
        return self.moment


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


def _pg_database() -> Iterator[str]:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("STEWARD_REQUIRE_PG=1 but STEWARD_TEST_PG_URL is not set")
        pytest.skip("no PostgreSQL server (set STEWARD_TEST_PG_URL or run `make test`)")
    name = f"steward_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from _pg_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_database()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings of a home (not yet created) whose store is on the backend under test."""
    url = None if db_url.startswith("sqlite") else db_url
    return Settings(home=tmp_path / "home", db_url=url)


@pytest.fixture
def home(settings: Settings, clock: StepClock) -> InitResult:
    return initialize(settings, clock=clock)


@pytest.fixture
def app(settings: Settings, home: InitResult, clock: StepClock) -> Iterator[Application]:
    with Application.open(settings, clock=clock) as application:
        yield application


@pytest.fixture
def admin(app: Application, home: InitResult) -> Actor:
    return app.authenticate(home.token)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


Run = Callable[..., Result]


@pytest.fixture
def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    """Run ``steward ARGS`` in this process with the test home's environment."""

    def run(*args: str, token: str | None = None) -> Result:
        monkeypatch.setenv("STEWARD_HOME", str(settings.home))
        if settings.db_url:
            monkeypatch.setenv("STEWARD_DB_URL", settings.db_url)
        if token is None:
            monkeypatch.delenv("STEWARD_TOKEN", raising=False)
        else:
            monkeypatch.setenv("STEWARD_TOKEN", token)
        monkeypatch.setattr(sys, "argv", ["steward", *args])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def initialised(cli: Run) -> Run:
    result = cli("init")
    assert result.code == 0, result.stderr
    return cli


@pytest.fixture
def sdk_env(settings: Settings, home: InitResult, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment of a data scientist using the SDK against this test home."""
    monkeypatch.setenv("STEWARD_HOME", str(settings.home))
    if settings.db_url:
        monkeypatch.setenv("STEWARD_DB_URL", settings.db_url)
    with Application.open(settings) as app:
        _, token = app.identity.add_user(app.authenticate(home.token), "dana", ["data_scientist"])
    monkeypatch.setenv("STEWARD_TOKEN", token)
    return settings
