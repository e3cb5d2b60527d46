"""The performance check's bootstrap metrics of a binary classifier, every resample at once.

A bootstrap resample is the test rows, each counted as many times as it was drawn: its
metrics are the test rows' metrics weighted by those counts. ``binary_metrics`` computes the
metrics ``steward.checks._performance.scalar_metrics`` gives (accuracy, balanced accuracy,
F1 of the positive class, log loss, ROC AUC, PR AUC as average precision, Brier score) for a
matrix of counts, one row per resample, with numpy: the scores are sorted once, and each
curve is a cumulative sum over that order. The 200 resamples of a check took 200 calls of
scikit-learn's metrics each (~16 ms a resample, most of it input validation); the numbers are
the same to the last few bits (summation order), which ``tests/test_performance_bootstrap.py``
holds against scikit-learn on each resample, ties and absent rows included.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["binary_metrics"]


def binary_metrics(
    y: np.ndarray, predicted: np.ndarray, proba: np.ndarray, classes: list[Any], counts: np.ndarray
) -> dict[str, np.ndarray]:
    """Each metric, one value per row of ``counts`` (resamples × test rows: how many times
    each row was drawn; every resample holds both classes)."""
    counts = np.asarray(counts, dtype=np.int64)
    rows = counts.sum(axis=1)
    positive = np.asarray(y == classes[1])
    said = np.asarray(predicted == classes[1])
    score = np.asarray(proba[:, 1], dtype=np.float64)
    found = counts @ positive  # positives drawn: never 0, nor all the rows
    missing = rows - found
    tp = counts @ (positive & said)
    fp = counts @ (~positive & said)
    tn = missing - fp
    metrics = {
        "accuracy": (tp + tn) / rows,
        "balanced_accuracy": (tp / found + tn / missing) / 2,
        "f1": 2 * tp / (found + tp + fp),  # 2TP / (2TP + FP + FN), as scikit-learn divides
        "log_loss": counts @ _row_log_loss(positive, proba) / rows,
        "brier": counts @ (score - positive) ** 2 / rows,
    }
    metrics["roc_auc"], metrics["pr_auc"] = _curves(positive, score, counts, found, missing)
    return metrics


def _row_log_loss(positive: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Each row's log loss as scikit-learn's ``log_loss`` takes it: the probabilities
    normalised per row and clipped to ``[eps, 1 - eps]``."""
    p = np.asarray(proba, dtype=np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    eps = np.finfo(p.dtype).eps
    given = np.clip(np.where(positive, p[:, 1], p[:, 0]), eps, 1 - eps)
    loss: np.ndarray = -np.log(given)
    return loss


def _curves(
    positive: np.ndarray,
    score: np.ndarray,
    counts: np.ndarray,
    found: np.ndarray,
    missing: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """ROC AUC (the trapezoids under the ROC curve) and average precision, per resample,
    from the curve's points at each distinct score, highest first (scikit-learn's
    ``_binary_clf_curve``); a score no drawn row has adds a point that repeats the last."""
    order = np.argsort(score, kind="mergesort")[::-1]
    ranked = score[order]
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]  # each distinct score
    weights = counts[:, order]
    tps = np.cumsum(weights * positive[order], axis=1)[:, last].astype(np.float64)
    fps = np.cumsum(weights * ~positive[order], axis=1)[:, last].astype(np.float64)
    zero = np.zeros((len(counts), 1))
    tpr = np.hstack([zero, tps / found[:, None]])
    fpr = np.hstack([zero, fps / missing[:, None]])
    roc_auc = np.trapezoid(tpr, fpr, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tps + fps > 0, tps / (tps + fps), 1.0)
    recall_steps = np.diff(np.hstack([zero, tps]), axis=1) / found[:, None]
    pr_auc = np.sum(recall_steps * precision, axis=1)
    return roc_auc, pr_auc
