"""``performance``: how well a model does on its version's recorded test split.

Metrics are scikit-learn's, on the exact test rows. Classifiers: accuracy, balanced accuracy,
ROC AUC (one-vs-rest for several classes), PR AUC (average precision; binary), F1 (macro for
several classes), log loss, Brier score (binary), the confusion matrix and the calibration
curve (binary). Regressors: RMSE, MAE, R² and the residual plot. Each scalar metric has a
percentile bootstrap confidence interval from ``bootstrap`` resamples of the test rows drawn
with ``seed``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from steward.checks._base import Capabilities, Check, CheckContext
from steward.domain import Evidence, Finding, Severity
from steward.ml import classification_metrics

__all__ = ["Performance"]


class Performance(Check):
    id = "performance"
    version = "1"
    capabilities = Capabilities(tasks=frozenset({"binary", "multiclass", "regression"}))
    produces = (
        "accuracy",
        "balanced_accuracy",
        "roc_auc",
        "pr_auc",
        "f1",
        "log_loss",
        "brier",
        "rmse",
        "mae",
        "r2",
        "ci.*.*",
        "residuals.*",
        "rows",
    )

    def __init__(
        self,
        *,
        bootstrap: int = 200,
        confidence: float = 0.95,
        seed: int = 0,
        calibration_bins: int = 10,
    ) -> None:
        self.bootstrap = bootstrap
        self.confidence = confidence
        self.seed = seed
        self.calibration_bins = calibration_bins

    def run(self, context: CheckContext) -> Evidence:
        refusal = self.capabilities.refuses(context.version)
        if refusal is not None:
            return context.not_applicable(self, refusal)
        if context.version.task == "regression":
            return self._regression(context)
        from sklearn.metrics import confusion_matrix

        y = np.asarray(context.y)
        classes = context.classes
        proba, predicted = context.proba, context.predicted
        scores = scalar_metrics(y, predicted, proba, classes)
        metrics: dict[str, Any] = dict(scores)
        metrics["ci"] = self._intervals(y, predicted, proba, classes)
        metrics["confidence"] = self.confidence
        metrics["bootstrap"] = {"resamples": self.bootstrap, "seed": self.seed}
        metrics["rows"] = len(y)
        metrics["confusion_matrix"] = {
            "labels": classes,
            "matrix": confusion_matrix(y, predicted, labels=classes).tolist(),
        }
        if len(classes) == 2:
            from sklearn.calibration import calibration_curve

            observed, mean_predicted = calibration_curve(
                y == classes[1], proba[:, 1], n_bins=self.calibration_bins
            )
            metrics["calibration"] = {
                "observed": [float(v) for v in observed],
                "predicted": [float(v) for v in mean_predicted],
            }
        from steward.checks._plots import calibration_png, confusion_png

        ref = context.version.ref
        artifacts = {
            "confusion_matrix.png": context.save_plot(
                confusion_png(metrics["confusion_matrix"]["matrix"], classes, f"{ref}: test split")
            )
        }
        if "calibration" in metrics:
            artifacts["calibration.png"] = context.save_plot(
                calibration_png(
                    metrics["calibration"]["observed"],
                    metrics["calibration"]["predicted"],
                    f"{ref}: calibration on the test split",
                )
            )
        findings: tuple[Finding, ...] = ()
        if scores["roc_auc"] < 0.6:
            findings = (
                Finding(
                    "weak_discrimination",
                    Severity.MEDIUM,
                    f"test ROC AUC {scores['roc_auc']:.3f} is close to chance (0.5)",
                ),
            )
        return context.evidence(self, metrics=metrics, findings=findings, artifacts=artifacts)

    def _regression(self, context: CheckContext) -> Evidence:
        from steward.checks._plots import residuals_png
        from steward.ml import regression_metrics

        y = np.asarray(context.y, dtype=np.float64)
        predicted = np.asarray(context.model.predict(context.X), dtype=np.float64)
        scores = regression_metrics(y, predicted)
        rng = np.random.default_rng(self.seed)
        samples: dict[str, list[float]] = {}
        for _ in range(self.bootstrap):
            rows = rng.integers(0, len(y), len(y))
            for name, value in regression_metrics(y[rows], predicted[rows]).items():
                samples.setdefault(name, []).append(value)
        residuals = y - predicted
        metrics: dict[str, Any] = {
            **scores,
            "ci": self._percentiles(samples),
            "confidence": self.confidence,
            "bootstrap": {"resamples": self.bootstrap, "seed": self.seed},
            "rows": len(y),
            "residuals": {
                "mean": float(residuals.mean()),
                "std": float(residuals.std()),
                "max_abs": float(np.abs(residuals).max()),
            },
        }
        artifacts = {
            "residuals.png": context.save_plot(
                residuals_png(
                    predicted.tolist(),
                    residuals.tolist(),
                    f"{context.version.ref}: residuals on the test split",
                )
            )
        }
        findings: tuple[Finding, ...] = ()
        if scores["r2"] < 0.0:
            findings = (
                Finding(
                    "worse_than_mean",
                    Severity.MEDIUM,
                    f"test R² {scores['r2']:.3f} is below 0: predicting the mean does better",
                ),
            )
        return context.evidence(self, metrics=metrics, findings=findings, artifacts=artifacts)

    def _intervals(
        self, y: np.ndarray, predicted: np.ndarray, proba: np.ndarray, classes: list[Any]
    ) -> dict[str, list[float]]:
        rng = np.random.default_rng(self.seed)
        samples: dict[str, list[float]] = {}
        for _ in range(self.bootstrap):
            rows = rng.integers(0, len(y), len(y))
            if len(np.unique(y[rows])) < len(classes):
                continue  # AUCs need every class in the resample
            for name, value in scalar_metrics(
                y[rows], predicted[rows], proba[rows], classes
            ).items():
                samples.setdefault(name, []).append(value)
        return self._percentiles(samples)

    def _percentiles(self, samples: dict[str, list[float]]) -> dict[str, list[float]]:
        tail = (1 - self.confidence) / 2 * 100
        return {
            name: [float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))]
            for name, values in sorted(samples.items())
        }


def scalar_metrics(
    y: np.ndarray, predicted: np.ndarray, proba: np.ndarray, classes: list[Any]
) -> dict[str, float]:
    """The training metrics (``steward.ml.classification_metrics``), plus PR AUC and the
    Brier score for binary models."""
    from sklearn import metrics

    scores = classification_metrics(y, predicted, proba, classes)
    if len(classes) == 2:
        positive = y == classes[1]
        scores["pr_auc"] = float(metrics.average_precision_score(positive, proba[:, 1]))
        scores["brier"] = float(metrics.brier_score_loss(positive, proba[:, 1]))
    return dict(sorted(scores.items()))
