"""Test support: temporary homes, a trained version on the bundled data, a check context.

For Steward's own tests and benchmarks, and for authors of third-party checks who want to run
``steward.checks.check_conformance`` (or their own assertions) on a real model version:

    from steward.testing import check_context, temporary_home, train_sample

    with temporary_home(role="data_scientist") as home, home.session() as (app, actor):
        version = train_sample(app, actor)
        context = check_context(app, actor, version.ref)
        check_conformance(MyCheck, context)

Everything is built the way a user builds it, through ``steward.app`` and the services (never
the store directly), so what a test sees is what the product makes. ``copy_home`` copies a
prepared home (folder and store) so that a suite can prepare one once and start each test
from its copy.

The module needs no test framework, and imports nothing heavy until a function needs it
(``import steward.testing`` is as cheap as ``import steward``).
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steward.errors import InvalidInput
from steward.settings import Settings

if TYPE_CHECKING:
    from steward.app import Application, Session
    from steward.checks import CheckContext
    from steward.domain import Actor, ModelVersion
    from steward.types import Clock

__all__ = [
    "SAMPLE_DATASET",
    "SAMPLE_MODEL",
    "ScratchHome",
    "check_context",
    "copy_home",
    "make_home",
    "temporary_home",
    "train_sample",
    "unique_database_name",
]

# The names train_sample registers the bundled mortgage applications and their model under.
SAMPLE_DATASET = "loans"
SAMPLE_MODEL = "loan-approval"


@dataclass(frozen=True, slots=True)
class ScratchHome:
    """A Steward home made for a test: its settings, the admin's token, and one user (of the
    role it was made with) and that user's token. Tokens are secrets of this home only."""

    settings: Settings
    admin_token: str
    user: str
    token: str

    def open(self, *, clock: Clock | None = None) -> Application:
        """The home's application (close it, or use it in a ``with`` block)."""
        from steward.app import Application

        return Application.open(self.settings, clock=clock)

    @contextmanager
    def session(self, *, admin: bool = False, clock: Clock | None = None) -> Iterator[Session]:
        """The application and the user (``admin``: the admin) acting through it."""
        from steward.app import open_session

        token = self.admin_token if admin else self.token
        with open_session(self.settings, token=token, clock=clock) as session:
            yield session


def make_home(
    home: Path,
    *,
    role: str = "data_scientist",
    user: str = "dana",
    db_url: str | None = None,
    clock: Clock | None = None,
) -> ScratchHome:
    """Initialise a home in ``home`` (a new or empty folder; ``db_url``: its store, default the
    embedded SQLite file) and add ``user`` with ``role`` (``steward init`` then ``steward user
    add``). ``clock`` stamps what is recorded (default: the system clock)."""
    from steward.app import Application, initialize

    settings = Settings(home=home, db_url=db_url)
    made = initialize(settings, clock=clock)
    with Application.open(settings, clock=clock) as app:
        _, token = app.identity.add_user(app.authenticate(made.token), user, [role])
    return ScratchHome(settings, made.token, user, token)


@contextmanager
def temporary_home(
    role: str = "data_scientist",
    *,
    user: str = "dana",
    db_url: str | None = None,
    clock: Clock | None = None,
) -> Iterator[ScratchHome]:
    """A home in a temporary folder (see ``make_home``), removed when the block ends. A
    PostgreSQL ``db_url`` must name an empty database; it is left as the block leaves it."""
    folder = Path(tempfile.mkdtemp(prefix="steward-home-"))
    try:
        yield make_home(folder / "home", role=role, user=user, db_url=db_url, clock=clock)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def train_sample(
    app: Application,
    actor: Actor,
    *,
    name: str = SAMPLE_MODEL,
    dataset: str = SAMPLE_DATASET,
    template: str | None = None,
    seed: int = 0,
    trials: int = 0,
    rows: int | None = None,
    checks: bool = False,
) -> ModelVersion:
    """Register the bundled mortgage applications (``steward.samples.loanapp``; the first
    ``rows`` of them if given) as ``dataset`` with their declared target and sensitive
    attributes, then train ``name`` on it (``checks``: run the default checks too, as
    ``steward train`` does). Registering the same rows again is a no-op, so several versions
    may be trained on one dataset. ``actor`` needs dataset:write and model:write."""
    from steward.samples import LOANAPP_SENSITIVE, LOANAPP_TARGET, loanapp
    from steward.services import TrainingRequest

    frame = loanapp()
    if rows is not None:
        frame = frame.head(rows)
    registered = app.datasets.register(
        actor, frame, name=dataset, target=LOANAPP_TARGET, sensitive=list(LOANAPP_SENSITIVE)
    )
    request = TrainingRequest(
        dataset=registered.version.ref,
        name=name,
        template=template,
        seed=seed,
        trials=trials,
        checks=checks,
    )
    return app.training.train(actor, request).version


def check_context(app: Application, actor: Actor, ref: str) -> CheckContext:
    """What a check judges for model version ``ref``, as the evidence service gives it: the
    version, its fitted model (hash-checked), its recorded test rows as ``X``, ``y``, ``A``
    (pandas), and the other parts of its split on request (``context.part("train")``).
    ``load_part`` uses ``app``: keep it open while the check runs. Plots are kept in
    ``context.saved``; the dataset's PII columns and evidence are left empty, as in a
    context built by hand."""
    from steward.checks import CheckContext

    version, model = app.models.load(actor, ref)
    x, y, a = app.models.load_split(actor, version.ref, "test")

    def load_part(part: str) -> tuple[Any, Any, Any]:
        return app.models.load_split(actor, version.ref, part)

    return CheckContext(
        version=version,
        model=model,
        X=x,
        y=y,
        A=a,
        load_part=load_part if version.split is not None else None,
    )


def copy_home(source: Settings, target: Settings) -> Settings:
    """Copy the home ``source`` names into ``target``: its folder (embedded database,
    artifacts, keys, witness, saved token; modes kept) to ``target.home``, which must not
    exist, and — when the store is PostgreSQL — its database into the one ``target.db_url``
    names, which must not exist either (``CREATE DATABASE … TEMPLATE``; nothing may be
    connected to the source database then, and this function ends any session that is).

    Nothing in a home names its own folder, so the copy is a home of its own: what a test
    does to it never reaches the source. Custom artifact stores and signing keys outside
    the home are refused (``InvalidInput``): they would be shared, not copied."""
    if source.artifacts_url or source.signing_key or target.artifacts_url or target.signing_key:
        raise InvalidInput("copy_home copies homes that keep their artifacts and keys inside")
    embedded = source.db_url is None or source.db_url.startswith("sqlite")
    if embedded != (target.db_url is None or target.db_url.startswith("sqlite")):
        raise InvalidInput("copy_home copies a store to a store of the same kind")
    shutil.copytree(source.home, target.home, symlinks=True)
    if embedded:
        if source.db_url is not None and target.db_url is not None:
            outside = Path(source.db_url.removeprefix("sqlite:///"))
            if not outside.is_relative_to(source.home):
                shutil.copy2(outside, Path(target.db_url.removeprefix("sqlite:///")))
        return target
    assert source.db_url is not None and target.db_url is not None
    _clone_database(source.db_url, target.db_url)
    return target


def _clone_database(source_url: str, target_url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    source, target = make_url(source_url), make_url(target_url)
    if (source.host, source.port) != (target.host, target.port):
        raise InvalidInput("copy_home clones a database within one PostgreSQL server")
    maintenance = target.set(database="postgres")
    engine = create_engine(maintenance, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": source.database},
            )
            conn.execute(
                text(
                    f"CREATE DATABASE {_quoted(target.database)} "
                    f"TEMPLATE {_quoted(source.database)}"
                )
            )
    finally:
        engine.dispose()


def _quoted(name: str | None) -> str:
    if not name or '"' in name:
        raise InvalidInput(f"not a database name copy_home can use: {name!r}")
    return f'"{name}"'


def unique_database_name(prefix: str = "steward_copy") -> str:
    """A fresh database name for ``copy_home``'s PostgreSQL target."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
