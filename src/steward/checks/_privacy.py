"""``privacy``: what a model's inputs could give away.

- **PII or sensitive inputs**: input columns the dataset's PII scan flagged (high), or
  declared sensitive attributes the training opted in (medium).
- **Target leakage**: an input that on its own predicts the target with ROC AUC at or above
  ``leakage_auc`` (0.9), or for a regressor with R² at or above ``leakage_r2`` (0.9) —
  usually a column recorded after the outcome (high). 0.9, not 0.99: inputs recorded after
  the outcome on a real recidivism data set scored 0.96–0.97 alone, while no legitimate input
  of the bundled mortgage data scores above 0.79 on a test split (docs/checks.md).
- **Proxies**: an input that on its own predicts a declared sensitive attribute with ROC AUC
  at or above ``proxy_auc`` (0.8): leaving the attribute out does not keep it out (medium).

"On its own" means a shallow decision tree on that one column (categories as ordinal codes,
missing values as their own code), scored by cross-validated predictions (``folds`` folds
seeded with ``seed``, stratified for classes) on the version's test split, so a column that
merely identifies rows does not look predictive.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from steward.checks._base import Capabilities, Check, CheckContext
from steward.checks._params import SEED, Interval, ParameterConstraints
from steward.domain import Evidence, Finding, Severity

__all__ = ["Privacy"]


class Privacy(Check):
    id = "privacy"
    version = "2"  # 2: leakage thresholds 0.9 (were 0.99 and 0.98)
    capabilities = Capabilities(tasks=frozenset({"binary", "multiclass", "regression"}))
    produces = ("target_auc.*", "target_r2.*", "proxy_auc.*.*")
    parameter_constraints: ClassVar[ParameterConstraints] = {
        # at or below 0.5 (chance) every input would be "leaking"
        "leakage_auc": [Interval(float, 0.5, 1, closed="right")],
        "leakage_r2": [Interval(float, 0, 1, closed="right")],
        "proxy_auc": [Interval(float, 0.5, 1, closed="right")],
        "folds": [Interval(int, 2, None, closed="left")],
        "max_depth": [Interval(int, 1, None, closed="left")],
        "seed": [SEED],
    }

    def __init__(
        self,
        *,
        leakage_auc: float = 0.9,
        leakage_r2: float = 0.9,
        proxy_auc: float = 0.8,
        folds: int = 3,
        max_depth: int = 4,
        seed: int = 0,
    ) -> None:
        self.leakage_auc = leakage_auc
        self.leakage_r2 = leakage_r2
        self.proxy_auc = proxy_auc
        self.folds = folds
        self.max_depth = max_depth
        self.seed = seed

    def run(self, context: CheckContext) -> Evidence:
        self.validate_params(self.get_params())
        refusal = self.capabilities.refuses(context.version)
        if refusal is not None:
            return context.not_applicable(self, refusal)
        version = context.version
        findings: list[Finding] = []
        pii = sorted(set(version.features) & set(context.pii_columns))
        for column in pii:
            findings.append(
                Finding("pii_input", Severity.HIGH, f"input {column!r} is flagged as PII", column)
            )
        for column in version.sensitive_features:
            findings.append(
                Finding(
                    "sensitive_input",
                    Severity.MEDIUM,
                    f"declared sensitive attribute {column!r} is a model input (opted in)",
                    column,
                )
            )
        regression = version.task == "regression"
        score, name, limit = (
            (self._r2, "R²", self.leakage_r2)
            if regression
            else (self._auc, "ROC AUC", self.leakage_auc)
        )
        target_scores = {
            column: score(context.X[column], np.asarray(context.y)) for column in version.features
        }
        for column, value in target_scores.items():
            if value is not None and value >= limit:
                findings.append(
                    Finding(
                        "target_leakage",
                        Severity.HIGH,
                        f"input {column!r} alone predicts the target ({name} {value:.3f}, "
                        f"at or above {limit}): usually a column recorded after the outcome",
                        column,
                        {"r2" if regression else "roc_auc": value},
                    )
                )
        proxies: dict[str, dict[str, float | None]] = {}
        for attribute in context.A.columns:
            labels = context.A[attribute].astype(object).where(context.A[attribute].notna(), "")
            proxies[attribute] = {
                column: self._auc(context.X[column], labels.astype(str).to_numpy())
                for column in version.features
            }
            for column, auc in proxies[attribute].items():
                if auc is not None and auc >= self.proxy_auc:
                    findings.append(
                        Finding(
                            "proxy",
                            Severity.MEDIUM,
                            f"input {column!r} alone predicts sensitive attribute "
                            f"{attribute!r} (ROC AUC {auc:.3f})",
                            column,
                            {"attribute": attribute, "roc_auc": auc},
                        )
                    )
        metrics = {
            "pii_inputs": pii,
            "sensitive_inputs": list(version.sensitive_features),
            "target_r2" if regression else "target_auc": target_scores,
            "proxy_auc": proxies,
        }
        return context.evidence(self, metrics=metrics, findings=tuple(findings))

    def _r2(self, column: pd.Series, target: np.ndarray) -> float | None:
        """Cross-validated R² of a shallow regression tree on ``column`` alone."""
        from sklearn.metrics import r2_score
        from sklearn.model_selection import KFold, cross_val_predict
        from sklearn.tree import DecisionTreeRegressor

        if len(target) < 2 * self.folds:
            return None
        values = _codes(column).reshape(-1, 1)
        model = DecisionTreeRegressor(max_depth=self.max_depth, random_state=self.seed)
        folds = KFold(n_splits=self.folds, shuffle=True, random_state=self.seed)
        predicted = cross_val_predict(model, values, target.astype(np.float64), cv=folds)
        return float(r2_score(target, predicted))

    def _auc(self, column: pd.Series, labels: np.ndarray) -> float | None:
        """Cross-validated ROC AUC of a shallow tree on ``column`` alone (one-vs-rest for
        several classes); ``None`` when a class is too rare to validate."""
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.tree import DecisionTreeClassifier

        classes, counts = np.unique(labels, return_counts=True)
        if len(classes) < 2 or counts.min() < self.folds:
            return None
        values = _codes(column).reshape(-1, 1)
        model = DecisionTreeClassifier(max_depth=self.max_depth, random_state=self.seed)
        folds = StratifiedKFold(n_splits=self.folds, shuffle=True, random_state=self.seed)
        proba = cross_val_predict(model, values, labels, cv=folds, method="predict_proba")
        if len(classes) == 2:
            score = roc_auc_score(labels == classes[1], proba[:, 1])
        else:
            score = roc_auc_score(labels, proba, multi_class="ovr", labels=list(classes))
        return float(score)


def _codes(column: pd.Series) -> np.ndarray:
    """A column as numbers: numeric as is (missing as -1e12), categories as ordinal codes."""
    if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        values = np.asarray(column.astype("float64").to_numpy(), dtype=np.float64)
        return np.asarray(np.nan_to_num(values, nan=-1e12), dtype=np.float64)
    codes, _ = pd.factorize(column.astype(object), use_na_sentinel=True)
    return np.asarray(codes, dtype=np.float64)
