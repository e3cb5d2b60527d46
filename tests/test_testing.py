"""``steward.testing``: temporary homes, the sample model, check contexts, and copies of a
home that share nothing with their source (what the suite's prepared homes rely on)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Snapshots, pg_database
from steward.checks import Check, CheckContext, check_conformance
from steward.domain import Evidence
from steward.errors import InvalidInput
from steward.samples import LOANAPP_SENSITIVE, LOANAPP_TARGET
from steward.settings import Settings
from steward.testing import (
    SAMPLE_DATASET,
    SAMPLE_MODEL,
    check_context,
    copy_home,
    make_home,
    temporary_home,
    train_sample,
)


def _files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_a_temporary_home_has_one_user_of_the_role_and_goes_away() -> None:
    with temporary_home(role="auditor", user="audra") as home:
        folder = home.settings.home
        with home.session() as (_, actor):
            assert actor.name == "audra" and {r.value for r in actor.roles} == {"auditor"}
        with home.session(admin=True) as (app, admin):
            assert admin.name == "admin"
            assert sorted(u.name for u in app.identity.list_users(admin)) == ["admin", "audra"]
        assert (folder / "steward.json").exists()
    assert not folder.exists()


class PositiveShare(Check):
    """Share of positive predictions on the test rows, and on the training rows."""

    id = "test.positive_share"
    version = "1"

    def __init__(self, *, label: int = 1) -> None:
        self.label = label

    def run(self, context: CheckContext) -> Evidence:
        reason = self.capabilities.refuses(context.version)
        if reason:
            return context.not_applicable(self, reason)
        train = context.part("train")
        assert train is not None
        shares = {
            "test": float((context.predicted == self.label).mean()),
            "train": float((context.model.predict(train[0]) == self.label).mean()),
        }
        return context.evidence(self, metrics=shares)


def test_the_sample_model_gives_a_context_a_third_party_check_conforms_on(
    tmp_path: Path,
) -> None:
    home = make_home(tmp_path / "home")
    with home.session() as (app, actor):
        version = train_sample(app, actor, rows=400, seed=3)
        assert version.ref == f"{SAMPLE_MODEL}@1"
        assert version.target == LOANAPP_TARGET and set(version.sensitive) == set(LOANAPP_SENSITIVE)
        assert version.datasets[0]["ref"] == f"{SAMPLE_DATASET}@1"
        context = check_context(app, actor, version.ref)
        assert len(context.X) == len(context.y) == len(context.A) == 80  # 20% of 400 rows
        assert not set(LOANAPP_SENSITIVE) & set(context.X.columns)
        check_conformance(PositiveShare, context)
        assert 0 < PositiveShare().run(context).metrics["train"] <= 1
        again = train_sample(app, actor, rows=400, seed=4)  # the same rows: no new dataset
        assert again.ref == f"{SAMPLE_MODEL}@2"
        assert again.datasets[0]["ref"] == f"{SAMPLE_DATASET}@1"


@pytest.fixture
def copy_url(db_url: str) -> Iterator[str | None]:
    """Where a copy's store goes: inside its home on SQLite, a database not yet made on
    PostgreSQL."""
    if db_url.startswith("sqlite"):
        yield None
    else:
        yield from pg_database(create=False)


def test_a_copied_home_refers_nowhere_to_its_source_and_changes_apart_from_it(
    tmp_path: Path, settings: Settings, copy_url: str | None
) -> None:
    source = make_home(tmp_path / "source", db_url=settings.db_url)
    with source.session() as (app, actor):
        train_sample(app, actor, rows=300)
    target = copy_home(source.settings, Settings(home=tmp_path / "copy", db_url=copy_url))

    written = str(source.settings.home).encode()
    names = sorted(str(p.relative_to(target.home)) for p in _files(target.home))
    assert names == sorted(
        str(p.relative_to(source.settings.home)) for p in _files(source.settings.home)
    )
    for path in _files(target.home):
        assert written not in path.read_bytes(), path
    assert (target.signing_key_path.stat().st_mode & 0o077) == 0

    copied = type(source)(target, source.admin_token, source.user, source.token)
    with copied.session(admin=True) as (app, admin):
        assert app.audit.verify(admin).ok
        app.identity.add_user(admin, "eli", ["ml_engineer"])
        assert app.models.get(admin, f"{SAMPLE_MODEL}@1").ref == f"{SAMPLE_MODEL}@1"
    with source.session(admin=True) as (app, admin):  # the source neither saw nor minds it
        assert [u.name for u in app.identity.list_users(admin)] == ["admin", "dana"]
        assert app.audit.verify(admin).ok


def test_copy_home_refuses_what_it_would_share_or_cannot_copy(tmp_path: Path) -> None:
    source = Settings(home=tmp_path / "a", artifacts_url=str(tmp_path / "shared"))
    with pytest.raises(InvalidInput, match="artifacts and keys inside"):
        copy_home(source, Settings(home=tmp_path / "b"))
    with pytest.raises(InvalidInput, match="same kind"):
        copy_home(
            Settings(home=tmp_path / "a"),
            Settings(home=tmp_path / "b", db_url="postgresql+psycopg://u@h/db"),
        )


def test_a_prepared_home_is_copied_without_a_trace_of_its_source(
    settings: Settings, home: object, snapshots: Snapshots
) -> None:
    written = str(snapshots.root).encode()
    for path in _files(settings.home):
        assert written not in path.read_bytes(), path


def test_importing_steward_testing_loads_no_test_framework_and_nothing_heavy() -> None:
    code = (
        "import sys, steward.testing\n"
        "heavy = {'pytest', 'sqlalchemy', 'sklearn', 'pandas', 'polars', 'steward.app'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
