"""Fitting on a split: the frames of each part, one tuning trial's fit, the final model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from steward.domain import MissingPolicy
from steward.ml._metrics import classification_metrics, model_score, regression_metrics
from steward.ml._templates import Template, fit_staged

__all__ = ["SplitFrames", "final_model", "trial_fitter"]


@dataclass(slots=True)
class SplitFrames:
    """``(X, y, A)`` of each part of a split, and what the pipeline is built from."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    missing: MissingPolicy
    parts: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict)
    regression: bool = False


def trial_fitter(
    template: Template, data: SplitFrames, seed: int
) -> tuple[Callable[[dict[str, Any], Callable[[int, float], None]], float], dict[str, Any]]:
    """``(fit, kept)``: ``fit(params, report)`` fits one trial on the training rows, calling
    ``report(stage, validation score)`` after each stage; ``kept`` holds the best complete
    trial's ``score``, ``params`` and fitted ``pipeline`` so far."""
    x_train, y_train, _ = data.parts["train"]
    x_val, y_val, _ = data.parts["validation"]
    classes = [] if data.regression else sorted(set(y_train.tolist()))
    kept: dict[str, Any] = {}

    def fit(params: dict[str, Any], report: Callable[[int, float], None]) -> float:
        pipeline = template.build(
            data.numeric, data.categorical, params, seed, data.missing, data.regression
        )
        scores: list[float] = []

        def after_stage(step: int) -> None:
            score = model_score(pipeline, x_val, y_val, classes)
            scores.append(score)
            report(step, score)

        fit_staged(template, pipeline, x_train, y_train, after_stage)
        if scores[-1] > kept.get("score", float("-inf")):  # every stage done: complete
            kept.update(score=scores[-1], params=dict(params), pipeline=pipeline)
        return scores[-1]

    return fit, kept


def final_model(
    template: Template,
    params: dict[str, Any],
    seed: int,
    data: SplitFrames,
    classes: list[Any],
    fitted: Any = None,
) -> tuple[bytes, dict[str, dict[str, float]]]:
    """The model file and its validation and test metrics.

    Fits on the training rows (or takes the best trial's ``fitted`` pipeline: the same fit),
    saves it (skops, or the booster's native format), and scores the *reloaded* model, so
    the recorded metrics are exactly what ``load_model`` on ``load_split`` reproduces.
    """
    from threadpoolctl import threadpool_limits

    from steward.ml._boosters import dump_native, load_native
    from steward.ml._persist import dump_skops, load_skops

    pipeline = fitted
    if pipeline is None:
        x_train, y_train, _ = data.parts["train"]
        pipeline = template.build(
            data.numeric, data.categorical, params, seed, data.missing, data.regression
        )
        with threadpool_limits(limits=1):  # as in the trials, so the refit is the same fit
            fit_staged(template, pipeline, x_train, y_train)
    if template.library:
        model_bytes = dump_native(pipeline)
        model = load_native(model_bytes)
    else:
        model_bytes = dump_skops(pipeline)
        model = load_skops(model_bytes)
    metrics = {}
    for part in ("validation", "test"):
        x, y, _ = data.parts[part]
        if data.regression:
            metrics[part] = regression_metrics(y, model.predict(x))
        else:
            metrics[part] = classification_metrics(
                y, model.predict(x), model.predict_proba(x), classes
            )
    return model_bytes, metrics
