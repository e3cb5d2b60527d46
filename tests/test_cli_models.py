"""``steward train``, ``steward tune`` and ``steward model …`` as a user meets them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text

from conftest import CLI_DANA, CliSeed, Run, add_cli_user, cli_runner
from factories import credit_frame
from steward.app import Application
from steward.settings import Settings

# every command of this module's tests runs embedded, then over STEWARD_URL
pytestmark = pytest.mark.both_modes


def _credit(run: Run, settings: Settings) -> dict[str, Any]:
    """dana, and the credit dataset she registered from credit.csv."""
    dana = add_cli_user(run, "dana", "data_scientist")
    path = settings.home.parent / "credit.csv"
    credit_frame().to_csv(path, index=False)
    result = run(
        "dataset", "register", str(path), "--name", "credit", "--target", "approved",
        "--sensitive", "group", token=dana,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    return {"dana": dana}


@pytest.fixture
def cli_seed(request: pytest.FixtureRequest) -> CliSeed:
    if "credit" in request.fixturenames:
        return CliSeed("cli-models-credit", _credit)
    return CLI_DANA if "dana" in request.fixturenames else CliSeed("initialised-by-cli")


@pytest.fixture
def dana(initialised: Run, cli_seeded: dict[str, Any]) -> str:
    return str(cli_seeded["dana"])


@pytest.fixture
def credit(initialised: Run, dana: str) -> Run:
    return initialised


def _state(settings: Settings) -> tuple[int, int, int, int, list[str]]:
    """What a refused command must leave unchanged: ledger, runs, models, tuning journal,
    artifacts."""
    with Application.open(settings) as app:
        with app.store.read() as reader:
            counts = (reader.event_count(), len(reader.runs(limit=None)), len(reader.models()))
        with app.store.engine.connect() as conn:
            journal = conn.execute(text("SELECT COUNT(*) FROM tuning_journal")).scalar_one()
    files = sorted(str(p) for p in Path(settings.artifacts_location).rglob("*") if p.is_file())
    return (*counts, journal, files)


@pytest.mark.slow
def test_train_show_list_lineage_and_update(credit: Run, dana: str, settings: Settings) -> None:
    trained = credit(
        "train", "--dataset", "credit@1", "--name", "credit-model", "--template", "hgb",
        "--trials", "3", "--seed", "4", token=dana,
    )  # fmt: skip
    assert trained.code == 0, trained.stderr
    assert "registered credit-model@1 (hgb" in trained.stdout
    assert "left out: group (declared sensitive attribute)" in trained.stdout
    assert "3/3" in trained.stderr  # the progress bar, on stderr

    shown = credit("model", "show", "credit-model@1", "--json")
    document = shown.json()
    assert shown.code == 0 and document["ref"] == "credit-model@1"
    assert document["stage"] == "none" and document["format"] == "skops"
    assert document["model"]["owner"] == "dana"
    # the training data declares a sensitive attribute: the model starts at high risk
    assert document["model"]["risk_tier"] == "high"
    assert {i["name"] for i in document["signature"]["inputs"]} == {
        "income",
        "debts",
        "region",
    }
    region = next(i for i in document["signature"]["inputs"] if i["name"] == "region")
    assert region["categories"] == ["east", "north", "south"]
    assert set(document["metrics"]) == {"validation", "test"}
    assert document["split"]["seed"] == 4 and document["tuning"]["trials"] == 3
    human = credit("model", "show", "credit-model")
    assert "split" in human.stdout and "sensitive attributes: group" in human.stdout

    lineage = credit("model", "lineage", "credit-model@1")
    assert lineage.code == 0
    assert "run " in lineage.stdout and "dataset credit@1" in lineage.stdout
    assert "split " in lineage.stdout and "model.registered" in lineage.stdout

    lowered = credit("model", "update", "credit-model", "--risk-tier", "limited", token=dana)
    assert lowered.code == 3 and "policy:manage" in lowered.stderr
    updated = credit(
        "model", "update", "credit-model", "--risk-tier", "high", "--intended-use",
        "pre-screening of small loans", "--limitations", "not for mortgages", "--tag",
        "team=credit", token=dana,
    )  # fmt: skip
    assert updated.code == 0, updated.stderr
    listed = credit("model", "list", "--json").json()
    assert listed[0]["risk_tier"] == "high" and listed[0]["tags"] == {"team": "credit"}
    assert listed[0]["intended_use"] == "pre-screening of small loans"
    verified = credit("audit", "verify")
    assert verified.code == 0, verified.stdout + verified.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--template", "svm"], "unknown template 'svm'"),
        (["--dataset", "nothing@1"], "no dataset named 'nothing'"),
        (["--dataset", "credit@7"], "has no version 7"),
        (["--target", "salary"], "target column 'salary' is not in credit@1"),
        (["--name", "Bad Name"], "invalid model name"),
        (["--use-sensitive", "income"], "not a declared sensitive attribute"),
        (["--test-size", "0.9"], "fractions"),
        (["--study", "mine"], "add --trials N"),
        (["--template", "svm", "--trials", "3"], "unknown template 'svm'"),
        (["--target", "region", "--trials", "2"], "has 18 missing value(s)"),
    ],
)
def test_bad_requests_exit_2_and_leave_nothing(
    credit: Run, dana: str, settings: Settings, args: list[str], message: str
) -> None:
    before = _state(settings)
    options = {"--dataset": "credit@1", "--name": "credit-model", "--template": "logistic"}
    options.update(zip(args[::2], args[1::2], strict=True))  # the bad value replaces the good
    result = credit("train", *[item for pair in options.items() for item in pair], token=dana)
    assert result.code == 2, result.stdout + result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _state(settings) == before


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (np.ones(400, dtype=int), "is constant (1)"),
        ([1.0] * 399 + [None], "missing value"),
        ([f"c{i}" for i in range(400)], "classification takes at most 50 classes"),
    ],
    ids=["constant", "missing", "too-many-classes"],
)
def test_unusable_targets_exit_2_and_leave_nothing(
    credit: Run, dana: str, settings: Settings, tmp_path: Path, column: object, message: str
) -> None:
    frame = credit_frame()
    frame["approved"] = column
    path = tmp_path / "odd.csv"
    frame.to_csv(path, index=False)
    registered = credit("dataset", "register", str(path), "--name", "odd", token=dana)
    assert registered.code == 0, registered.stderr
    before = _state(settings)
    result = credit(
        "train", "--dataset", "odd", "--name", "odd-model", "--target", "approved", token=dana
    )
    assert result.code == 2 and message in result.stderr, result.stderr
    assert _state(settings) == before


def test_a_study_name_in_use_is_refused_before_anything_is_written(
    credit: Run, dana: str, settings: Settings
) -> None:
    args = ["--dataset", "credit", "--name", "m", "--trials", "2", "--study", "taken"]
    assert credit("train", *args, token=dana).code == 0
    before = _state(settings)
    again = credit("train", *args, token=dana)
    assert again.code == 2 and "study 'taken' already exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert _state(settings) == before
    missing = credit("tune", "nothing", "--trials", "1", token=dana)
    assert missing.code == 2 and "no study named 'nothing'" in missing.stderr
    assert _state(settings) == before


def test_another_target_never_learns_from_the_declared_one(credit: Run, dana: str) -> None:
    trained = credit(
        "train", "--dataset", "credit", "--name", "by-debts", "--target", "debts",
        "--json", token=dana,
    )  # fmt: skip
    assert trained.code == 0, trained.stderr
    document = trained.json()
    assert "approved" not in document["features"]
    assert document["excluded"]["approved"] == "the dataset's declared target"
    assert document["signature"]["output"]["task"] == "multiclass"


def test_too_few_rows_and_a_missing_target_exit_2(
    credit: Run, dana: str, settings: Settings, tmp_path: Path
) -> None:
    small = tmp_path / "small.csv"
    credit_frame(rows=25).to_csv(small, index=False)
    assert credit("dataset", "register", str(small), "--name", "small", token=dana).code == 0
    before = _state(settings)
    no_target = credit("train", "--dataset", "small", "--name", "m", token=dana)
    assert no_target.code == 2 and "declares no target column" in no_target.stderr
    tiny = credit("train", "--dataset", "small", "--name", "m", "--target", "approved", token=dana)
    assert tiny.code == 2 and "too few rows" in tiny.stderr
    assert _state(settings) == before


def test_roles_without_model_write_cannot_train_or_edit(credit: Run, settings: Settings) -> None:
    auditor = credit("user", "add", "audrey", "--role", "auditor", "--json").json()
    token = str(auditor["token"])
    before = _state(settings)
    refused = credit("train", "--dataset", "credit", "--name", "m", token=token)
    assert refused.code == 3 and "permission" in refused.stderr
    assert _state(settings) == before
    assert credit("model", "list", token=token).code == 0


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_run_trials_of_one_study_at_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    db_url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    env = {
        **os.environ,
        "STEWARD_HOME": str(tmp_path / "home"),
        "STEWARD_DB_URL": db_url,
    }
    env.pop("STEWARD_TOKEN", None)
    # the set-up in this process (as `steward` would do it); the two tuners are processes
    steward = cli_runner(Settings(home=tmp_path / "home", db_url=db_url))
    assert steward("init").code == 0
    added = json.loads(steward("user", "add", "dana", "--role", "data_scientist", "--json").stdout)
    env["STEWARD_TOKEN"] = added["token"]
    credit_frame().to_csv(tmp_path / "credit.csv", index=False)
    assert steward("dataset", "register", str(tmp_path / "credit.csv"), "--name", "credit",
                   "--target", "approved", token=added["token"]).code == 0  # fmt: skip
    first = steward("train", "--dataset", "credit", "--name", "shared-model", "--template",
                    "hgb", "--trials", "2", "--study", "shared", "--no-checks",
                    token=added["token"])  # fmt: skip
    assert first.code == 0, first.stderr

    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "steward", "tune", "shared", "--trials", "3", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], [o[1] for o in outputs]
    runs = [json.loads(out)["run"] for out, _ in outputs]

    import optuna

    from steward.services.training._journal import journal_storage

    with Application.open(Settings(home=tmp_path / "home", db_url=db_url)) as app:
        actor = app.authenticate(added["token"])
        study = optuna.load_study(study_name="shared", storage=journal_storage(app.store, "shared"))
        trials = study.get_trials()
        assert len(trials) == 2 + 3 + 3
        assert len({t.number for t in trials}) == 8
        assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
        for run_id in runs:  # each worker's trials are child runs of its own run
            children = app.runs.list_runs(actor, parent_id=run_id, limit=None)
            assert len(children) == 3
        for trial in trials:  # every trial of every process is a recorded run
            (recorded,) = app.runs.named(actor, f"shared trial {trial.number}")
            assert recorded.params["trial"] == trial.number
        assert app.audit.verify(actor).ok
