"""Fairness mitigation by group-specific thresholds (fairlearn's ``ThresholdOptimizer``).

``ThresholdOptimizer`` post-processes a fitted binary classifier: for each group of a
sensitive attribute it picks a rule on the classifier's score — a threshold, or a random mix
of two — that best serves an objective under a fairness constraint (equal selection rates,
equal odds...). Steward fits it on a version's validation rows and keeps only what it learned,
the per-group rules, as plain numbers in ``GroupThresholdClassifier``: the new version is a
scikit-learn estimator that skops saves and loads with nothing of fairlearn inside.

A rule that mixes two thresholds decides at random with a given probability. Here the draw
is a function of the row's own values and a seed, so the same request always gets the same
decision (reproducible, auditable) while decisions across rows follow the mix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

__all__ = ["MISSING_GROUP", "GroupThresholdClassifier", "group_labels"]

MISSING_GROUP = "(missing)"
CONSTRAINTS = (
    "demographic_parity",
    "equalized_odds",
    "true_positive_rate_parity",
    "false_negative_rate_parity",
    "true_negative_rate_parity",
    "false_positive_rate_parity",
)
OBJECTIVES = (
    "accuracy_score",
    "balanced_accuracy_score",
    "selection_rate",
    "true_positive_rate",
    "true_negative_rate",
)
MAX_GROUPS = 20


def group_labels(values: Any) -> np.ndarray:
    """A sensitive attribute's values as group labels: text, missing values as their own."""
    series = pd.Series(values).astype(object)
    return np.asarray(series.where(series.notna(), MISSING_GROUP).astype(str), dtype=object)


class GroupThresholdClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A fitted binary classifier (``base``) whose positive-class score is turned into
    decisions by per-group rules that fairlearn's ``ThresholdOptimizer`` fits.

    ``fit(X, y)`` reads each row's group from column ``attribute`` of ``X`` and keeps the
    rules as ``rules_``: a group's ``[[weight, operator, threshold], ...]``, the probability
    of a positive decision being the sum of the weights whose ``score operator threshold``
    holds (operators ``>`` and ``<``). A group without a rule (unseen when the rules were
    fitted) gets the base model's own decisions. ``base`` is not refitted.
    """

    def __init__(
        self,
        *,
        base: Any = None,
        attribute: str = "",
        constraint: str = "demographic_parity",
        objective: str = "balanced_accuracy_score",
        seed: int = 0,
    ) -> None:
        self.base = base
        self.attribute = attribute
        self.constraint = constraint
        self.objective = objective
        self.seed = seed

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.base.classes_)

    def fit(self, X: Any, y: Any) -> GroupThresholdClassifier:
        from fairlearn.postprocessing import ThresholdOptimizer

        optimizer = ThresholdOptimizer(
            estimator=self.base,
            constraints=self.constraint,
            objective=self.objective,
            prefit=True,
            predict_method="predict_proba",
        )
        optimizer.fit(X, y, sensitive_features=group_labels(X[self.attribute]))
        interpolations = optimizer.interpolated_thresholder_.interpolation_dict
        self.rules_ = {str(group): _rule(i) for group, i in interpolations.items()}
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Per row: the probability that the rule decides negative or positive (for a group
        without a rule, the base model's probabilities)."""
        base = np.asarray(self.base.predict_proba(X), dtype=np.float64)
        score = base[:, 1]
        groups = group_labels(X[self.attribute])
        positive = base[:, 1].copy()
        for group, parts in self.rules_.items():
            rows = groups == group
            if not rows.any():
                continue
            mixed = np.zeros(int(rows.sum()))
            for weight, operator, threshold in parts:
                holds = score[rows] > threshold if operator == ">" else score[rows] < threshold
                mixed += float(weight) * holds
            positive[rows] = np.clip(mixed, 0.0, 1.0)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:
        """Decisions: positive where a uniform draw keyed by the row's values (and ``seed``)
        falls below the positive probability — the same row always gets the same answer."""
        positive = self.predict_proba(X)[:, 1]
        # the row as the model reads it: its input columns, coerced as the pipeline's first
        # step coerces them (extra columns and dtype variations do not change the draw)
        inputs = self.base[:1].transform(X) if isinstance(self.base, Pipeline) else X.copy()
        inputs[self.attribute] = group_labels(X[self.attribute])
        hashed = pd.util.hash_pandas_object(
            inputs.reset_index(drop=True), index=False, hash_key=f"steward{self.seed:09d}"
        ).to_numpy(dtype=np.uint64)
        draw = (hashed >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        return np.asarray(self.classes_[(draw < positive).astype(int)])


def _rule(interpolation: Any) -> list[list[Any]]:
    """One group's rule from fairlearn's interpolation record, as plain numbers."""
    parts: list[list[Any]] = []
    for weight, operation in (
        (interpolation["p0"], interpolation["operation0"]),
        (interpolation["p1"], interpolation["operation1"]),
    ):
        if float(weight) > 0.0:
            parts.append([float(weight), operation.operator, float(operation.threshold)])
    if "p_ignore" in interpolation:  # equalized odds may mix in a constant decision
        ignore, constant = float(interpolation["p_ignore"]), interpolation["prediction_constant"]
        parts = [[w * (1.0 - ignore), op, t] for w, op, t in parts]
        if ignore * float(constant) > 0.0:  # a score (a probability) is always above -1
            parts.append([ignore * float(constant), ">", -1.0])
    return parts
