"""Classification and regression metrics, computed by scikit-learn, as plain floats (the
performance check's bootstrap of a binary classifier computes the same in numpy:
``steward.checks._bootstrap``)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "PRIMARY_METRIC",
    "REGRESSION_PRIMARY_METRIC",
    "classification_metrics",
    "model_score",
    "primary_metric",
    "primary_score",
    "regression_metrics",
]

# What tuning maximizes on the validation split: ROC AUC (one-vs-rest for several classes)
# for classifiers, R² for regressors.
PRIMARY_METRIC = "roc_auc"
REGRESSION_PRIMARY_METRIC = "r2"


def primary_metric(regression: bool) -> str:
    return REGRESSION_PRIMARY_METRIC if regression else PRIMARY_METRIC


def regression_metrics(y_true: Any, predicted: Any) -> dict[str, float]:
    """RMSE, MAE and R²."""
    from sklearn import metrics

    return {
        "rmse": float(metrics.root_mean_squared_error(y_true, predicted)),
        "mae": float(metrics.mean_absolute_error(y_true, predicted)),
        "r2": float(metrics.r2_score(y_true, predicted)),
    }


def model_score(model: Any, x: Any, y: Any, classes: list[Any]) -> float:
    """The primary metric of ``model`` on ``(x, y)``: R² when ``classes`` is empty (a
    regressor), else ROC AUC."""
    if not classes:
        from sklearn import metrics

        return float(metrics.r2_score(y, model.predict(x)))
    return primary_score(y, model.predict_proba(x), classes)


def classification_metrics(
    y_true: Any, predicted: Any, proba: np.ndarray, classes: list[Any]
) -> dict[str, float]:
    """Accuracy, balanced accuracy, F1 (macro for several classes), log loss and ROC AUC."""
    from sklearn import metrics

    binary = len(classes) == 2
    scores = {
        "accuracy": metrics.accuracy_score(y_true, predicted),
        "balanced_accuracy": metrics.balanced_accuracy_score(y_true, predicted),
        "f1": metrics.f1_score(y_true, predicted, pos_label=classes[1])
        if binary
        else metrics.f1_score(y_true, predicted, average="macro"),
        "log_loss": metrics.log_loss(y_true, proba, labels=classes),
        "roc_auc": primary_score(y_true, proba, classes),
    }
    return {name: float(value) for name, value in scores.items()}


def primary_score(y_true: Any, proba: np.ndarray, classes: list[Any]) -> float:
    """``PRIMARY_METRIC`` alone: ROC AUC (one-vs-rest for several classes), what each tuning
    step reports."""
    from sklearn import metrics

    if len(classes) == 2:
        return float(metrics.roc_auc_score(y_true, proba[:, 1]))
    return float(metrics.roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))
