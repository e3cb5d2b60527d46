"""Rendering plots for evidence: matplotlib without a display, PNG bytes with no timestamp or
version in their metadata (the same figure gives the same bytes, hence the same key)."""

from __future__ import annotations

import io
from typing import Any

__all__ = ["calibration_png", "confusion_png", "figure", "png_bytes", "residuals_png"]


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
