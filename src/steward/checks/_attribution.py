"""Attributions of a model's outputs to its input columns, row by row: the explainability
check's engine, also what the model server answers ``?explain=true`` with.

The model's family picks the explainer (decision 0015): SHAP's TreeExplainer for tree
ensembles and LinearExplainer for linear models, on the pipeline's prepared matrix, summed back
to the raw input columns; Steward's batched permutation sampler (decision 0029) for anything
else, calling the model on masked rows of the raw inputs against a background sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward.checks._permutation_shap import antithetic_orders, permutation_shap
from steward.checks._plots import import_shap

__all__ = ["Attribution", "attribute", "black_box_attributions", "family_attributions"]


@dataclass(frozen=True, slots=True)
class Attribution:
    """``values``: (rows, columns, outputs) attributions per raw input column; ``base`` and
    ``raw``: (rows, outputs) base values and model outputs (values add up to raw - base);
    ``explainer``: tree, linear or permutation; ``units``: what the values are in."""

    values: np.ndarray
    base: np.ndarray
    raw: np.ndarray
    explainer: str
    units: str


def attribute(
    model: Any, x: pd.DataFrame, background: pd.DataFrame, *, task: str, seed: int = 0
) -> Attribution:
    """Attribute ``model``'s outputs on rows ``x`` (raw input columns) to those columns,
    against ``background`` rows; ``task`` is binary, multiclass or regression (a binary
    model's output is its positive class)."""
    from steward.ml import decompose

    columns = list(x.columns)
    binary, regression = task == "binary", task == "regression"
    parts = decompose(model)
    if parts is not None and parts.family in ("tree", "linear"):
        values, base, raw = family_attributions(parts, x, background, binary)
        units, sources, explainer = parts.units, parts.sources, parts.family
    else:
        values, base, raw, units = black_box_attributions(
            model, x, background, binary, regression, seed
        )
        sources, explainer = tuple(columns), "permutation"
    per_column = np.stack(
        [values[:, [s == c for s in sources], :].sum(axis=1) for c in columns], axis=1
    )
    return Attribution(per_column, base, raw, explainer, units)


def family_attributions(
    parts: Any, x: pd.DataFrame, background: pd.DataFrame, binary: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tree or linear SHAP values on the prepared matrix: (values, base, raw)."""
    shap = import_shap()

    z = np.asarray(parts.prepare.transform(x), dtype=np.float64)
    if parts.family == "tree":
        explainer = shap.TreeExplainer(parts.tree_model)
        explanation = explainer(z, check_additivity=False)
    else:
        reference = np.asarray(parts.prepare.transform(background), dtype=np.float64)
        masker = shap.maskers.Independent(reference, max_samples=len(reference))
        explanation = shap.LinearExplainer(parts.estimator, masker)(z)
    return _outputs(
        np.asarray(explanation.values),
        np.asarray(explanation.base_values),
        parts.raw_output(z),
        binary,
    )


def black_box_attributions(
    model: Any,
    x: pd.DataFrame,
    background: pd.DataFrame,
    binary: bool,
    regression: bool,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Permutation SHAP values on the raw inputs: (values, base, raw, units)."""
    codec = _Codec(pd.concat([background, x]))

    def predict(matrix: np.ndarray) -> np.ndarray:
        if regression:
            return np.asarray(model.predict(codec.decode(matrix)), dtype=np.float64)
        proba = np.asarray(model.predict_proba(codec.decode(matrix)), dtype=np.float64)
        return proba[:, 1] if binary else proba

    encoded = codec.encode(x)
    # one antithetic pass over a random order of the inputs per row: the attributions add
    # up exactly; averaged over many rows the importances settle
    orders = antithetic_orders(len(encoded), len(x.columns), seed)
    shap_values, base_values = permutation_shap(predict, encoded, codec.encode(background), orders)
    values, base, raw = _outputs(shap_values, base_values, predict(encoded), binary)
    return values, base, raw, "target" if regression else "probability"


class _Codec:
    """Original input rows as a float matrix for SHAP's maskers: numbers as they are,
    categories as codes of their sorted levels (missing stays NaN), and back."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.columns = list(frame.columns)
        self.levels: dict[str, np.ndarray] = {}
        for column in self.columns:
            series = frame[column]
            if not pd.api.types.is_numeric_dtype(series.dtype):
                present = series.dropna().astype(str).unique()
                self.levels[column] = np.asarray(sorted(present), dtype=object)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        matrix = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for j, column in enumerate(self.columns):
            series = frame[column]
            if column in self.levels:
                codes = pd.Categorical(series.astype(object), categories=self.levels[column])
                matrix[:, j] = np.where(codes.codes < 0, np.nan, codes.codes)
            else:
                matrix[:, j] = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        return matrix

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        columns: dict[str, Any] = {}
        for j, column in enumerate(self.columns):
            values = matrix[:, j]
            if column in self.levels:
                missing = np.isnan(values)
                codes = np.where(missing, 0, values).astype(int)
                decoded = self.levels[column][codes] if len(self.levels[column]) else codes
                chosen = np.asarray(decoded, dtype=object)
                chosen[missing] = None
                columns[column] = pd.Series(chosen, dtype=object)
            else:
                columns[column] = values
        return pd.DataFrame(columns)


def _outputs(
    values: np.ndarray, base: np.ndarray, raw: np.ndarray, binary: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Attributions as (rows, features, outputs), base values and raw output as (rows,
    outputs); a binary model's two-column output is reduced to the positive class."""
    rows = values.shape[0]
    if values.ndim == 2:
        values = values[:, :, None]
    outputs = values.shape[2]
    flat = np.asarray(base, dtype=np.float64).reshape(-1)
    if flat.size == rows * outputs:
        base = flat.reshape(rows, outputs)
    else:
        base = np.broadcast_to(flat.reshape(1, -1), (rows, outputs))
    raw = np.asarray(raw, dtype=np.float64).reshape(rows, -1)
    if binary and outputs == 2:
        return values[:, :, 1:], base[:, 1:], raw[:, 1:]
    return values, base, raw
