"""Standard pipelines: built from a dataset's schema and missing-data policy.

Each template is a scikit-learn ``Pipeline``: ``InputFrame`` (pick and coerce the input
columns) → a ``ColumnTransformer`` that imputes as the dataset's missing-data policy says and
encodes categories as the estimator needs (one-hot and scaling for the linear model, ordinal
codes for the trees) → the estimator. Tree templates grow in stages (warm start), reporting
the validation score after each, so Optuna can prune a poor trial early.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from steward.domain import MissingPolicy
from steward.ml._boosters import BOOSTER_FORMATS, BoosterClassifier, installed
from steward.ml._frame import InputFrame

__all__ = ["TEMPLATES", "Template", "fit_staged"]

# Categories beyond this many are grouped as "infrequent" by the ordinal encoder (histogram
# gradient boosting takes at most 255 levels per categorical feature).
_MAX_LEVELS = 250


@dataclass(frozen=True)
class Template:
    name: str
    summary: str
    defaults: dict[str, Any]
    suggest: Callable[[Any], dict[str, Any]]
    estimator: Callable[[dict[str, Any], int, int, int], Any]
    one_hot: bool
    # (parameter grown by warm start, its final value, number of stages); None: one fit
    growth: tuple[str, int, int] | None = None
    # the gradient-boosting library whose native format the model is saved in, if any
    library: str | None = None
    # the estimator for a numeric target, if the template can regress (same parameters)
    regressor: Callable[[dict[str, Any], int, int, int], Any] | None = None
    classifies: bool = True

    @property
    def tasks(self) -> tuple[str, ...]:
        """``classification`` and/or ``regression``."""
        return tuple(
            task
            for task, able in (
                ("classification", self.classifies),
                ("regression", self.regressor is not None),
            )
            if able
        )

    @property
    def format(self) -> str:
        """The model file format versions of this template are saved in."""
        return BOOSTER_FORMATS[self.library] if self.library else "skops"

    def build(
        self,
        numeric: tuple[str, ...],
        categorical: tuple[str, ...],
        params: dict[str, Any],
        seed: int,
        missing: MissingPolicy,
        regression: bool = False,
    ) -> Pipeline:
        """An unfitted pipeline for these input columns and hyper-parameters (a regressor
        when ``regression``)."""
        numeric_steps: list[tuple[str, Any]] = [("impute", _imputer(missing.numeric_strategy))]
        if self.one_hot:
            numeric_steps.append(("scale", StandardScaler()))
            encoder: Any = OneHotEncoder(handle_unknown="ignore")
        else:
            encoder = OrdinalEncoder(
                handle_unknown="use_encoded_value",
                # unseen levels: histogram boosting treats negative codes as missing; the
                # forest sees -1 as a code below every known level
                unknown_value=-1,
                max_categories=_MAX_LEVELS,
            )
        categorical_steps = [
            ("impute", _imputer(missing.categorical_strategy, categorical=True)),
            ("encode", encoder),
        ]
        prepare = ColumnTransformer(
            [
                ("numeric", Pipeline(numeric_steps), list(numeric)),
                ("categorical", Pipeline(categorical_steps), list(categorical)),
            ],
            sparse_threshold=0.0,
        )
        make = self.estimator
        if regression:
            if self.regressor is None:
                raise ValueError(f"template {self.name} does not regress")
            make = self.regressor
        model = make({**self.defaults, **params}, seed, len(numeric), len(categorical))
        return Pipeline(
            [
                ("inputs", InputFrame(numeric=numeric, categorical=categorical)),
                ("prepare", prepare),
                ("model", model),
            ]
        )

    def stages(self) -> list[dict[str, int]]:
        """The warm-start schedule: parameter settings to fit in turn (one fit if none)."""
        if self.growth is None:
            return [{}]
        name, final, count = self.growth
        return [{name: final * (i + 1) // count} for i in range(count)]


def _imputer(strategy: str, *, categorical: bool = False) -> SimpleImputer:
    if strategy == "constant":
        return SimpleImputer(strategy="constant", fill_value="missing" if categorical else 0)
    return SimpleImputer(strategy=strategy)


def fit_staged(
    template: Template,
    pipeline: Pipeline,
    X: Any,
    y: Any,
    report: Callable[[int], None] | None = None,
) -> Pipeline:
    """Fit ``pipeline``; after each warm-start stage call ``report(stage)``.

    The preparation steps are fitted once; the estimator then grows stage by stage. The
    result equals fitting the same schedule again, so a refit reproduces a trial exactly.
    """
    prepare = pipeline[:-1]
    prepared = prepare.fit_transform(X, y)
    model = pipeline[-1]
    for step, settings in enumerate(template.stages()):
        if settings:
            model.set_params(**settings)
        model.fit(prepared, y)
        if report is not None:
            report(step)
    return pipeline


def _logistic(params: dict[str, Any], seed: int, _numeric: int, _categorical: int) -> Any:
    weight = params["class_weight"]
    return LogisticRegression(
        C=float(params["C"]),
        class_weight=None if weight == "none" else weight,
        max_iter=2000,
        random_state=seed,
    )


def _suggest_logistic(trial: Any) -> dict[str, Any]:
    return {
        "C": trial.suggest_float("C", 1e-3, 1e2, log=True),
        "class_weight": trial.suggest_categorical("class_weight", ["none", "balanced"]),
    }


def _hgb_family(kind: type) -> Callable[[dict[str, Any], int, int, int], Any]:
    """The histogram gradient-boosting estimator (``kind``: classifier or regressor)."""

    def build(params: dict[str, Any], seed: int, numeric: int, categorical: int) -> Any:
        return kind(
            learning_rate=float(params["learning_rate"]),
            max_leaf_nodes=int(params["max_leaf_nodes"]),
            min_samples_leaf=int(params["min_samples_leaf"]),
            l2_regularization=float(params["l2_regularization"]),
            max_iter=int(params["max_iter"]),
            categorical_features=np.array([False] * numeric + [True] * categorical, dtype=bool)
            if categorical
            else None,
            early_stopping=False,
            warm_start=True,
            random_state=seed,
        )

    return build


def _suggest_hgb(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 8, 64, log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 100, log=True),
        "l2_regularization": trial.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
    }


def _forest_family(kind: type) -> Callable[[dict[str, Any], int, int, int], Any]:
    """The random forest (``kind``: classifier or regressor)."""

    def build(params: dict[str, Any], seed: int, _numeric: int, _categorical: int) -> Any:
        depth = int(params["max_depth"])
        return kind(
            n_estimators=int(params["n_estimators"]),
            max_depth=None if depth == 0 else depth,
            min_samples_leaf=int(params["min_samples_leaf"]),
            max_features=float(params["max_features"]),
            warm_start=True,
            random_state=seed,
            n_jobs=1,
        )

    return build


def _ridge(params: dict[str, Any], seed: int, _numeric: int, _categorical: int) -> Any:
    return Ridge(alpha=float(params["alpha"]), random_state=seed)


def _suggest_ridge(trial: Any) -> dict[str, Any]:
    return {"alpha": trial.suggest_float("alpha", 1e-3, 1e3, log=True)}


def _suggest_forest(trial: Any) -> dict[str, Any]:
    return {
        "max_depth": trial.suggest_int("max_depth", 2, 24),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 50, log=True),
        "max_features": trial.suggest_float("max_features", 0.2, 1.0),
    }


TEMPLATES: dict[str, Template] = {
    "logistic": Template(
        name="logistic",
        summary="logistic regression (classification); median/mode imputation, scaling, one-hot",
        defaults={"C": 1.0, "class_weight": "none"},
        suggest=_suggest_logistic,
        estimator=_logistic,
        one_hot=True,
    ),
    "hgb": Template(
        name="hgb",
        summary="histogram gradient boosting, 200 iterations in 4 stages; classifies or regresses",
        defaults={
            "learning_rate": 0.1,
            "max_leaf_nodes": 31,
            "min_samples_leaf": 20,
            "l2_regularization": 1e-6,
            "max_iter": 200,
        },
        suggest=_suggest_hgb,
        estimator=_hgb_family(HistGradientBoostingClassifier),
        one_hot=False,
        growth=("max_iter", 200, 4),
        regressor=_hgb_family(HistGradientBoostingRegressor),
    ),
    "forest": Template(
        name="forest",
        summary="random forest, 200 trees grown in 4 stages; classifies or regresses",
        defaults={
            "n_estimators": 200,
            "max_depth": 0,
            "min_samples_leaf": 1,
            "max_features": 0.5,
        },
        suggest=_suggest_forest,
        estimator=_forest_family(RandomForestClassifier),
        one_hot=False,
        growth=("n_estimators", 200, 4),
        regressor=_forest_family(RandomForestRegressor),
    ),
    "ridge": Template(
        name="ridge",
        summary="ridge regression (numeric targets); median/mode imputation, scaling, one-hot",
        defaults={"alpha": 1.0},
        suggest=_suggest_ridge,
        estimator=_ridge,
        one_hot=True,
        regressor=_ridge,
        classifies=False,
    ),
}


def _xgboost(params: dict[str, Any], seed: int, _numeric: int, _categorical: int) -> Any:
    return BoosterClassifier(library="xgboost", params={**params, "random_state": seed})


def _suggest_xgboost(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "max_depth": trial.suggest_int("max_depth", 2, 10),
        "min_child_weight": trial.suggest_float("min_child_weight", 1.0, 20.0, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
    }


def _lightgbm(params: dict[str, Any], seed: int, _numeric: int, _categorical: int) -> Any:
    return BoosterClassifier(library="lightgbm", params={**params, "random_state": seed})


def _suggest_lightgbm(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 8, 128, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
    }


# With the extras installed: pip install 'steward-mlops[xgboost]' / '[lightgbm]'.
if installed("xgboost"):
    TEMPLATES["xgboost"] = Template(
        name="xgboost",
        summary="XGBoost (hist), 200 rounds; saved in XGBoost's own format",
        defaults={
            "n_estimators": 200,
            "learning_rate": 0.1,
            "max_depth": 6,
            "min_child_weight": 1.0,
            "subsample": 1.0,
            "colsample_bytree": 1.0,
            "reg_lambda": 1.0,
        },
        suggest=_suggest_xgboost,
        estimator=_xgboost,
        one_hot=False,
        library="xgboost",
    )
if installed("lightgbm"):
    TEMPLATES["lightgbm"] = Template(
        name="lightgbm",
        summary="LightGBM, 200 rounds; saved in LightGBM's own format",
        defaults={
            "n_estimators": 200,
            "learning_rate": 0.1,
            "num_leaves": 31,
            "min_child_samples": 20,
            "colsample_bytree": 1.0,
            "reg_lambda": 0.0,
        },
        suggest=_suggest_lightgbm,
        estimator=_lightgbm,
        one_hot=False,
        library="lightgbm",
    )
