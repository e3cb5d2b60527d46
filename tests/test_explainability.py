"""The ``explainability`` check: SHAP by model family, attributions summed back per input
column, verified against closed forms, the model's own output, and scikit-learn's
permutation importance."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import permutation_importance

import steward
from factories import context_of, credit_frame
from steward.app import Application, ambient_token
from steward.checks import CheckContext, check_conformance, get_check
from steward.checks._plots import import_shap
from steward.domain import EvidenceStatus
from steward.ml import decompose
from steward.settings import Settings


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def _context(ref: str) -> CheckContext:
    return context_of(ref, parts=True)


def _train(template: str, frame: pd.DataFrame | None = None, name: str = "credit") -> str:
    steward.register_dataset(
        credit_frame(600) if frame is None else frame,
        name=name,
        target="approved",
        sensitive=["group"],
    )
    return steward.train(
        checks=False, dataset=name, name=f"{name}-{template}", template=template, seed=1
    ).ref


def test_linear_attributions_equal_the_closed_form_summed_over_one_hot_columns(
    sdk_env: Settings,
) -> None:
    ctx = _context(_train("logistic"))
    record = get_check("explainability")(background=80, seed=4).run(ctx)
    m = record.metrics
    assert m["explainer"] == "linear" and m["units"] == "log-odds"
    assert m["background_from"] == "train" and m["background_rows"] == 80
    # with an independent background, SHAP of a linear model is coef · (z − mean background z)
    parts = decompose(ctx.model)
    assert parts is not None
    background = pd.read_parquet(io.BytesIO(ctx.saved[record.artifacts["background.parquet"]]))
    assert list(background.columns) == ["income", "debts", "region"]
    z = parts.prepare.transform(ctx.X[list(background.columns)])
    centre = parts.prepare.transform(background).mean(axis=0)
    contributions = parts.estimator.coef_[0] * (z - centre)
    sources = np.asarray(parts.sources)
    assert list(sources) == ["income", "debts", "region", "region", "region"]  # one-hot
    for column in ("income", "debts", "region"):
        expected = np.abs(contributions[:, sources == column].sum(axis=1)).mean()
        assert m["mean_abs_shap"][column] == pytest.approx(expected, rel=1e-9)
    assert m["additivity_gap"] < 1e-9
    assert m["ranking"][0] == "income"  # the label is driven by income, then region
    assert record.status is EvidenceStatus.PASSED


@pytest.mark.parametrize("template", ["forest", "xgboost", "lightgbm"])
def test_tree_models_get_exact_tree_shap_that_adds_up_to_the_models_output(
    sdk_env: Settings, template: str
) -> None:
    ctx = _context(_train(template))
    record = get_check("explainability")(seed=1).run(ctx)
    m = record.metrics
    assert m["explainer"] == "tree"
    assert m["additivity_gap"] < 1e-5  # float32 boosters; float64 forest is ~1e-15
    assert m["rows_explained"] == len(ctx.X)
    assert set(m["mean_abs_shap"]) == {"income", "debts", "region"}
    assert m["ranking"][0] == "income"
    # permutation importance: exactly scikit-learn's on the same rows and seed
    theirs = permutation_importance(
        ctx.model,
        ctx.X[["income", "debts", "region"]],
        np.asarray(ctx.y),
        scoring="roc_auc",
        n_repeats=5,
        random_state=1,
        n_jobs=1,
    )
    assert list(m["permutation_importance"].values()) == theirs["importances_mean"].tolist()
    assert m["rank_agreement"]["top"] == 3 and m["rank_agreement"]["top_overlap"] == 1.0
    from scipy.stats import spearmanr

    columns = list(m["permutation_importance"])
    expected = spearmanr([m["mean_abs_shap"][c] for c in columns], theirs["importances_mean"])
    assert m["rank_agreement"]["spearman"] == pytest.approx(expected.statistic, abs=1e-12)
    assert m["rank_agreement"]["spearman_top"] == m["rank_agreement"]["spearman"]  # 3 inputs


@pytest.mark.slow
def test_gradient_boosting_with_categorical_splits_is_explained_as_a_black_box(
    sdk_env: Settings,
) -> None:
    """TreeSHAP reads histogram gradient boosting's categorical splits as thresholds: its
    attributions would not add up, so the check uses the permutation explainer instead."""
    shap = import_shap()  # quiet: shap's import warns under matplotlib 3.11

    ctx = _context(_train("hgb"))
    parts = decompose(ctx.model)
    assert parts is not None and parts.family == "tree-categorical"
    z = parts.prepare.transform(ctx.X)
    wrong = shap.TreeExplainer(parts.tree_model)(z, check_additivity=False)
    gap = np.abs(wrong.values.sum(axis=1) + wrong.base_values - parts.raw_output(z)).max()
    assert gap > 1e-3  # why the tree explainer is not trusted here

    record = get_check("explainability")(black_box_rows=60, black_box_background=40).run(ctx)
    m = record.metrics
    assert m["explainer"] == "permutation" and "categorical splits" in m["black_box_reason"]
    assert m["units"] == "probability" and m["rows_explained"] == 60
    assert m["additivity_gap"] < 1e-9  # permutation attributions add up by construction
    assert m["ranking"][0] == "income"


def test_a_model_registered_from_elsewhere_is_explained_as_a_black_box(
    sdk_env: Settings,
) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    frame = credit_frame(600).dropna()
    steward.register_dataset(frame, name="plain", target="approved", sensitive=["group"])
    version = steward.train(
        checks=False, dataset="plain", name="plain-model", template="logistic", seed=0
    )
    x, y, _ = steward.load_split(version.ref, "train")
    outside = GradientBoostingClassifier(random_state=0).fit(x[["income", "debts"]], y)
    registered = steward.register_model(
        outside, name="outside", features=["income", "debts"], dataset="plain@1"
    )
    with Application.open(Settings()) as app:
        record = app.models.get(app.authenticate(ambient_token(app.settings)), registered.ref)
    assert record.split is None  # registered models carry no split: judge on plain's
    test_x, test_y, test_a = steward.load_split(version.ref, "test")
    ctx = CheckContext(
        version=record,
        model=steward.load_model(registered.ref),
        X=test_x[["income", "debts"]],
        y=test_y,
        A=test_a,
    )
    result = get_check("explainability")(black_box_rows=50, black_box_background=30).run(ctx)
    m = result.metrics
    assert m["explainer"] == "permutation" and m["black_box_reason"].startswith("not a pipeline")
    assert m["background_from"] == "test"
    assert m["additivity_gap"] < 1e-9
    assert m["ranking"] == ["income", "debts"]


def test_multiclass_models_are_explained_per_class(sdk_env: Settings) -> None:
    frame = credit_frame(600)
    frame["approved"] = np.select(
        [frame["income"] < 42, frame["income"] < 58], ["low", "mid"], default="high"
    )
    ctx = _context(_train("forest", frame, name="tiers"))
    record = get_check("explainability")(seed=2).run(ctx)
    m = record.metrics
    assert m["explainer"] == "tree" and m["output"] == ["high", "low", "mid"]
    assert m["additivity_gap"] < 1e-9 and len(m["expected_value"]) == 3
    assert m["ranking"][0] == "income" and m["permutation_scoring"] == "neg_log_loss"


def test_explainability_conforms_and_stores_plots_and_background(sdk_env: Settings) -> None:
    ref = _train("forest")
    ctx = _context(ref)
    check_conformance(get_check("explainability"), ctx)
    with Application.open(Settings()) as app:
        actor = app.authenticate(ambient_token(app.settings))
        (record,) = app.evidence.run(actor, ref, ["explainability"])
        assert set(record.artifacts) == {
            "shap_bar.png",
            "shap_beeswarm.png",
            "background.parquet",
        }
        for name, key in record.artifacts.items():
            data = app.artifacts.get_bytes(key)
            if name.endswith(".png"):
                assert data.startswith(b"\x89PNG")
            else:
                background = pd.read_parquet(io.BytesIO(data))
                train_x, _, _ = steward.load_split(ref, "train")
                assert len(background) == 100
                # rows of the training part, as they are
                merged = background.merge(train_x.drop_duplicates(), how="left", indicator=True)
                assert (merged["_merge"] == "both").all()


def _contacts() -> pd.DataFrame:
    """Credit applications with each applicant's e-mail address, which the PII scan flags."""
    frame = credit_frame(600)
    frame["email"] = [f"applicant{i % 40}@mail{i % 7}.example.org" for i in range(len(frame))]
    return frame


@pytest.mark.parametrize("template", ["logistic", "hgb", "forest"])
def test_the_stored_background_holds_no_pii_or_sensitive_values(
    sdk_env: Settings, template: str
) -> None:
    """Inputs opted in with --use-pii and --use-sensitive are missing in every stored
    background row; the check explains against that same sample, so a later explanation of
    one prediction against the stored background has the check's own baseline."""
    frame = _contacts()
    dataset = steward.register_dataset(
        frame, name="contacts", target="approved", sensitive=["group"]
    )
    assert "email" in dataset.pii_columns
    version = steward.train(
        checks=False,
        dataset="contacts",
        name=f"contacts-{template}",
        template=template,
        use_pii=["email"],
        use_sensitive=["group"],
        seed=1,
    )
    assert {"email", "group"} <= set(version.features)
    with Application.open(Settings()) as app:
        (record,) = app.evidence.run(
            app.authenticate(ambient_token(app.settings)),
            version.ref,
            ["explainability"],
            params={
                "explainability": {"black_box_rows": 40, "black_box_background": 20, "repeats": 2}
            },
        )
        data = app.artifacts.get_bytes(record.artifacts["background.parquet"])
    m = record.metrics
    assert set(m["background_redacted"]) == {"email", "group"}
    assert m["additivity_gap"] < 1e-5 and record.check_version == "3"
    background = pd.read_parquet(io.BytesIO(data))
    assert set(background.columns) == set(version.features)
    assert len(background) == m["background_rows"] == (20 if template == "hgb" else 100)
    assert background["email"].isna().all() and background["group"].isna().all()
    assert b"example.org" not in data and b"applicant" not in data
    # the other inputs are training rows as they are
    train_x, _, _ = steward.load_split(version.ref, "train")
    kept = ["income", "debts", "region"]
    merged = background[kept].merge(train_x[kept].drop_duplicates(), how="left", indicator=True)
    assert (merged["_merge"] == "both").all()
    # the stored background is a valid model input: the model predicts on it
    model = steward.load_model(version.ref)
    assert len(model.predict_proba(background)) == len(background)
    if template != "logistic":
        return
    # a later explanation against the stored sample: the closed form of linear SHAP gives
    # exactly the check's attributions, and SHAP's own explainer one prediction that adds up
    shap = import_shap()  # quiet: shap's import warns under matplotlib 3.11

    ctx = _context(version.ref)
    parts = decompose(ctx.model)
    assert parts is not None
    columns = list(background.columns)
    z = np.asarray(parts.prepare.transform(ctx.X[columns]), dtype=np.float64)
    reference = np.asarray(parts.prepare.transform(background), dtype=np.float64)
    contributions = parts.estimator.coef_[0] * (z - reference.mean(axis=0))
    sources = np.asarray(parts.sources)
    for column in columns:
        expected = np.abs(contributions[:, sources == column].sum(axis=1)).mean()
        assert m["mean_abs_shap"][column] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    masker = shap.maskers.Independent(reference, max_samples=len(reference))
    one = shap.LinearExplainer(parts.estimator, masker)(z[:1])
    raw = np.ravel(parts.raw_output(z[:1]))[-1]
    assert float(one.values.sum() + np.ravel(one.base_values)[0]) == pytest.approx(raw, abs=1e-9)


def test_a_model_that_cannot_take_a_missing_pii_input_is_refused_not_leaked(
    sdk_env: Settings,
) -> None:
    from sklearn.linear_model import LogisticRegression

    from steward.errors import InvalidInput

    ctx = _context(_train("logistic"))
    x = ctx.X[["income", "debts"]].fillna(50.0)
    bare = LogisticRegression().fit(x, ctx.y)  # no imputer: raises on a missing value
    version = replace(ctx.version, signature={"inputs": [], "output": {"classes": [0, 1]}})
    bare_ctx = replace(ctx, version=version, model=bare, X=x, pii_columns=("income",))
    with pytest.raises(InvalidInput, match=r"cannot predict with its PII or sensitive input\(s\) "
                       r"income missing"):  # fmt: skip
        get_check("explainability")(black_box_rows=20, black_box_background=10).run(bare_ctx)
    assert not bare_ctx.saved  # nothing stored
