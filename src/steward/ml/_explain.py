"""Taking a Steward pipeline apart for explanations.

An explainer made for a model family (trees, linear models) works on the estimator's own
inputs: the prepared matrix that comes out of the pipeline's preparation steps, where a
categorical column may have become several one-hot columns. ``decompose`` answers, for a
pipeline built from a template, the preparation steps, the estimator, which original input
column each prepared column came from (so attributions can be summed back per column), the
model family, and the raw output the family's explainer attributes (log-odds or
probabilities), against which an explanation's additivity is verified.
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
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from steward.ml._boosters import BoosterClassifier
from steward.ml._frame import InputFrame

__all__ = ["Decomposed", "decompose"]


@dataclass(frozen=True)
class Decomposed:
    prepare: Pipeline
    estimator: Any
    # the original input column behind each column of the prepared matrix
    sources: tuple[str, ...]
    # "tree" or "linear"; "tree-categorical" for a tree model with native categorical splits
    # (TreeSHAP implementations read those splits as thresholds, so they are not used)
    family: str
    # what the family's explainer attributes: "log-odds", "probability", or "target" (the
    # regressor's prediction)
    units: str
    # the estimator's raw output on prepared rows: (n,) for binary margins, else (n, k)
    raw_output: Callable[[np.ndarray], np.ndarray]
    # the object to hand to a tree explainer (the library model inside a booster wrapper)
    tree_model: Any = None


def decompose(model: Any) -> Decomposed | None:
    """``model`` taken apart, or ``None`` when it is not a pipeline Steward's templates build
    (an estimator registered from elsewhere): such a model is explained as a black box."""
    if not isinstance(model, Pipeline) or len(model.steps) != 3:
        return None
    inputs, prepare, estimator = (step for _, step in model.steps)
    if not isinstance(inputs, InputFrame) or not isinstance(prepare, ColumnTransformer):
        return None
    sources = _sources(prepare)
    if sources is None:
        return None
    head = Pipeline(model.steps[:-1])
    if isinstance(estimator, LogisticRegression):
        return Decomposed(head, estimator, sources, "linear", "log-odds", _margin(estimator))
    if isinstance(estimator, HistGradientBoostingClassifier):
        categorical = getattr(estimator, "is_categorical_", None)
        family = "tree-categorical" if categorical is not None and categorical.any() else "tree"
        return Decomposed(
            head, estimator, sources, family, "log-odds", _margin(estimator), estimator
        )
    if isinstance(estimator, RandomForestClassifier):
        return Decomposed(
            head,
            estimator,
            sources,
            "tree",
            "probability",
            lambda z: np.asarray(estimator.predict_proba(z), dtype=np.float64),
            estimator,
        )
    if isinstance(estimator, HistGradientBoostingRegressor | RandomForestRegressor | Ridge):
        family = "linear" if isinstance(estimator, Ridge) else "tree"
        categorical = getattr(estimator, "is_categorical_", None)
        if categorical is not None and categorical.any():
            family = "tree-categorical"
        return Decomposed(
            head,
            estimator,
            sources,
            family,
            "target",
            lambda z: np.asarray(estimator.predict(z), dtype=np.float64),
            estimator if family != "linear" else None,
        )
    if isinstance(estimator, BoosterClassifier):
        inner = estimator.estimator_
        if estimator.library == "xgboost":

            def raw(z: np.ndarray) -> np.ndarray:
                return np.asarray(inner.predict(z, output_margin=True), dtype=np.float64)

            return Decomposed(head, estimator, sources, "tree", "log-odds", raw, inner)
        booster = inner.booster_  # fitted here or loaded from LightGBM's text format

        def raw_score(z: np.ndarray) -> np.ndarray:
            return np.asarray(booster.predict(z, raw_score=True), dtype=np.float64)

        return Decomposed(head, estimator, sources, "tree", "log-odds", raw_score, booster)
    return None


def _margin(estimator: Any) -> Callable[[np.ndarray], np.ndarray]:
    def raw(z: np.ndarray) -> np.ndarray:
        return np.asarray(estimator.decision_function(z), dtype=np.float64)

    return raw


def _sources(prepare: ColumnTransformer) -> tuple[str, ...] | None:
    """The input column behind each prepared column, or ``None`` if the layout is not the
    templates' (one column per numeric input, one or one per level per categorical one)."""
    sources: list[str] = []
    for name, transformer, columns in prepare.transformers_:
        width = _width(prepare.output_indices_[name])
        if name == "remainder" or transformer == "drop":
            if width:
                return None
            continue
        columns = list(columns)
        if not columns:  # no input of this kind: the transformer was never fitted
            continue
        encoder = transformer.steps[-1][1] if isinstance(transformer, Pipeline) else transformer
        if isinstance(encoder, OneHotEncoder):
            if encoder.drop is not None or getattr(encoder, "_infrequent_enabled", False):
                return None
            counts = [len(levels) for levels in encoder.categories_]
        else:
            counts = [1] * len(columns)
        if sum(counts) != width or len(counts) != len(columns):
            return None
        for column, count in zip(columns, counts, strict=True):
            sources.extend([column] * count)
    return tuple(sources)


def _width(indices: slice) -> int:
    return int(indices.stop - indices.start)
