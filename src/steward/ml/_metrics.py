"""Classification metrics, computed by scikit-learn, as plain floats."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PRIMARY_METRIC", "classification_metrics", "primary_score"]

# What tuning maximizes on the validation split (one-vs-rest for several classes).
PRIMARY_METRIC = "roc_auc"


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
