"""Regression, end to end: a numeric target trains a regressor (ridge, hgb, forest), its
recorded metrics and its evidence equal scikit-learn's, and the checks that cannot judge a
regressor say so."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

import steward
from conftest import Run
from factories import context_of, diabetes
from steward.app import Application, ambient_token
from steward.checks import CheckContext, check_conformance, get_check
from steward.domain import EvidenceStatus
from steward.ml import decompose
from steward.settings import Settings


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def registered(sdk_env: Settings) -> str:
    return steward.register_dataset(
        diabetes(), name="diabetes", target="target", sensitive=["sex"]
    ).ref


def _context(ref: str) -> CheckContext:
    return context_of(ref, parts=True)


def test_a_numeric_target_trains_a_regressor_whose_metrics_reproduce(registered: str) -> None:
    version = steward.train(checks=False, dataset=registered, name="progression", seed=3)
    assert version.task == "regression" and version.template == "ridge"  # the default
    assert version.signature["output"] == {
        "type": "value",
        "task": "regression",
        "target": "target",
    }
    assert "sex" not in version.features and version.split is not None
    assert version.split["stratified_by"] == "target quantile bins"
    model = steward.load_model(version.ref)
    for part in ("validation", "test"):
        x, y, _ = steward.load_split(version.ref, part)
        predicted = model.predict(x)
        assert version.metrics[part] == {
            "rmse": metrics.root_mean_squared_error(y, predicted),
            "mae": metrics.mean_absolute_error(y, predicted),
            "r2": metrics.r2_score(y, predicted),
        }
    assert version.metrics["test"]["r2"] > 0.3
    # every part's target spans the range: stratified by quantile bins
    tests = [steward.load_split(version.ref, p)[1] for p in ("train", "validation", "test")]
    assert all(t.min() < 100 and t.max() > 250 for t in tests)


def test_tuning_a_gradient_boosting_regressor_maximizes_validation_r2(registered: str) -> None:
    version = steward.train(
        checks=False, dataset=registered, name="tuned", template="hgb", trials=3, seed=1
    )
    assert version.tuning is not None and version.tuning["metric"] == "validation r2"
    with Application.open(Settings()) as app:
        actor = app.authenticate(ambient_token(app.settings))
        trials = app.runs.named(actor, f"{version.tuning['study']} trial 0")
        points = app.runs.metrics(actor, trials[0].id)
        assert {p.key for p in points} == {"validation_r2"}


@pytest.mark.slow
def test_regression_evidence_equals_scikit_learns(registered: str) -> None:
    frame = diabetes()
    frame["progress_copy"] = frame["target"] * 2 + 1  # recorded after the outcome
    steward.register_dataset(frame, name="leaky", target="target", sensitive=["sex"])
    ref = steward.train(
        checks=False, dataset="leaky", name="leaky-model", template="forest", seed=2
    ).ref
    ctx = _context(ref)
    y = np.asarray(ctx.y, dtype=float)
    predicted = ctx.model.predict(ctx.X)

    performance = get_check("performance")(bootstrap=50, seed=4).run(ctx)
    m = performance.metrics
    assert m["rmse"] == metrics.root_mean_squared_error(y, predicted)
    assert m["mae"] == metrics.mean_absolute_error(y, predicted)
    assert m["r2"] == metrics.r2_score(y, predicted)
    assert m["ci"]["r2"][0] <= m["r2"] <= m["ci"]["r2"][1]
    assert m["residuals"]["mean"] == pytest.approx(float(np.mean(y - predicted)), abs=1e-9)
    assert set(performance.artifacts) == {"residuals.png"}

    privacy = get_check("privacy")().run(ctx)
    assert ("target_leakage", "progress_copy") in {(f.code, f.column) for f in privacy.findings}
    assert privacy.metrics["target_r2"]["progress_copy"] >= 0.98
    assert privacy.metrics["target_r2"]["bmi"] < 0.98

    explained = get_check("explainability")(seed=1).run(ctx)
    assert explained.metrics["explainer"] == "tree" and explained.metrics["units"] == "target"
    assert explained.metrics["additivity_gap"] < 1e-6
    assert explained.metrics["ranking"][0] == "progress_copy"
    assert explained.metrics["permutation_scoring"] == "r2"

    robustness = get_check("robustness")(seed=1).run(ctx)
    assert set(robustness.metrics["flip_rate"]) == {"noise", "missing"}
    assert all(0.0 <= r <= 1.0 for r in robustness.metrics["flip_rate"].values())

    fairness = get_check("fairness")().run(ctx)
    assert fairness.status is EvidenceStatus.NOT_APPLICABLE
    assert "regression models are outside" in fairness.metrics["reason"]

    for check in ("performance", "privacy", "robustness", "explainability"):
        check_conformance(get_check(check), ctx)


def test_ridge_attributions_equal_the_closed_form(registered: str) -> None:
    ctx = _context(steward.train(checks=False, dataset=registered, name="linear", seed=0).ref)
    record = get_check("explainability")(background=60).run(ctx)
    parts = decompose(ctx.model)
    assert parts is not None and parts.family == "linear"
    inputs = [i["name"] for i in ctx.version.signature["inputs"]]
    z = parts.prepare.transform(ctx.X[inputs])
    stored = pd.read_parquet(io.BytesIO(ctx.saved[record.artifacts["background.parquet"]]))
    centre = parts.prepare.transform(stored).mean(axis=0)
    contributions = parts.estimator.coef_ * (z - centre)
    for j, column in enumerate(inputs):
        expected = float(np.abs(contributions[:, j]).mean())
        assert record.metrics["mean_abs_shap"][column] == pytest.approx(expected, rel=1e-9)


def test_regression_requests_that_cannot_work_exit_2(
    initialised: Run, tmp_path: Path, settings: Settings
) -> None:
    created = initialised("user", "add", "dana", "--role", "data_scientist", "--json").json()
    token = str(created["token"])
    path = tmp_path / "diabetes.csv"
    frame = diabetes()
    frame["tier"] = [f"t{i}" for i in range(len(frame))]
    frame.to_csv(path, index=False)
    assert initialised("dataset", "register", str(path), "--name", "d", token=token).code == 0
    base = ["train", "--dataset", "d", "--name", "m", "--target", "target"]
    cases = [
        (["--task", "classification"], "classification takes at most 50 classes"),
        (["--template", "logistic"], "template 'logistic' does not do regression"),
        (["--task", "regression", "--target", "tier"], "'tier' is not numeric"),
        (["--task", "guess"], "unknown task 'guess'"),
    ]
    for extra, message in cases:
        result = initialised(*base, *extra, token=token)
        assert result.code == 2, (extra, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    trained = initialised(*base, "--template", "hgb", "--no-checks", token=token)
    assert trained.code == 0, trained.stderr
    assert "r2" in trained.stdout
    shown = initialised("model", "show", "m", token=token)
    assert "regressor (hgb)" in shown.stdout
