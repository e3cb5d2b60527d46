"""Shared fixtures: a deterministic clock, a store on each backend, an initialised home.

Tests that take ``db_url`` (directly or through ``settings``/``home``/``app``) run once on
SQLite and once on PostgreSQL. PostgreSQL comes from ``STEWARD_TEST_PG_URL`` (``make test``
starts a throw-away server); without it those runs are skipped locally, and fail when
``STEWARD_REQUIRE_PG=1`` (as in CI) so a missing server can never pass silently.

Homes are prepared once per test session (per xdist worker) and copied into each test
(``Snapshots``, with ``steward.testing.copy_home``): the folder to the test's ``tmp_path``
and, on PostgreSQL, the database with ``CREATE DATABASE … TEMPLATE``. ``home`` and
``initialised`` start from such a copy of a freshly initialised home; a module that sets its
tests up with users, datasets or a trained model declares that set-up once, as a ``Seed``
(for ``home``) or a ``CliSeed`` (for ``initialised``) returned by its ``seed``/``cli_seed``
fixture, and its tests start from a copy of the state that set-up builds, built once.
"""

from __future__ import annotations

import copy
import io
import json
import os
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from steward.app import Application, InitResult, initialize
from steward.cli import main
from steward.domain import Actor
from steward.ledger import Signer, generate_key_file
from steward.settings import Settings
from steward.store import Store, make_engine, migrate
from steward.testing import copy_home

PG_URL = os.environ.get("STEWARD_TEST_PG_URL")
REQUIRE_PG = os.environ.get("STEWARD_REQUIRE_PG") == "1"


MODES = ("embedded", "remote")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked ``both_modes`` runs twice: its ``cli`` commands embedded, then over
    ``STEWARD_URL`` against a real server on the same home (the body of tests the embedded
    and remote CLI share, as one storage test suite runs against every backend)."""
    if metafunc.definition.get_closest_marker("both_modes") and "mode" in metafunc.fixturenames:
        metafunc.parametrize("mode", MODES, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, start the slow tests first, spread over the workers: ``--dist
    worksteal`` hands each of N workers one contiguous N-th of the collection (idle workers
    then steal from the busiest), so each N-th begins with its share of the slow tests."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers < 2:
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    rest = [item for item in items if not item.get_closest_marker("slow")]
    ordered: list[pytest.Item] = []
    for worker in range(workers):
        size = (len(items) - len(ordered)) // (workers - worker)  # as worksteal cuts it
        share = slow[worker::workers]
        ordered += share + rest[: max(0, size - len(share))]
        del rest[: max(0, size - len(share))]
    items[:] = ordered + rest


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


# --------------------------------------------------------------------------- databases


def _pg_admin_url() -> str:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("STEWARD_TEST_PG_URL is not set but STEWARD_REQUIRE_PG=1")
        pytest.skip("no PostgreSQL server (set STEWARD_TEST_PG_URL or run `make test`)")
    return PG_URL


def _pg_execute(statement: str) -> None:
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


def pg_database(*, create: bool = True) -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards; ``create=False`` leaves
    it to be made by whoever copies a prepared one into it (``copy_home``)."""
    name = f"steward_test_{uuid.uuid4().hex[:12]}"
    url = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    if create:
        _pg_execute(f'CREATE DATABASE "{name}"')
    yield url
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Fixtures that copy a prepared home, its database included: the database must not exist yet.
_COPIES_A_HOME = ("seeded", "cli_seeded")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend (on PostgreSQL, made by the home's copy when the
    test starts from a prepared home)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        copied = any(name in request.fixturenames for name in _COPIES_A_HOME)
        yield from pg_database(create=not copied)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_database()


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    """A ledger signing key of the test's own."""
    return generate_key_file(tmp_path / "keys" / "key.pem")


@pytest.fixture
def empty_store(db_url: str, signer: Signer, clock: StepClock) -> Iterator[Store]:
    """A store at the current schema, with no rows, on the backend under test (no home)."""
    engine = make_engine(db_url)
    migrate(engine)
    engine.dispose()
    opened = Store.open(db_url, signer=lambda: signer, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings of a home (not yet created) whose store is on the backend under test."""
    url = None if db_url.startswith("sqlite") else db_url
    return Settings(home=tmp_path / "home", db_url=url)


# --------------------------------------------------------------------------- prepared homes


@dataclass
class _Source:
    settings: Settings
    facts: dict[str, Any]


class Snapshots:
    """Homes prepared once per session and backend, copied into each test that starts from
    one. ``restore`` builds the source on first use (``make(settings)`` fills a fresh home
    and returns its facts: tokens, refs, as JSON values) and copies it to ``settings``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._sources: dict[tuple[str, str], _Source] = {}
        self._databases: list[str] = []

    def restore(
        self, settings: Settings, key: str, make: Callable[[Settings], dict[str, Any]]
    ) -> dict[str, Any]:
        backend = "sqlite" if settings.db_url is None else "postgresql"
        source = self._sources.get((key, backend))
        if source is None:
            source = self._sources[(key, backend)] = self._build(key, backend, make)
        copy_home(source.settings, settings)
        return copy.deepcopy(source.facts)

    def _build(self, key: str, backend: str, make: Callable[[Settings], dict[str, Any]]) -> _Source:
        folder = Path(tempfile.mkdtemp(prefix=f"{key}-{backend}-", dir=self.root))
        db_url = None
        if backend == "postgresql":
            name = f"steward_seed_{uuid.uuid4().hex[:12]}"
            _pg_execute(f'CREATE DATABASE "{name}"')
            self._databases.append(name)
            db_url = make_url(_pg_admin_url()).set(database=name).render_as_string(False)
        settings = Settings(home=folder / "home", db_url=db_url)
        facts = make(settings)
        json.dumps(facts)  # facts are JSON values: nothing of the source home is shared
        return _Source(settings, facts)

    def close(self) -> None:
        for name in self._databases:
            _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snapshots]:
    prepared = Snapshots(tmp_path_factory.mktemp("prepared-homes"))
    yield prepared
    prepared.close()


Build = Callable[[Application, InitResult], dict[str, Any]]


@dataclass(frozen=True)
class Seed:
    """What a module's ``home`` starts from: ``build(app, home)`` run once per session and
    backend on a freshly initialised home, with ``app`` opened on it as the ``app`` fixture
    opens it (the test's clock, witness not advanced). It returns the facts its fixtures read
    back (tokens, refs). ``key`` names the state; it is unique across the suite."""

    key: str
    build: Build | None = None


@dataclass(frozen=True)
class Seeded:
    """A home copied from a prepared one, and the facts its build returned."""

    home: InitResult
    facts: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def seed() -> Seed:
    """A freshly initialised home; a module overrides this to start from a prepared one."""
    return Seed("initialised")


@pytest.fixture
def seeded(settings: Settings, clock: StepClock, seed: Seed, snapshots: Snapshots) -> Seeded:
    def make(source: Settings) -> dict[str, Any]:
        own = StepClock(clock.moment)  # the clock the test's own set-up reads
        made = initialize(source, clock=own)
        facts: dict[str, Any] = {"admin": made.admin, "token": made.token, "key": made.key_id}
        if seed.build is not None:
            app = Application.open(source, clock=own)
            try:
                facts["built"] = seed.build(app, made)
            finally:
                app.store.close()  # as the test's app is then: open, its witness unmoved
        facts["moment"] = own.moment.isoformat()
        return facts

    facts = snapshots.restore(settings, seed.key, make)
    clock.moment = datetime.fromisoformat(facts["moment"])
    made = InitResult(
        settings.home, settings.database_url, facts["admin"], facts["token"], facts["key"]
    )
    return Seeded(made, facts.get("built", {}))


@pytest.fixture
def home(seeded: Seeded) -> InitResult:
    """An initialised home (``initialize(settings, clock=clock)``), as ``seed`` prepares it."""
    return seeded.home


@pytest.fixture
def app(settings: Settings, home: InitResult, clock: StepClock) -> Iterator[Application]:
    with Application.open(settings, clock=clock) as application:
        yield application


@pytest.fixture
def admin(app: Application, home: InitResult) -> Actor:
    return app.authenticate(home.token)


# --------------------------------------------------------------------------- the CLI


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


Run = Callable[..., Result]


def _invoke() -> int:
    """``steward`` with ``sys.argv``, in this process; its exit code."""
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def _environment(monkeypatch: pytest.MonkeyPatch, settings: Settings, token: str | None) -> None:
    monkeypatch.setenv("STEWARD_HOME", str(settings.home))
    if settings.db_url:
        monkeypatch.setenv("STEWARD_DB_URL", settings.db_url)
    else:
        monkeypatch.delenv("STEWARD_DB_URL", raising=False)
    if token is None:
        monkeypatch.delenv("STEWARD_TOKEN", raising=False)
    else:
        monkeypatch.setenv("STEWARD_TOKEN", token)


@pytest.fixture
def mode(request: pytest.FixtureRequest) -> str:
    """``embedded`` (the default), or ``remote`` for a ``both_modes`` test's second run."""
    return str(getattr(request, "param", "embedded"))


@pytest.fixture
def cli(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    mode: str,
) -> Iterator[Run]:
    """Run ``steward ARGS`` in this process with the test home's environment; in ``remote``
    mode with ``STEWARD_URL`` set to a real server over the same home (uvicorn in a thread
    of this process, started with the first command, as the home's admin)."""
    servers: list[Any] = []

    def run(*args: str, token: str | None = None) -> Result:
        _environment(monkeypatch, settings, token)
        if mode == "remote":
            if not servers:
                from api_server import ThreadedServer

                admin = settings.token_path.read_text("ascii").strip()
                servers.append(ThreadedServer(settings, admin).start())
            monkeypatch.setenv("STEWARD_URL", servers[0].url)
        else:
            monkeypatch.delenv("STEWARD_URL", raising=False)
        monkeypatch.setattr(sys, "argv", ["steward", *args])
        capsys.readouterr()
        code = _invoke()
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    yield run
    for server in servers:
        server.stop()


def cli_runner(settings: Settings) -> Run:
    """``cli`` outside a test (to prepare a home): the environment is set for each command
    only, output captured in memory."""

    def run(*args: str, token: str | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as patch, redirect_stdout(out), redirect_stderr(err):
            _environment(patch, settings, token)
            patch.setattr(sys, "argv", ["steward", *args])
            code = _invoke()
        return Result(code, out.getvalue(), err.getvalue())

    return run


@dataclass(frozen=True)
class CliSeed:
    """What a module's ``initialised`` starts from: ``build(run, settings)`` runs ``steward``
    commands once per session and backend on a home made as ``steward init`` makes it (the
    system clock; ``settings.home.parent`` is a scratch folder for input files), and returns
    the facts its fixtures read back. ``key`` is unique across the suite."""

    key: str
    build: Callable[[Run, Settings], dict[str, Any]] | None = None


def add_cli_user(run: Run, name: str, role: str) -> str:
    """``steward user add NAME --role ROLE --json``; the new user's token."""
    created = run("user", "add", name, "--role", role, "--json")
    assert created.code == 0, created.stderr
    document = created.json()
    assert isinstance(document, dict)
    return str(document["token"])


# The data scientist dana, added with `steward user add` (her token is the fact "dana").
CLI_DANA = CliSeed("cli-dana", lambda run, _: {"dana": add_cli_user(run, "dana", "data_scientist")})


@pytest.fixture
def cli_seed() -> CliSeed:
    """A home just made by ``steward init``; a module overrides this to start from more."""
    return CliSeed("initialised-by-cli")


@pytest.fixture
def cli_seeded(settings: Settings, cli_seed: CliSeed, snapshots: Snapshots) -> dict[str, Any]:
    """The facts of the prepared home ``initialised`` starts from."""

    def make(source: Settings) -> dict[str, Any]:
        initialize(source)  # what `steward init` does
        return {} if cli_seed.build is None else cli_seed.build(cli_runner(source), source)

    return snapshots.restore(settings, cli_seed.key, make)


@pytest.fixture
def initialised(cli: Run, cli_seeded: dict[str, Any]) -> Run:
    """``cli`` on a home made by ``steward init`` (and prepared as ``cli_seed`` says)."""
    return cli


# --------------------------------------------------------------------------- the SDK


def add_sdk_user(settings: Settings, home: InitResult) -> str:
    """Add the data scientist ``dana`` as ``sdk_env`` does; return her token."""
    with Application.open(settings) as app:
        _, token = app.identity.add_user(app.authenticate(home.token), "dana", ["data_scientist"])
    return token


@pytest.fixture
def sdk_env(
    settings: Settings,
    home: InitResult,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> Iterator[Settings]:
    """The environment of a data scientist using the SDK against this test home (a seed that
    made her already returns her token as ``sdk_token``); in ``remote`` mode, over
    ``STEWARD_URL`` to a real server on the same home."""
    token = seeded.facts.get("sdk_token") or add_sdk_user(settings, home)
    _environment(monkeypatch, settings, token)
    if mode != "remote":
        monkeypatch.delenv("STEWARD_URL", raising=False)
        yield settings
        return
    from api_server import ThreadedServer

    with ThreadedServer(settings, home.token) as server:
        monkeypatch.setenv("STEWARD_URL", server.url)
        yield settings


def sdk_seed(key: str, build: Callable[[Settings], dict[str, Any]]) -> Seed:
    """A seed for tests that use ``sdk_env``: ``build(settings)`` calls the SDK as dana (the
    environment set as ``sdk_env`` sets it) and returns facts; ``sdk_token`` is added."""

    def prepared(app: Application, home: InitResult) -> dict[str, Any]:
        token = add_sdk_user(app.settings, home)
        with pytest.MonkeyPatch.context() as patch:
            _environment(patch, app.settings, token)
            facts = build(app.settings)
        return {**facts, "sdk_token": token}

    return Seed(key, prepared)


# --------------------------------------------------------------------------- plug-ins


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An installed distribution, as pip would leave it, registering one check."""
    package = tmp_path / "site" / "acme_checks"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(
            '''
            from steward.checks import Capabilities, Check


            class PositiveRate(Check):
                """Share of positive predictions on the test split."""

                id = "acme.positive_rate"
                version = "1.0"
                capabilities = Capabilities(tasks=frozenset({"binary"}))

                def __init__(self, *, label=1):
                    self.label = label

                def run(self, context):
                    reason = self.capabilities.refuses(context.version)
                    if reason:
                        return context.not_applicable(self, reason)
                    rate = float((context.predicted == self.label).mean())
                    return context.evidence(self, metrics={"positive_rate": rate})
            '''
        )
    )
    info = tmp_path / "site" / "acme_checks-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[steward.checks]\nacme.positive_rate = acme_checks:PositiveRate\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield
    sys.modules.pop("acme_checks", None)
