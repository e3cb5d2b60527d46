"""A monitor run's plots: per input its drift effect against its threshold, and the window's
time series (estimated and realised accuracy, mean top score). PNG, deterministic bytes."""

from __future__ import annotations

from typing import Any

__all__ = ["run_plots"]


def run_plots(judgement: Any, name: str) -> dict[str, bytes]:
    """``{label: PNG bytes}`` for what the judgement holds."""
    plots: dict[str, bytes] = {}
    drift = judgement.metrics.get("input_drift")
    if drift and drift.get("columns"):
        plots["drift.png"] = _drift_png(drift, name)
    series = judgement.metrics.get("series")
    if series and series.get("end"):
        plots["series.png"] = _series_png(series, name)
    return plots


def _drift_png(drift: dict[str, Any], name: str) -> bytes:
    from steward.checks._plots import figure, png_bytes

    columns = [c for c in drift["columns"] if c.get("status") == "ok"]
    columns.sort(key=lambda c: c.get("effect_size") or 0.0)
    fig, ax = figure(6.0, max(2.5, 0.25 * len(columns) + 1.0))
    names = [c["name"] for c in columns]
    effects = [c.get("effect_size") or 0.0 for c in columns]
    colours = ["#c0392b" if c.get("drifted") else "#7f8c8d" for c in columns]
    ax.barh(names, effects, color=colours)
    settings = drift.get("settings", {})
    for kind, key in (("numeric", "numeric_threshold"), ("categorical", "categorical_threshold")):
        if key in settings and any(c.get("kind") == kind for c in columns):
            ax.axvline(settings[key], linestyle="--", color="grey", linewidth=0.8)
    ax.set_xlabel("effect size (normalised Wasserstein / Jensen–Shannon); red: drifted")
    ax.set_title(f"{name}: input drift")
    return png_bytes(fig)


def _series_png(series: dict[str, Any], name: str) -> bytes:
    from steward.checks._plots import figure, png_bytes

    fig, ax = figure(6.0, 3.5)
    x = list(range(1, len(series["end"]) + 1))
    for key, label in (
        ("estimated", "estimated accuracy (before labels)"),
        ("realised", "realised accuracy (labels)"),
        ("score", "mean top score"),
    ):
        values = series.get(key) or []
        points = [(i, v) for i, v in zip(x, values, strict=False) if v is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.set_xlabel("window chunk (oldest first)")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{name}: over the window")
    ax.legend(loc="lower left", fontsize=8)
    return png_bytes(fig)
