"""Tracked runs through the SDK, as a data scientist uses them (both backends)."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

import steward
from steward.app import Application, InitResult, ambient_token
from steward.domain import RunStatus
from steward.errors import InvalidInput, PermissionDenied, Refused
from steward.provenance import capture_code
from steward.settings import Settings

# every SDK call of this module's tests runs embedded, then over STEWARD_URL
pytestmark = pytest.mark.both_modes


def test_a_run_records_params_metrics_tags_artifacts_and_is_sealed_in_the_ledger(
    sdk_env: Settings, tmp_path: Path
) -> None:
    report = tmp_path / "report.txt"
    report.write_text("confusion matrix")
    with steward.start_run("baseline", params={"C": 1.0}, tags={"team": "risk"}) as run:
        run.log_param("penalty", "l2")
        for epoch in range(5):
            run.log_metric("loss", 1 / (epoch + 1))
        run.log_metric("auc", 0.81, step=10)
        run.set_tag("stage", "exploration")
        key = run.log_artifact(report)
    sealed = run.run
    assert sealed.status is RunStatus.FINISHED and sealed.ended_at is not None
    assert sealed.params == {"C": 1.0, "penalty": "l2"}
    assert sealed.tags == {"team": "risk", "stage": "exploration"}
    assert sealed.artifacts == {"report.txt": key}
    points = run.metrics()
    assert [(p.key, p.step, p.value) for p in points] == [
        *(("loss", i, 1 / (i + 1)) for i in range(5)),
        ("auc", 10, 0.81),
    ]
    with Application.open(Settings()) as app:
        actor = app.authenticate(ambient_token(app.settings))
        (event,) = app.audit.log(actor, limit=1, type_="run.finished")
        assert event.payload["content_hash"] == sealed.content_hash
        assert event.payload["metrics"] == 6
        assert app.artifacts.get_bytes(key) == b"confusion matrix"
        verification = app.audit.verify(actor)
    # the run, and the identities: admin and dana, a token each
    assert verification.ok and verification.records_checked == 1 + 4


def test_a_block_that_raises_leaves_a_failed_run(sdk_env: Settings) -> None:
    with pytest.raises(ZeroDivisionError), steward.start_run("doomed") as run:
        run.log_metric("loss", 3.0)
        _ = 1 / 0
    assert run.run.status is RunStatus.FAILED
    assert [p.value for p in run.metrics()] == [3.0]


def test_datasets_read_inside_a_run_are_its_inputs(sdk_env: Settings) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3, 4], "y": [0, 1, 0, 1]})
    version = steward.register_dataset(frame, name="toy", target="y")
    with steward.start_run("uses-data") as run:
        steward.load_dataset("toy")
        steward.load_dataset("toy@1")  # the same version counts once
    assert run.run.inputs == ({"dataset": "toy@1", "fingerprint": version.fingerprint},)


def test_a_run_started_inside_another_is_its_child(sdk_env: Settings) -> None:
    with steward.start_run("study") as study:
        assert steward.active_run() is study
        with steward.start_run("trial-0") as trial:
            trial.log_metric("score", 0.5)
        assert steward.active_run() is study
    assert steward.active_run() is None
    assert trial.run.parent_id == study.id


def test_a_finished_run_does_not_change(sdk_env: Settings) -> None:
    with steward.start_run("done") as run:
        run.log_metric("loss", 1.0)
    with pytest.raises(Refused, match="has ended"):
        run.log_metric("loss", 0.5)
    with Application.open(Settings()) as app:
        actor = app.authenticate(ambient_token(app.settings))
        with pytest.raises(Refused, match="finished runs do not change"):
            app.runs.log_metrics(actor, run.id, [("loss", 0.5, 1)])
        with pytest.raises(Refused, match="already finished"):
            app.runs.finish(actor, run.id)
        from sqlalchemy.exc import DBAPIError

        with pytest.raises(DBAPIError, match="immutable"), app.store.engine.begin() as conn:
            conn.execute(text("UPDATE runs SET name = 'renamed'"))


def test_editing_a_sealed_run_is_detected_by_verification(sdk_env: Settings) -> None:
    with steward.start_run("sealed") as run:
        run.log_metric("auc", 0.7)
    with Application.open(Settings()) as app:
        with app.store.engine.begin() as conn:
            if app.store.dialect == "postgresql":
                conn.execute(text("DROP TRIGGER run_metrics_immutable ON run_metrics"))
            else:
                conn.execute(text("DROP TRIGGER run_metrics_no_update"))
            conn.execute(text("UPDATE run_metrics SET value = 0.99"))
        result = app.audit.verify(app.authenticate(ambient_token(app.settings)))
    assert not result.ok
    assert f"run {run.id} (sealed) does not match" in (result.problem or "")


def test_only_the_runs_owner_adds_to_it_and_auditors_cannot_start_runs(
    sdk_env: Settings, home: InitResult
) -> None:
    with Application.open(Settings()) as app:
        admin = app.authenticate(home.token)
        _, other = app.identity.add_user(admin, "eli", ["ml_engineer"])
        _, audit = app.identity.add_user(admin, "audra", ["auditor"])
        dana = app.authenticate(ambient_token(app.settings))
        run = app.runs.start(dana, "mine")
        with pytest.raises(PermissionDenied, match="it belongs to dana"):
            app.runs.log_params(app.authenticate(other), run.id, {"x": 1})
        with pytest.raises(PermissionDenied, match="may not start runs"):
            app.runs.start(app.authenticate(audit), "nope")
        assert app.runs.get(app.authenticate(audit), run.id).name == "mine"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda r: r.log_param("C", 2.0), "already logged with another value"),
        (lambda r: r.log_params({"bad": float("nan")}), "must be JSON values"),
        (lambda r: r.set_tag("k", 3), "text keys with text values"),
    ],
)
def test_bad_run_input_is_refused(sdk_env: Settings, action: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message), steward.start_run("x", params={"C": 1.0}) as r:
        action(r)  # type: ignore[operator]


def test_non_finite_metrics_are_refused(sdk_env: Settings) -> None:
    with pytest.raises(InvalidInput, match="only finite numbers"), steward.start_run("x") as r:
        r.log_metric("loss", math.inf)
        r.flush()


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_code_capture_records_commit_dirty_flag_and_diff_hash(tmp_path: Path) -> None:
    assert capture_code(tmp_path) == {"git": None}
    git(tmp_path, "init", "-q")
    (tmp_path / "train.py").write_text("print(1)\n")
    git(tmp_path, "add", "train.py")
    git(tmp_path, "commit", "-q", "-m", "first")
    clean = capture_code(tmp_path)["git"]
    assert clean["dirty"] is False and len(clean["commit"]) == 40
    assert "diff_sha256" not in clean
    (tmp_path / "train.py").write_text("print(2)\n")
    first = capture_code(tmp_path)["git"]
    (tmp_path / "train.py").write_text("print(3)\n")
    second = capture_code(tmp_path)["git"]
    assert first["dirty"] and second["dirty"]
    assert first["commit"] == second["commit"] == clean["commit"]
    assert first["diff_sha256"] != second["diff_sha256"]


def test_the_environment_is_captured(sdk_env: Settings) -> None:
    with steward.start_run("env") as run:
        pass
    environment = run.run.environment
    assert environment["python"].count(".") == 2
    assert environment["packages"]["steward-mlops"] == steward.__version__
    assert "numpy" in json.dumps(environment["packages"])
