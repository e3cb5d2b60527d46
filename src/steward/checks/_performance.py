"""``performance``: how well a model does on its version's recorded test split.

Metrics are scikit-learn's, on the exact test rows. Classifiers: accuracy, balanced accuracy,
ROC AUC (one-vs-rest for several classes), PR AUC (average precision; binary), F1 (macro for
several classes), log loss, Brier score (binary), the confusion matrix and the calibration
curve (binary). Regressors: RMSE, MAE, R² and the residual plot. Each scalar metric has a
percentile bootstrap confidence interval from ``bootstrap`` resamples of the test rows drawn
with ``seed``.

Findings: a test ROC AUC below 0.6 (weak), or an R² below 0 (worse than the mean), is medium.
A near-perfect score on held-out rows — ROC AUC or balanced accuracy, or a regressor's R², at
or above ``suspicious_score`` — is high (``near_perfect``): real decisions are noisy, and such a
score is usually leakage (an input recorded after the outcome, or a copy of the target), so the
model is not to be trusted until the inputs are explained. Balanced accuracy rather than
accuracy, because a model that always predicts the majority class of a 1% problem is 99%
accurate without being suspicious of anything.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from steward.checks._base import Capabilities, Check, CheckContext
from steward.checks._bootstrap import binary_metrics
from steward.checks._params import SEED, Interval, ParameterConstraints
from steward.domain import Evidence, Finding, Severity
from steward.ml import classification_metrics

__all__ = ["Performance"]


class Performance(Check):
    id = "performance"
    version = "2"  # 2: the near_perfect finding (suspicious_score)
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
    parameter_constraints: ClassVar[ParameterConstraints] = {
        "bootstrap": [Interval(int, 1, None, closed="left")],
        "confidence": [Interval(float, 0, 1, closed="neither")],
        "seed": [SEED],
        "calibration_bins": [Interval(int, 2, None, closed="left")],
        "suspicious_score": [Interval(float, 0.5, 1, closed="right")],
    }

    def __init__(
        self,
        *,
        bootstrap: int = 200,
        confidence: float = 0.95,
        seed: int = 0,
        calibration_bins: int = 10,
        suspicious_score: float = 0.99,
    ) -> None:
        self.bootstrap = bootstrap
        self.confidence = confidence
        self.seed = seed
        self.calibration_bins = calibration_bins
        self.suspicious_score = suspicious_score

    def run(self, context: CheckContext) -> Evidence:
        self.validate_params(self.get_params())
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
        findings: list[Finding] = []
        if scores["roc_auc"] < 0.6:
            findings.append(
                Finding(
                    "weak_discrimination",
                    Severity.MEDIUM,
                    f"test ROC AUC {scores['roc_auc']:.3f} is close to chance (0.5)",
                )
            )
        findings.extend(self._near_perfect(scores, ("roc_auc", "balanced_accuracy")))
        return context.evidence(
            self, metrics=metrics, findings=tuple(findings), artifacts=artifacts
        )

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
        findings: list[Finding] = []
        if scores["r2"] < 0.0:
            findings.append(
                Finding(
                    "worse_than_mean",
                    Severity.MEDIUM,
                    f"test R² {scores['r2']:.3f} is below 0: predicting the mean does better",
                )
            )
        findings.extend(self._near_perfect(scores, ("r2",)))
        return context.evidence(
            self, metrics=metrics, findings=tuple(findings), artifacts=artifacts
        )

    def _near_perfect(self, scores: dict[str, float], names: tuple[str, ...]) -> list[Finding]:
        """One high finding when any of ``names`` is at or above ``suspicious_score``."""
        high = {n: scores[n] for n in names if scores[n] >= self.suspicious_score}
        if not high:
            return []
        label = {"roc_auc": "ROC AUC", "balanced_accuracy": "balanced accuracy", "r2": "R²"}
        shown = ", ".join(f"{label[n]} {v:.4f}" for n, v in high.items())
        return [
            Finding(
                "near_perfect",
                Severity.HIGH,
                f"near-perfect test score ({shown}, at or above {self.suspicious_score}): "
                "usually leakage, an input recorded after the outcome or derived from the "
                "target; see the privacy check's target_leakage and explain the inputs "
                "before trusting the model",
                data={"scores": high, "suspicious_score": self.suspicious_score},
            )
        ]

    def _intervals(
        self, y: np.ndarray, predicted: np.ndarray, proba: np.ndarray, classes: list[Any]
    ) -> dict[str, list[float]]:
        rng = np.random.default_rng(self.seed)
        drawn = []
        for _ in range(self.bootstrap):
            rows = rng.integers(0, len(y), len(y))
            if len(np.unique(y[rows])) < len(classes):
                continue  # AUCs need every class in the resample
            drawn.append(rows)
        if len(classes) == 2 and drawn:  # every resample at once (steward.checks._bootstrap)
            counts = np.stack([np.bincount(rows, minlength=len(y)) for rows in drawn])
            scored = binary_metrics(y, predicted, proba, classes, counts)
            return self._percentiles({name: values.tolist() for name, values in scored.items()})
        samples: dict[str, list[float]] = {}
        for rows in drawn:
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
