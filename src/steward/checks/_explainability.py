"""``explainability``: which inputs drive the model's output, by SHAP, cross-checked.

The explainer is chosen by model family (``steward.ml.decompose``):

- **tree** models (random forest, XGBoost, LightGBM, histogram gradient boosting on numeric
  inputs): SHAP's exact TreeExplainer on the prepared matrix;
- **linear** models (logistic regression): SHAP's LinearExplainer, its background the stored
  sample below;
- everything else (a model registered from elsewhere, or histogram gradient boosting with
  native categorical splits, which TreeSHAP reads as thresholds and gets wrong): SHAP's
  permutation sampler on the original input columns, the model a black box (Steward's own
  batched implementation, ``_permutation_shap``, equal to SHAP's ``PermutationExplainer``
  on the same orders and many times faster).

Attributions on one-hot columns are summed back to their input column (SHAP values add up),
so every figure is per original input column: the mean |SHAP| over up to ``rows`` test rows,
against ``background`` training rows (the black-box explainer, which calls the model on every
masked row, uses ``black_box_rows`` and ``black_box_background``).
The explanation is verified to add up: base value plus attributions equals the model's own
output on each row (log-odds or probability); a gap is a medium finding.

The ranking is cross-checked against scikit-learn's permutation importance on the same rows
(``repeats`` shuffles, ROC AUC or log loss): Spearman's rank correlation over all inputs and
over SHAP's ten leading ones, and the overlap of the top five. Agreement on the leading
inputs below ``min_rank_agreement`` is a low finding; the two measure
different things (attribution vs. the score's dependence), so disagreement calls for a look,
not a verdict.

The background sample (``background`` training rows, raw input columns, Parquet) is stored
with the evidence so a single prediction can be explained later against the same baseline.
It never holds personal data: an input that is PII-flagged (opted in with ``--use-pii``) or a
declared sensitive attribute (``--use-sensitive``) is stored as missing in every background
row, and the check explains against that very sample, so the baseline stored is the baseline
used. Such an input's attributions are then measured from a missing value (what the model's
imputer makes of it) rather than from the population; a model that cannot take a missing
value there (a bare estimator registered from elsewhere) is refused with a message saying so.
Plots: mean |SHAP| per column (bar) and every explained row's attributions (beeswarm).
"""

from __future__ import annotations

import io
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from steward.checks._attribution import black_box_attributions, family_attributions
from steward.checks._background import protected_inputs, redacted, takes_missing
from steward.checks._base import Capabilities, Check, CheckContext
from steward.checks._params import SEED, Interval, ParameterConstraints
from steward.checks._plots import shap_bar_png, shap_beeswarm_png
from steward.domain import Evidence, Finding, Severity

__all__ = ["Explainability"]

# base value plus attributions must equal the model's output to this tolerance
_ADDITIVITY_TOLERANCE = 1e-6
_TOP = 5
_TOP_RANKED = 10


class Explainability(Check):
    id = "explainability"
    # 2: PII and sensitive inputs are missing in the background sample; 3: black-box models
    # are explained by Steward's batched permutation sampler (one order per row of its own)
    version = "3"
    capabilities = Capabilities(tasks=frozenset({"binary", "multiclass", "regression"}))
    produces = (
        "additivity_gap",
        "rank_agreement.spearman",
        "rank_agreement.spearman_top",
        "rank_agreement.top_overlap",
        "mean_abs_shap.*",
        "permutation_importance.*",
        "rows_explained",
    )
    parameter_constraints: ClassVar[ParameterConstraints] = {
        "rows": [Interval(int, 1, None, closed="left")],
        "background": [Interval(int, 1, None, closed="left")],
        "black_box_rows": [Interval(int, 1, None, closed="left")],
        "black_box_background": [Interval(int, 1, None, closed="left")],
        "repeats": [Interval(int, 1, None, closed="left")],
        "min_rank_agreement": [Interval(float, -1, 1, closed="both")],  # Spearman's range
        "seed": [SEED],
    }

    def __init__(
        self,
        *,
        rows: int = 1000,
        background: int = 100,
        black_box_rows: int = 200,
        black_box_background: int = 50,
        repeats: int = 5,
        min_rank_agreement: float = 0.5,
        seed: int = 0,
    ) -> None:
        self.rows = rows
        self.background = background
        self.black_box_rows = black_box_rows
        self.black_box_background = black_box_background
        self.repeats = repeats
        self.min_rank_agreement = min_rank_agreement
        self.seed = seed

    def run(self, context: CheckContext) -> Evidence:
        from steward.ml import decompose

        self.validate_params(self.get_params())
        refusal = self.capabilities.refuses(context.version)
        if refusal is not None:
            return context.not_applicable(self, refusal)
        columns = [i["name"] for i in context.version.signature.get("inputs", [])] or list(
            context.X.columns
        )
        binary = context.version.task == "binary"
        regression = context.version.task == "regression"
        parts = decompose(context.model)
        if parts is not None and parts.family in ("tree", "linear"):
            explainer, reason, limit = parts.family, None, self.rows
        else:
            explainer, limit = "permutation", self.black_box_rows
            reason = (
                "histogram gradient boosting with native categorical splits (TreeSHAP reads "
                "them as thresholds)"
                if parts is not None
                else "not a pipeline built from a Steward template"
            )
        rng = np.random.default_rng(self.seed)
        picked = _sample(len(context.X), limit, rng)
        x = context.X.iloc[picked][columns]
        y = np.asarray(context.y)[picked]
        training = context.part("train")
        source, source_name = (
            (training[0], "train") if training is not None else (context.X, "test")
        )
        size = self.black_box_background if explainer == "permutation" else self.background
        protected = protected_inputs(context, columns)
        background = redacted(source.iloc[_sample(len(source), size, rng)][columns], protected)

        if explainer == "permutation":
            if protected:
                takes_missing(context, background, protected)
            values, base, raw, units = self._black_box(context, x, background, binary, regression)
            sources: tuple[str, ...] = tuple(columns)
        else:
            assert parts is not None
            values, base, raw = self._family(parts, x, background, binary)
            units, sources = parts.units, parts.sources
        gap = float(np.max(np.abs(values.sum(axis=1) + base - raw))) if len(x) else 0.0
        per_column = np.stack(
            [values[:, [s == c for s in sources], :].sum(axis=1) for c in columns], axis=1
        )
        mean_abs = np.abs(per_column).mean(axis=(0, 2))
        scoring = "r2" if regression else "roc_auc" if binary else "neg_log_loss"
        importance = self._permutation_importance(context, x, y, scoring)
        agreement = _agreement(mean_abs, importance["importances_mean"])

        findings: list[Finding] = []
        if gap > _ADDITIVITY_TOLERANCE * max(1.0, float(np.max(np.abs(raw), initial=0.0))):
            findings.append(
                Finding(
                    "additivity",
                    Severity.MEDIUM,
                    f"the attributions do not add up to the model's output (gap {gap:.3g})",
                    data={"gap": gap},
                )
            )
        spearman = agreement["spearman_top"]
        if spearman is not None and spearman < self.min_rank_agreement:
            findings.append(
                Finding(
                    "disagreement",
                    Severity.LOW,
                    f"SHAP and permutation importance rank the leading inputs differently "
                    f"(Spearman {spearman:.2f} < {self.min_rank_agreement})",
                    data={"spearman": spearman},
                )
            )
        order = np.argsort(-mean_abs, kind="stable")
        explained = _explained_output(context, per_column, x, binary or regression)
        artifacts = {
            "shap_bar.png": context.save_plot(shap_bar_png(columns, mean_abs, order, units)),
            "shap_beeswarm.png": context.save_plot(
                shap_beeswarm_png(explained, x, columns, units, self.seed)
            ),
            "background.parquet": context.save_plot(_parquet(background)),
        }
        metrics: dict[str, Any] = {
            "explainer": explainer,
            "black_box_reason": reason,
            "units": units,
            "output": context.version.target
            if regression
            else context.classes[1]
            if binary
            else context.classes,
            "rows_explained": len(x),
            "background_rows": len(background),
            "background_from": source_name,
            "background_redacted": protected,
            "expected_value": [float(v) for v in np.mean(base, axis=0)],
            "additivity_gap": gap,
            "mean_abs_shap": {columns[i]: float(mean_abs[i]) for i in order},
            "ranking": [columns[i] for i in order],
            "permutation_importance": {
                c: float(v) for c, v in zip(columns, importance["importances_mean"], strict=True)
            },
            "permutation_importance_std": {
                c: float(v) for c, v in zip(columns, importance["importances_std"], strict=True)
            },
            "permutation_scoring": scoring,
            "rank_agreement": agreement,
        }
        return context.evidence(
            self, metrics=metrics, findings=tuple(findings), artifacts=artifacts
        )

    def _family(
        self, parts: Any, x: pd.DataFrame, background: pd.DataFrame, binary: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return family_attributions(parts, x, background, binary)

    def _black_box(
        self,
        context: CheckContext,
        x: pd.DataFrame,
        background: pd.DataFrame,
        binary: bool,
        regression: bool,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        return black_box_attributions(context.model, x, background, binary, regression, self.seed)

    def _permutation_importance(
        self, context: CheckContext, x: pd.DataFrame, y: np.ndarray, scoring: str
    ) -> Any:
        from sklearn.inspection import permutation_importance

        return permutation_importance(
            context.model,
            x,
            y,
            scoring=scoring,
            n_repeats=self.repeats,
            random_state=self.seed,
            n_jobs=1,
        )


def _sample(size: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    if size <= limit:
        return np.arange(size)
    return np.sort(rng.choice(size, limit, replace=False))


def _agreement(shap_importance: np.ndarray, permutation: np.ndarray) -> dict[str, Any]:
    """How far the two importances agree: Spearman's rank correlation over every input and
    over SHAP's top ten (the long tail of inputs the model barely uses is ranked by noise in
    permutation importance), and the share of SHAP's top five that permutation importance
    also ranks top five."""
    order = np.argsort(-shap_importance, kind="stable")
    top = min(_TOP, len(order))
    by_permutation = set(np.argsort(-permutation, kind="stable")[:top].tolist())
    return {
        "spearman": _spearman(shap_importance, permutation),
        "spearman_top": _spearman(
            shap_importance[order[:_TOP_RANKED]], permutation[order[:_TOP_RANKED]]
        ),
        "top": top,
        "top_overlap": len(set(order[:top].tolist()) & by_permutation) / top if top else None,
    }


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import spearmanr

    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None  # no ranking to compare
    return float(spearmanr(a, b).statistic)


def _explained_output(
    context: CheckContext, per_column: np.ndarray, x: pd.DataFrame, binary: bool
) -> np.ndarray:
    """One attribution per row and column: the positive class's, or for a multiclass model
    the attributions toward the class it predicted for that row."""
    if binary or not len(x):
        return np.asarray(per_column[:, :, 0])
    predicted = np.asarray(context.model.predict(x))
    index = np.searchsorted(np.asarray(context.classes), predicted)
    return np.asarray(per_column[np.arange(len(x)), :, index])


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.reset_index(drop=True).to_parquet(buffer, index=False)
    return buffer.getvalue()
