"""Rendering plots for evidence: matplotlib without a display, PNG bytes with no timestamp or
version in their metadata (the same figure gives the same bytes, hence the same key); SHAP's
plots drawn on our figures."""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "calibration_png",
    "confusion_png",
    "figure",
    "import_shap",
    "png_bytes",
    "residuals_png",
    "shap_bar_png",
    "shap_beeswarm_png",
]


def figure(width: float = 4.5, height: float = 4.0) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    return fig, fig.add_subplot()


def png_bytes(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def calibration_png(observed: list[float], predicted: list[float], title: str) -> bytes:
    fig, ax = figure()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.plot(predicted, observed, marker="o", label="model")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed share of positives")
    ax.set_title(title)
    ax.legend(loc="upper left")
    return png_bytes(fig)


def confusion_png(matrix: list[list[int]], labels: list[Any], title: str) -> bytes:
    fig, ax = figure()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), [str(label) for label in labels])
    ax.set_yticks(range(len(labels)), [str(label) for label in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    top = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            colour = "white" if count > top / 2 else "black"
            ax.text(j, i, str(count), ha="center", va="center", color=colour)
    ax.set_title(title)
    return png_bytes(fig)


def residuals_png(predicted: list[float], residuals: list[float], title: str) -> bytes:
    fig, ax = figure()
    ax.axhline(0.0, linestyle="--", color="grey")
    ax.scatter(predicted, residuals, s=10, alpha=0.6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual − predicted")
    ax.set_title(title)
    return png_bytes(fig)


def import_shap() -> Any:
    # importing shap 0.51 calls a matplotlib function that matplotlib 3.11 marks as
    # pending deprecation; the warning is shap's business, not the user's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap
    return shap


def shap_bar_png(columns: list[str], mean_abs: np.ndarray, order: np.ndarray, units: str) -> bytes:
    shown = order[:20][::-1]
    fig, ax = figure(6.0, max(2.5, 0.35 * len(shown) + 1.2))
    ax.barh([columns[i] for i in shown], mean_abs[shown], color="#1f77b4")
    ax.set_xlabel(f"mean |SHAP value| ({units})")
    ax.set_title("Input importance (SHAP)")
    return png_bytes(fig)


def shap_beeswarm_png(
    values: np.ndarray, x: pd.DataFrame, columns: list[str], units: str, seed: int
) -> bytes:
    shap = import_shap()

    data = np.column_stack(
        [
            pd.to_numeric(x[c], errors="coerce").to_numpy(dtype=np.float64)
            if pd.api.types.is_numeric_dtype(x[c].dtype)
            else np.full(len(x), np.nan)  # categories are drawn grey
            for c in columns
        ]
    )
    explanation = shap.Explanation(values=values, data=data, feature_names=columns)
    fig, ax = figure(6.5, max(2.5, 0.4 * min(len(columns), 20) + 1.5))
    # shap jitters the dots with NumPy's global generator: seed it for a reproducible plot
    # and put the caller's state back afterwards
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            # an all-grey (categorical) row warns; so does shap's use of matplotlib's API
            for category in (RuntimeWarning, DeprecationWarning, PendingDeprecationWarning):
                warnings.simplefilter("ignore", category)
            shap.plots.beeswarm(explanation, ax=ax, show=False, plot_size=None, max_display=20)
    finally:
        np.random.set_state(state)
    ax.set_xlabel(f"SHAP value ({units})")
    return png_bytes(fig)
