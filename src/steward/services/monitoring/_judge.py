"""What one monitor run finds: the window against the version's reference and approved
evidence, section by section, and which of the monitor's alert rules fire.

Pure computation over the decoded window (``_window.py``), the stored reference
(``_reference.py``) and the approved numbers; the service records the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steward.domain import Finding, Severity

__all__ = ["Fired", "Judgement", "judge"]

SERIES_CHUNKS = 10


@dataclass(frozen=True)
class Fired:
    """An alert rule that fired, with the sentence that says why."""

    rule: Any  # AlertRule
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Judgement:
    status: str  # ok | not_enough_data
    metrics: dict[str, Any]
    fired: tuple[Fired, ...]
    reason: str | None = None

    def findings(self) -> tuple[Finding, ...]:
        found = [
            Finding(
                code=f"alert.{f.rule.name}",
                severity=Severity.parse(f.rule.severity),
                message=f.message,
                data={"rule": f.rule.name, "when": f.rule.when, **f.data},
            )
            for f in self.fired
        ]
        if self.status == "not_enough_data":
            found.append(
                Finding(
                    code="not_enough_data",
                    severity=Severity.LOW,
                    message=self.reason or "not enough data",
                )
            )
        return tuple(found)


def judge(
    spec: Any,
    reference: Any,
    window: Any,
    *,
    task: str,
    approved: dict[str, float],
    approved_fairness: dict[str, float],
) -> Judgement:
    """Every section the monitor asks for, and its fired rules. A window with fewer rows
    than ``spec.drift.min_rows`` is ``not_enough_data``: nothing is judged, nothing fires."""
    need = spec.drift.min_rows
    if window.rows < need:
        reason = (
            f"not enough data: the window holds {window.rows} prediction(s) of the served "
            f"version, fewer than the {need} a judgement needs"
        )
        return Judgement("not_enough_data", {"rows": window.rows}, (), reason)
    metrics: dict[str, Any] = {"rows": window.rows}
    conditions: dict[str, tuple[bool, str, dict[str, Any]]] = {}
    _drift(spec, reference, window, metrics, conditions)
    classes = list(reference.classes)
    if task != "regression" and window.scores is not None and classes:
        if spec.performance is not None:
            _performance(spec, window, classes, approved, metrics, conditions)
        if spec.estimation is not None and reference.calibration is not None:
            _estimation(spec, reference, window, metrics, conditions)
        metrics["series"] = _series(reference, window, classes)
    if spec.fairness is not None:
        _fairness(spec, window, classes, approved_fairness, metrics, conditions)
    fired = []
    for rule in spec.alerts:
        hit, message, data = conditions.get(rule.when, (False, "", {}))
        if rule.when == "input_drift" and hit and rule.min_share is not None:
            share = metrics["input_drift"].get("drifted_share") or 0.0
            hit = share >= rule.min_share
            message = f"{message} (share {share:.2f}, rule at {rule.min_share:.2f})"
        if hit:
            fired.append(Fired(rule, message, data))
    return Judgement("ok", metrics, tuple(fired))


def _drift(
    spec: Any,
    reference: Any,
    window: Any,
    metrics: dict[str, Any],
    conditions: dict[str, tuple[bool, str, dict[str, Any]]],
) -> None:
    from steward.drift import detect, reconstruction_drift

    settings = {
        "alpha": spec.drift.alpha,
        "correction": spec.drift.correction,
        "numeric_threshold": spec.drift.numeric_threshold,
        "categorical_threshold": spec.drift.categorical_threshold,
        "min_rows": spec.drift.min_rows,
    }
    if reference.inputs is not None:
        report = detect(reference.inputs, window.inputs, method=spec.drift.method, **settings)
        metrics["input_drift"] = report.to_dict()
        drifted = list(report.drifted)
        conditions["input_drift"] = (
            bool(drifted),
            f"{len(drifted)} of {report.tested} inputs drifted: {', '.join(drifted[:8])}",
            {"drifted": drifted},
        )
    outputs = detect(reference.outputs, window.outputs(), **settings)
    metrics["prediction_drift"] = outputs.to_dict()
    moved = list(outputs.drifted)
    conditions["prediction_drift"] = (
        bool(moved),
        f"the predictions drifted ({', '.join(moved)})",
        {"drifted": moved},
    )
    if reference.multivariate is not None:
        multi = reconstruction_drift(
            reference.multivariate, window.inputs, min_rows=spec.drift.min_rows
        )
        metrics["multivariate_drift"] = multi.to_dict()
        conditions["multivariate_drift"] = (
            multi.drifted,
            f"the inputs' joint distribution moved: {multi.reason or 'PCA reconstruction error'}",
            {"error": multi.error},
        )


def _labelled(window: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    mask = window.labelled
    return window.labels[mask], window.scores[mask]


def _performance(
    spec: Any,
    window: Any,
    classes: list[str],
    approved: dict[str, float],
    metrics: dict[str, Any],
    conditions: dict[str, tuple[bool, str, dict[str, Any]]],
) -> None:
    from steward.drift import realised

    labels, scores = _labelled(window)
    known = np.asarray([label in set(classes) for label in labels.tolist()], dtype=bool)
    result = realised(
        labels[known],
        scores[known],
        classes,
        metrics=spec.performance.metrics,
        n_boot=spec.performance.bootstrap,
        seed=0,
        min_rows=spec.performance.min_labels,
    )
    found = result.to_dict()
    found["unknown_labels"] = int((~known).sum())
    found["approved"] = {m: approved.get(m) for m in spec.performance.metrics}
    metrics["performance"] = found
    if result.status != "ok":
        return
    dropped = []
    for metric in result.metrics:
        was = approved.get(metric.name)
        if was is None or metric.upper is None:
            continue
        if metric.upper < was - spec.performance.max_drop:
            dropped.append(
                f"{metric.name} {metric.value:.3f} [{metric.lower:.3f}, {metric.upper:.3f}] "
                f"vs approved {was:.3f}"
            )
    conditions["performance"] = (
        bool(dropped),
        f"realised performance fell more than {spec.performance.max_drop} below the approved "
        f"evidence: {'; '.join(dropped)}",
        {},
    )


def _estimation(
    spec: Any,
    reference: Any,
    window: Any,
    metrics: dict[str, Any],
    conditions: dict[str, tuple[bool, str, dict[str, Any]]],
) -> None:
    from steward.drift import estimate

    result = estimate(reference.calibration, window.scores, metrics=tuple(spec.estimation.metrics))
    found = result.to_dict()
    metrics["estimated_performance"] = found
    alerts = [m for m in found.get("metrics", []) if m.get("alert")]
    conditions["estimated_performance"] = (
        bool(alerts),
        "estimated performance (before labels) left its reference band: "
        + "; ".join(
            f"{m['name']} {m['value']:.3f} (thresholds {m['lower_threshold']:.3f}–"
            f"{m['upper_threshold']:.3f})"
            for m in alerts
        ),
        {},
    )


def _fairness(
    spec: Any,
    window: Any,
    classes: list[str],
    approved: dict[str, float],
    metrics: dict[str, Any],
    conditions: dict[str, tuple[bool, str, dict[str, Any]]],
) -> None:
    from steward.drift import compare_fairness, group_rates

    positive = classes[1] if len(classes) == 2 else (classes[-1] if classes else "1")
    found: dict[str, Any] = {}
    failing = []
    mask = window.labelled
    labels = window.labels if mask.all() and mask.size else None
    for attribute in spec.fairness.attributes:
        groups = window.context.get(attribute)
        if groups is None or all(g is None for g in groups.tolist()):
            found[attribute] = {
                "status": "not_enough_data",
                "reason": f"no request carried the context attribute {attribute!r}",
            }
            continue
        rates = group_rates(
            window.prediction,
            groups,
            positive=positive,
            labels=labels,
            min_rows=spec.fairness.min_rows,
        )
        was = approved.get(attribute)
        verdict = compare_fairness(
            rates,
            was if was is not None else 1.0,
            min_ratio=spec.fairness.min_ratio,
            tolerance=spec.fairness.tolerance if was is not None else 1.0,
        )
        found[attribute] = {
            **rates.to_dict(),
            "approved_ratio": was,
            "verdict": verdict.to_dict(),
        }
        if verdict.alert:
            failing.append(f"{attribute}: {verdict.reason}")
    metrics["fairness"] = found
    conditions["fairness"] = (bool(failing), "; ".join(failing), {})


def _series(reference: Any, window: Any, classes: list[str]) -> dict[str, Any]:
    """Per consecutive chunk of the window: its end, the mean top score, the estimated
    accuracy (before labels) and the realised one (where labels came)."""
    from steward.drift import estimate

    chunks = np.array_split(np.arange(window.rows), min(SERIES_CHUNKS, window.rows))
    series: dict[str, list[Any]] = {"end": [], "score": [], "estimated": [], "realised": []}
    for rows in chunks:
        if not len(rows):
            continue
        scores = window.scores[rows]
        series["end"].append(str(window.times[rows[-1]]))
        series["score"].append(float(scores.max(axis=1).mean()))
        estimated = None
        if reference.calibration is not None:
            result = estimate(reference.calibration, scores, metrics=("accuracy",)).to_dict()
            for metric in result.get("metrics", []):
                estimated = metric.get("value")
        series["estimated"].append(estimated)
        labels = window.labels[rows]
        mask = window.labelled[rows]
        realised = None
        if mask.sum() >= 10:
            index = {c: i for i, c in enumerate(classes)}
            truth = [index.get(v, -1) for v in labels[mask].tolist()]
            realised = float(np.mean(np.asarray(truth) == scores[mask].argmax(axis=1)))
        series["realised"].append(realised)
    return series
